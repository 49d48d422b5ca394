"""Each benchmark, tiny (``--smoke``), into a temp dir: records well formed, numbers finite.

Targets are not asserted: the CI machine is shared and noisy. ``bench/results/`` is never
written.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import run as bench_run
from bench.harness import Record, write_records

ROOT = Path(__file__).resolve().parents[2]
NAMES = ("fast_path", "fallback", "stampede", "scoring", "workers", "masking")
FIELDS = ("benchmark", "metric", "value", "unit", "baseline", "ratio", "target", "met")

pytestmark = pytest.mark.e2e  # starts the mock and azmlinfsrv as subprocesses


def _snapshot(directory: Path) -> dict[str, float]:
    if not directory.exists():
        return {}
    return {str(p): p.stat().st_mtime for p in directory.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """Run every benchmark once, small, into a temp dir."""
    out = tmp_path_factory.mktemp("bench-smoke")
    before = _snapshot(bench_run.DEFAULT_OUT), _snapshot(bench_run.DEFAULT_README)
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert (_snapshot(bench_run.DEFAULT_OUT), _snapshot(bench_run.DEFAULT_README)) == before
    records = json.loads((out / "latest.json").read_text())
    assert isinstance(records, list)
    return out, records


def test_every_record_has_the_fields(smoke: tuple[Path, list[dict[str, Any]]]) -> None:
    _, records = smoke
    assert records
    for rec in records:
        assert tuple(rec) == FIELDS
        assert rec["benchmark"] in NAMES
        assert isinstance(rec["metric"], str)
        assert rec["metric"]
        assert isinstance(rec["unit"], str)
        assert rec["unit"]
        assert rec["met"] in (True, False, None)
        assert rec["target"] is None or isinstance(rec["target"], str)
        assert rec["baseline"] is None or isinstance(rec["baseline"], int | float | str)
        if rec["target"] is not None:
            assert isinstance(rec["met"], bool), rec


@pytest.mark.parametrize("name", NAMES)
def test_benchmark_produced_finite_numbers(
    smoke: tuple[Path, list[dict[str, Any]]], name: str
) -> None:
    out, records = smoke
    mine = [r for r in records if r["benchmark"] == name]
    assert mine, f"{name} produced no record"
    for rec in mine:
        assert isinstance(rec["value"], int | float), rec
        assert math.isfinite(rec["value"]), rec
        if isinstance(rec["baseline"], int | float) and rec["baseline"] != 0:
            assert rec["ratio"] == pytest.approx(rec["value"] / rec["baseline"])
    chart = out / f"{name}.png"
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_readme_table_is_generated(smoke: tuple[Path, list[dict[str, Any]]]) -> None:
    out, records = smoke
    readme = (out / "README.md").read_text()
    assert bench_run.TABLE_START in readme
    assert bench_run.TABLE_END in readme
    rows = [line for line in readme.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == len(records) + 1  # the header
    for name in NAMES:
        assert f"[{name}]({name}.png)" in readme


def test_table_only_rerenders_from_the_json(tmp_path: Path) -> None:
    rec = Record(
        benchmark="fallback",
        metric="cold resolution",
        value=230.0,
        unit="ms",
        baseline=200.0,
        ratio=1.15,
        target="<= 1.2x",
        met=True,
    )
    write_records(tmp_path / "latest.json", [rec])
    readme = tmp_path / "README.md"
    readme.write_text(
        f"# Title\n\nintro\n\n{bench_run.TABLE_START}\nSTALE-ROW\n{bench_run.TABLE_END}\n\nend\n"
    )
    assert bench_run.main(["--table-only", "--out", str(tmp_path)]) == 0
    text = readme.read_text()
    assert text.startswith("# Title\n\nintro\n\n")
    assert text.endswith("\n\nend\n")
    assert "STALE-ROW" not in text
    assert "| fallback | cold resolution | 230 ms | 200 ms | 1.15x | <= 1.2x | yes |" in text
