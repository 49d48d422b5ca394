"""The sample this repository ships (``sample_score/``), run with the process machinery.

`ROOT` is the directory that holds the package: in a checkout, the repository, whose
``sample_score/`` has the scoring script, ``deployment.yml`` and ``endpoint.yml``. (An
installed package has no sample: the paths do not exist there.) ``make demo``, the project's
end-to-end tests, benchmarks and ``docker/smoke.py`` run the sample through this module: its
paths, its deployment variables, ``azmlinfsrv`` on its ``score.py``, and the process names of
`secretinj_runtime.testing` re-exported, so that one import serves them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from secretinj_runtime.testing import scoring
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
    console_script,
    free_port,
    wait_for_exit,
    wait_for_liveness,
    wait_for_log,
)
from secretinj_runtime.testing.scoring import ScoringServer, score

__all__ = [
    "DEPLOYMENT_YML",
    "ENDPOINT_YML",
    "ROOT",
    "SAMPLE_DIR",
    "SCORE_SCRIPT",
    "MockProcess",
    "Process",
    "ProcessError",
    "ScoringServer",
    "child_environ",
    "console_script",
    "deployment_variables",
    "free_port",
    "mock_environ",
    "parse_exports",
    "score",
    "start_mock",
    "start_scorer",
    "wait_for_exit",
    "wait_for_liveness",
    "wait_for_log",
]

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DIR = ROOT / "sample_score"
SCORE_SCRIPT = SAMPLE_DIR / "score.py"
DEPLOYMENT_YML = SAMPLE_DIR / "deployment.yml"
ENDPOINT_YML = SAMPLE_DIR / "endpoint.yml"


def deployment_variables(path: str | os.PathLike[str] = DEPLOYMENT_YML) -> dict[str, str]:
    """Return the ``environment_variables`` of the sample's ``deployment.yml`` (or ``path``)."""
    return scoring.deployment_variables(path)


def start_scorer(
    workdir: Path,
    env: Mapping[str, str],
    *,
    argv: Sequence[str] | None = None,
    port: int | None = None,
    worker_count: int = 1,
    log_name: str = "azmlinfsrv.log",
) -> ScoringServer:
    """Start ``azmlinfsrv`` on the sample's ``score.py`` (see `start_scoring_server`).

    ``env`` comes on top of a clean environment. The caller waits for liveness.
    """
    return scoring.start_scoring_server(
        workdir,
        SCORE_SCRIPT,
        env,
        argv=argv,
        port=port,
        worker_count=worker_count,
        log_name=log_name,
    )
