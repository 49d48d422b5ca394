"""The pytest plugin: ``azure_mock`` and ``scoring_server``, for a test of your own score.py.

Registered through the ``pytest11`` entry point (``secretinj_runtime``), so installing
``secretinj-runtime[mock,server]`` beside pytest makes the fixtures available in every test
(``-p no:secretinj_runtime`` turns it off). Loading it imports only pytest: a missing
``[mock]`` extra or ``azmlinfsrv`` is reported by the fixture that needs it, naming what to
install, and never breaks a test that does not use them.

- ``azure_mock``: the mock of the Azure services (managed identity, ARM ListSecrets, Key
  Vault, a model API) on a free loopback port in a thread, with the demo state
  (`secretinj_runtime.mock.testing.MockServer`).
- ``scoring_server_env``: the variables every scoring server gets below its own: the mock's,
  and an identity authority host that can never reach the instance metadata service.
  Override it in a ``conftest.py`` to point the servers at another mock.
- ``scoring_server``: a `ScoringServers`; ``scoring_server(score_py, {"NAME": "value"})``
  starts the real ``azmlinfsrv`` on ``score_py`` with ``scoring_server_env`` plus those
  variables, waits until it answers and returns a `ScoringServer` (``.url``,
  ``.score(body)``, ``.log()``). Every server's process group is stopped after the test;
  when the test fails, each server's log tail is added to the report (unless the error is
  the server's own, which ends with it already).

See docs/testing.md.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from secretinj_runtime.mock.testing import MockServer
    from secretinj_runtime.testing.scoring import ScoringServers

#: Where azure-identity would look for a pod identity: a closed loopback port, so that a
#: server whose identity variables are removed fails fast instead of probing the network.
NO_METADATA_HOST = {"AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:9"}
LOG_LINES = 40
_SERVERS = pytest.StashKey["ScoringServers"]()


@pytest.fixture
def azure_mock() -> Iterator[MockServer]:
    """Run a fresh mock with the demo state for one test (needs the ``[mock]`` extra)."""
    try:
        from secretinj_runtime.mock.testing import run_mock
    except ImportError as ex:
        pytest.fail(f"azure_mock: {ex}", pytrace=False)
    with run_mock() as server:
        yield server


@pytest.fixture
def scoring_server_env(azure_mock: MockServer) -> dict[str, str]:
    """Return the variables below each scoring server's own: the ``azure_mock``'s environment."""
    return {**NO_METADATA_HOST, **azure_mock.env}


@pytest.fixture
def scoring_server(
    scoring_server_env: dict[str, str], tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[ScoringServers]:
    """Start ``azmlinfsrv`` on a scoring script: ``scoring_server(path, env)``; stopped after."""
    from secretinj_runtime.testing.scoring import ScoringServers

    with ScoringServers(tmp_path, scoring_server_env) as servers:
        request.node.stash[_SERVERS] = servers
        yield servers


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    """Add each scoring server's log tail to the report of a failed test (unless shown)."""
    outcome: Any = yield
    report: pytest.TestReport = outcome.get_result()
    servers = item.stash.get(_SERVERS, None)
    if servers is None or not report.failed or call.when != "call":
        return
    for server in servers.started:
        last = server.log_tail(1).strip()
        if last and last in report.longreprtext:
            continue  # the error is the server's own and already ends with its log
        title = f"azmlinfsrv log {server.log_path.name} (last {LOG_LINES} lines)"
        report.sections.append((title, server.log_tail(LOG_LINES)))
