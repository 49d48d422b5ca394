"""azmlinfsrv with WORKER_PRELOAD=true: init() once in the master, forked workers.

One ListSecrets per connection for the whole server, correct answers from every worker, and
after a rotation every worker recovers with the new key over its own connection.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from secretinj_runtime.testing import sample as procs
from tests.expected import ALL_FETCHED

from .conftest import StartServer

pytestmark = pytest.mark.e2e

WORKERS = 3
REBUILT = r"\[(\d+)\] score - AOAI_API_KEY has a new value; rebuilding"


def score_many(url: str, count: int) -> list[tuple[int, object]]:
    with ThreadPoolExecutor(max_workers=2 * WORKERS) as pool:
        return list(pool.map(lambda i: procs.score(url, {"text": f"request {i}"}), range(count)))


def test_preload_pays_one_fetch_per_replica_and_every_worker_recovers(
    start_server: StartServer, mock: procs.MockProcess
) -> None:
    server = start_server({"WORKER_PRELOAD": "true"}, worker_count=WORKERS)
    procs.wait_for_log(server, r"Booting worker with pid: \d+", count=WORKERS)
    answers = score_many(server.url, 8 * WORKERS)
    assert [status for status, _ in answers] == [200] * len(answers)
    assert all(body["secrets"] == ALL_FETCHED for _, body in answers)  # type: ignore[index]
    log = server.log()
    assert len(re.findall(r"score - secret resolution: 6 variables", log)) == 1, log
    assert mock.count("listsecrets", "aoai-conn") == 1
    assert mock.count("listsecrets", "multi-conn") == 1
    assert mock.count("keyvault") == 1

    mock.control("POST", "/connections/aoai-conn/rotate", {"credential": "key"})
    deadline = time.monotonic() + 60
    recovered: set[str] = set()
    while len(recovered) < WORKERS and time.monotonic() < deadline:
        answers = score_many(server.url, 4 * WORKERS)
        assert [status for status, _ in answers] == [200] * len(answers), answers
        recovered = set(re.findall(REBUILT, server.log()))
    assert len(recovered) == WORKERS, server.log_tail(60)
    fetches = [e for e in mock.request_log("listsecrets") if e["name"] == "aoai-conn"]
    assert len(fetches) == 1 + WORKERS, "one fetch per worker"
    clients = [e["client"] for e in fetches]
    assert len(set(clients)) == len(clients), f"each process its own connection: {clients}"
