"""Statistics of repeated measurements: medians, quartiles and samples kept by key."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field


def median(values: Sequence[float]) -> float:
    """Return the median, NaN for no values."""
    return float(statistics.median(values)) if values else math.nan


def quartiles(values: Sequence[float]) -> tuple[float, float]:
    """Return the 25th and 75th percentiles (the value itself for fewer than two)."""
    if len(values) < 2:
        one = values[0] if values else math.nan
        return one, one
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


@dataclass
class Samples:
    """Measurements by key (a client, a configuration), in the order they were taken."""

    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, key: str, value: float) -> None:
        """Keep one measurement of ``key``."""
        self.values.setdefault(key, []).append(value)

    def median(self, key: str) -> float:
        """The median of ``key``'s measurements (NaN for none)."""
        return median(self.values.get(key, []))
