"""``secretinj run -- azmlinfsrv``: one resolution for every gunicorn worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from secretinj_runtime.mock.testing import MockServer
from tests.cli.clihelp import DATA, ROOT, SECRETINJ_SCRIPT, assert_no_secret, base_env, free_port
from tests.cli.test_run import EXPECTED_LENGTHS

WORKERS = 2
NAMES = ("AOAI_API_KEY", "AOAI_API_VERSION", "AOAI_ENDPOINT", "OPENAI_API_KEY", "DB_PASSWORD")


def _get(url: str, timeout: float = 2.0) -> int:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback
        return int(resp.status)


def _score(url: str) -> dict[str, Any]:
    req = urllib.request.Request(  # noqa: S310 - loopback
        url, data=b"{}", headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
        body: dict[str, Any] = json.loads(resp.read())
        return body


def _wait(what: str, ready: Any, proc: subprocess.Popen[bytes], log: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited ({proc.returncode}) before {what}:\n{log.read_text()}")
        try:
            if ready():
                return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}:\n{log.read_text()}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    for sig, wait_s in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.mark.e2e
def test_run_azmlinfsrv_resolves_once_for_all_workers(
    azure_mock: MockServer, tmp_path: Path
) -> None:
    port = free_port()
    markers = tmp_path / "markers"
    markers.mkdir()
    log = tmp_path / "server.log"
    # HOME: recent gunicorn puts a control socket under ~/.gunicorn; keep it in tmp_path.
    env = base_env({**azure_mock.env, "SCORE_MARKER_DIR": str(markers), "HOME": str(tmp_path)})
    command = [
        str(SECRETINJ_SCRIPT),
        "run",
        "--deployment",
        str(DATA / "deployment_mock.yml"),
        "--",
        "azmlinfsrv",
        "--entry_script",
        "tests/cli/data/score.py",
        "--port",
        str(port),
        "--worker_count",
        str(WORKERS),
    ]
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 30
        _wait("GET / liveness", lambda: _get(f"{base}/") == 200, proc, log, deadline)
        _wait(
            f"{WORKERS} workers to run init()",
            lambda: len(list(markers.iterdir())) == WORKERS,
            proc,
            log,
            deadline,
        )
        answers = [_score(f"{base}/score") for _ in range(2)]
    finally:
        _stop(proc)

    expected = {**EXPECTED_LENGTHS, "AOAI_ENDPOINT": len(azure_mock.url) + len("/openai")}
    for answer in answers:
        assert answer["lengths"] == expected
        assert answer["references_left"] == []
        assert answer["init_counts"] == {"PRESENT": len(NAMES)}  # nothing left to fetch
    for marker in markers.iterdir():
        assert json.loads(marker.read_text()) == {"PRESENT": len(NAMES)}
    # One ListSecrets per connection and one Key Vault GET, not one per worker.
    assert azure_mock.count("listsecrets", "aoai-conn") == 1
    assert azure_mock.count("listsecrets", "multi-conn") == 1
    assert azure_mock.count("listsecrets") == 2
    assert azure_mock.count("keyvault") == 1
    output = log.read_text()
    assert "secretinj: 5 variables: 5 RESOLVED" in output
    assert_no_secret(azure_mock, output)
