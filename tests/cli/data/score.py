"""A tiny azmlinfsrv entry script for the ``secretinj run`` end-to-end test.

``init()`` resolves the environment as a real score would (under ``secretinj run`` every
variable is already a value: nothing to fetch); ``run()`` says which variables are set and
their lengths, never a value. With ``SCORE_MARKER_DIR`` set, each worker's ``init()`` leaves
a marker file named after its pid (holding the report's counts) so the test knows when every
worker is up.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import secretinj_runtime as sir

NAMES = ("AOAI_API_KEY", "AOAI_API_VERSION", "AOAI_ENDPOINT", "OPENAI_API_KEY", "DB_PASSWORD")
_STATE: dict[str, Any] = {}


def init() -> None:
    report = sir.resolve_environment(NAMES)
    _STATE["counts"] = report.counts()
    marker_dir = os.environ.get("SCORE_MARKER_DIR")
    if marker_dir:
        Path(marker_dir, f"init-{os.getpid()}").write_text(json.dumps(report.counts()))


def run(raw_data: str) -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "init_counts": _STATE.get("counts"),
        "lengths": {name: len(os.environ[name]) for name in NAMES if name in os.environ},
        "references_left": sorted(n for n, v in os.environ.items() if sir.is_reference(v)),
    }
