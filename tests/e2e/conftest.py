"""Fixtures for the end-to-end tests: the real mock and the real azmlinfsrv as processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from secretinj_runtime.testing import sample as procs

StartServer = Callable[..., procs.Process]


@pytest.fixture
def mock(tmp_path: Path) -> Iterator[procs.MockProcess]:
    """``secretinj-mock serve`` on a free port, with the built-in demo state."""
    with procs.start_mock(tmp_path) as server:
        yield server


@pytest.fixture
def start_server(tmp_path: Path, mock: procs.MockProcess) -> Iterator[StartServer]:
    """Start azmlinfsrv with the sample score, deployment.yml's references and the mock's env.

    ``start_server(extra_env={...}, worker_count=N, live=True)``; every server is stopped
    (whole process group) at the end of the test.
    """
    started: list[procs.Process] = []
    base = {**mock.environ(), **procs.deployment_variables()}

    def start(
        extra_env: dict[str, str] | None = None, *, worker_count: int = 1, live: bool = True
    ) -> procs.Process:
        server = procs.start_scorer(
            tmp_path,
            {**base, **(extra_env or {})},
            worker_count=worker_count,
            log_name=f"azmlinfsrv-{len(started)}.log",
        )
        started.append(server)
        if live:
            procs.wait_for_liveness(server, timeout_s=30)
        return server

    yield start
    for server in started:
        server.stop()
        assert server.finished(), f"azmlinfsrv (pid {server.pid}) outlived the test"
