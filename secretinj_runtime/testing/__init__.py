"""Test a scoring script locally: the mock, ``azmlinfsrv`` on a ``score.py``, a pytest plugin.

With ``pip install 'secretinj-runtime[mock,server]'`` and pytest, the plugin
(`secretinj_runtime.testing.plugin`, registered through the ``pytest11`` entry point) gives
every test the ``azure_mock`` and ``scoring_server`` fixtures (docs/testing.md)::

    def test_score(azure_mock, scoring_server):
        key = "${{azureml://connections/aoai-conn/credentials/key}}"
        server = scoring_server("score.py", {"AOAI_API_KEY": key})
        assert server.score({"text": "hi"})[0] == 200

Without pytest, the same machinery: `start_mock` runs ``secretinj-mock serve`` as a child
process, `start_scoring_server` (or `ScoringServers`) runs ``azmlinfsrv`` on a script; each
process lives in its own process group, which ``stop()`` ends as a whole. Importing this
package imports nothing heavy: each name loads its module when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from secretinj_runtime.testing.mockprocess import (
        MockProcess,
        mock_environ,
        parse_exports,
        start_mock,
    )
    from secretinj_runtime.testing.processes import (
        Process,
        ProcessError,
        child_environ,
        free_port,
        wait_for_exit,
        wait_for_liveness,
        wait_for_log,
    )
    from secretinj_runtime.testing.scoring import (
        ScoringServer,
        ScoringServers,
        deployment_variables,
        score,
        start_scoring_server,
    )

_LAZY = {
    "MockProcess": "mockprocess",
    "mock_environ": "mockprocess",
    "parse_exports": "mockprocess",
    "start_mock": "mockprocess",
    "Process": "processes",
    "ProcessError": "processes",
    "child_environ": "processes",
    "free_port": "processes",
    "wait_for_exit": "processes",
    "wait_for_liveness": "processes",
    "wait_for_log": "processes",
    "ScoringServer": "scoring",
    "ScoringServers": "scoring",
    "deployment_variables": "scoring",
    "score": "scoring",
    "start_scoring_server": "scoring",
}

__all__ = [
    "MockProcess",
    "Process",
    "ProcessError",
    "ScoringServer",
    "ScoringServers",
    "child_environ",
    "deployment_variables",
    "free_port",
    "mock_environ",
    "parse_exports",
    "score",
    "start_mock",
    "start_scoring_server",
    "wait_for_exit",
    "wait_for_liveness",
    "wait_for_log",
]


def __getattr__(name: str) -> Any:
    """Import the public names lazily: loading the pytest plugin stays cheap."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
