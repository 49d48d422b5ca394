"""After a fork (gunicorn with preload), every child has its own connections and flights.

The scenarios run in a separate process (`tests.integration.forkscenario`): the test process
never forks. The mock runs as a process too, so that the parent's pooled keep-alive socket
is a real one that the children would share.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from secretinj_runtime.testing import sample as procs

CONNECTIONS = ("zzz", "aaa", "bbb", "ccc", "ddd", "eee")


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[procs.MockProcess]:
    with procs.start_mock(tmp_path_factory.mktemp("fork")) as server:
        for name in CONNECTIONS:
            server.control(
                "PUT",
                f"/connections/{name}",
                {
                    "authType": "ApiKey",
                    "category": "ApiKey",
                    "target": "https://example.com",
                    "credentials": {"key": key_of(name)},
                },
            )
        yield server


def key_of(name: str) -> str:
    return f"key-of-{name}-0123456789"


def scenario(mock: procs.MockProcess, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    env = procs.child_environ(
        {**mock.environ(), "AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:9"}
    )
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.forkscenario", name, json.dumps(spec)],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_children_fetching_at_once_each_get_their_own_value(mock: procs.MockProcess) -> None:
    mock.control("PUT", "/latency", {"kind": "listsecrets", "latency_s": 0.2})
    try:
        for _round in range(2):
            result = scenario(mock, "crosswire", {"expected": {n: key_of(n) for n in CONNECTIONS}})
            children = result["children"]
            assert len(children) == len(CONNECTIONS) - 1
            for child in children:
                assert child.get("own") is True, f"a child got another's secret: {child}"
    finally:
        mock.control("PUT", "/latency", {"kind": "listsecrets", "latency_s": 0})


def test_a_fork_during_a_fetch_does_not_hang_the_child(mock: procs.MockProcess) -> None:
    mock.control("PUT", "/latency", {"kind": "listsecrets", "latency_s": 1.5})
    try:
        spec = {"name": "aaa", "value": key_of("aaa"), "timeout_s": 20}
        (child,) = scenario(mock, "inflight", spec)["children"]
    finally:
        mock.control("PUT", "/latency", {"kind": "listsecrets", "latency_s": 0})
    assert child.get("own") is True, child
    assert child["seconds"] < 10, "the child fetched for itself, it did not wait forever"


def test_the_background_refresh_runs_in_the_child(mock: procs.MockProcess) -> None:
    spec = {
        "name": "bbb",
        "interval_s": 0.2,
        "mock_url": mock.url,
        "new_value": "rotated-bbb-key-9876",
        "wait_s": 15,
    }
    (child,) = scenario(mock, "refresher", spec)["children"]
    assert child == {"refresher": True, "rotated": True, "correct": True}
