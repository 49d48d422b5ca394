"""Result records: one per figure, what ``results/latest.json`` holds and the table shows."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

#: The fields of a record, in the order ``latest.json`` writes them.
FIELDS = ("benchmark", "metric", "value", "unit", "baseline", "ratio", "target", "met")


class Record(TypedDict):
    """One line of ``latest.json``."""

    benchmark: str
    metric: str
    value: float | None
    unit: str
    baseline: float | str | None
    ratio: float | None
    target: str | None
    met: bool | None


def record(
    benchmark: str,
    metric: str,
    value: float | None,
    unit: str,
    *,
    baseline: float | str | None = None,
    target: str | None = None,
    met: bool | None = None,
) -> Record:
    """Build a record; ``ratio`` is ``value / baseline`` when both are finite numbers."""
    ratio = None
    if (
        isinstance(baseline, int | float)
        and value is not None
        and math.isfinite(value)
        and math.isfinite(baseline)
        and baseline != 0
    ):
        ratio = value / baseline
    return Record(
        benchmark=benchmark,
        metric=metric,
        value=None if value is None else float(value),
        unit=unit,
        baseline=float(baseline) if isinstance(baseline, int | float) else baseline,
        ratio=ratio,
        target=target,
        met=met,
    )


@dataclass
class Outcome:
    """What a benchmark returns: its records and the samples its chart draws."""

    records: list[Record]
    samples: dict[str, Any] = field(default_factory=dict)


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def write_records(path: Path, records: list[Record]) -> None:
    """Write the records as JSON (non-finite numbers become null)."""
    clean = [{k: _finite(r[k]) for k in FIELDS} for r in records]  # type: ignore[literal-required]
    path.write_text(json.dumps(clean, indent=2, allow_nan=False) + "\n")


def load_records(path: Path) -> list[Record]:
    """Read ``latest.json``."""
    data = json.loads(path.read_text())
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of records")
    return [Record(**{k: item.get(k) for k in FIELDS}) for item in data]  # type: ignore[typeddict-item]
