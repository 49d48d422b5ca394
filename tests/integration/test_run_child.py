"""A process started by `secretinj run` masks and reports what run resolved for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEY = "resolved-by-run-0123456789"

CHILD = """
import json, logging, os
import secretinj_runtime as sir
logging.basicConfig(level=logging.INFO, format="%(message)s %(api_key)s")
key = os.environ["AOAI_API_KEY"]
logging.getLogger("score").info("key %s", key, extra={"api_key": key})
report = sir.resolve_environment()
print(json.dumps({n: [s.status.value, s.source] for n, s in report.variables.items()}))
"""


def run_child(extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECRETINJ_", "AOAI_"))}
    env.update(extra)
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-c", CHILD],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_values_run_resolved_are_masked_from_import_on_and_reported() -> None:
    done = run_child(
        {"AOAI_API_KEY": KEY, "OTHER": "x", "SECRETINJ_RESOLVED": "AOAI_API_KEY,MISSING_ONE"}
    )
    assert done.returncode == 0, done.stderr
    assert KEY not in done.stderr
    assert KEY not in done.stdout
    assert "key *** ***" in done.stderr
    report = json.loads(done.stdout)
    assert report["AOAI_API_KEY"] == ["PRESENT", "run"]
    assert "MISSING_ONE" not in report, "a name that is not set is not scanned"
    assert "OTHER" not in report


def test_without_run_nothing_is_masked_at_import() -> None:
    done = run_child({"AOAI_API_KEY": KEY})
    assert done.returncode == 0, done.stderr
    assert f"key {KEY}" in done.stderr, "a literal nobody resolved is not known as a secret"
