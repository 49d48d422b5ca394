"""Fixtures for the end-to-end tests: the real mock and the real azmlinfsrv as processes.

The servers come from the plugin's ``scoring_server`` fixture, as in a user's test; the mock
is ``secretinj-mock serve`` in its own process (``scoring_server_env`` is overridden to point
at it) rather than the plugin's in-process one, so that the servers' load never shares the
test's interpreter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from secretinj_runtime.testing import MockProcess, ScoringServer, ScoringServers, sample

StartServer = Callable[..., ScoringServer]


@pytest.fixture
def mock(tmp_path: Path) -> Iterator[MockProcess]:
    """``secretinj-mock serve`` on a free port, with the built-in demo state."""
    with sample.start_mock(tmp_path) as server:
        yield server


@pytest.fixture
def scoring_server_env(mock: MockProcess) -> dict[str, str]:
    """The subprocess mock's environment and deployment.yml's references, for every server."""
    return {**mock.environ(), **sample.deployment_variables()}


@pytest.fixture
def start_server(scoring_server: ScoringServers) -> StartServer:
    """Start azmlinfsrv with the sample score: ``start_server(extra_env, worker_count=N, live=)``.

    Every server is stopped (whole process group) after the test, by ``scoring_server``.
    """

    def start(
        extra_env: dict[str, str] | None = None, *, worker_count: int = 1, live: bool = True
    ) -> ScoringServer:
        return scoring_server(
            sample.SCORE_SCRIPT, extra_env, worker_count=worker_count, wait=live, timeout_s=30
        )

    return start
