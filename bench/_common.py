"""Shared pieces: result records, statistics, the mock as a subprocess, chart set-up.

Child processes are `secretinj_runtime.testing`'s (process groups, logs, SIGTERM then
SIGKILL). The mock runs in its own process (``secretinj-mock serve --port 0``), never in the
process that measures: a uvicorn thread would share the GIL with the client under test.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from secretinj_runtime.testing import sample as procs

PYTHON = sys.executable
MSI_SECRET = "bench-msi-secret"  # noqa: S105 - the mock's shared secret, not a credential


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


def say(message: str) -> None:
    """Print a progress line on stderr."""
    print(f"  {message}", file=sys.stderr, flush=True)


@contextmanager
def patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set ``values`` in ``os.environ`` (without identity variables) for the block.

    azure-identity reads ``MSI_ENDPOINT`` from ``os.environ``, whatever mapping the runtime
    was given. The variables removed are those `procs.child_environ` keeps from children.
    """
    saved = dict(os.environ)
    for name in set(os.environ) - set(procs.child_environ()):
        del os.environ[name]
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def preload_clients() -> None:
    """Import every client's modules up front: import cost is the fast-path benchmark's subject."""
    import azure.identity  # noqa: F401
    import requests  # noqa: F401

    import secretinj_runtime.connections
    import secretinj_runtime.identity
    import secretinj_runtime.keyvault
    import secretinj_runtime.transport  # noqa: F401


def start_mock(
    workdir: Path,
    *,
    state: Mapping[str, Any] | None = None,
    latency_ms: float = 0.0,
    throttle: tuple[int, float] | None = None,
    timeout_s: float = 30.0,
) -> procs.MockProcess:
    """Start a quiet ``secretinj-mock serve`` on a free port; return it once it is ready.

    ``state`` replaces the demo state; ``latency_ms`` is added to every call; ``throttle`` is
    the ARM write bucket (capacity, refill per second), None turns it off. Its MSI secret is
    `MSI_SECRET`; `mock_env` returns the variables that point at it.
    """
    argv = [*procs.console_script("secretinj-mock", "secretinj_runtime.mock.cli"), "serve"]
    argv += ["--host", "127.0.0.1", "--port", "0", "--log-level", "WARNING", "--no-env-file"]
    argv += ["--latency-ms", str(latency_ms), "--msi-secret", MSI_SECRET]
    if throttle is None:
        argv.append("--no-throttle")
    else:
        argv += ["--bucket-capacity", str(throttle[0])]
        argv += ["--bucket-refill-per-s", str(throttle[1])]
    if state is not None:
        state_path = workdir / "mock-state.json"
        state_path.write_text(json.dumps(state))
        argv += ["--state", str(state_path)]
    return procs.start_mock(workdir, argv=argv, timeout_s=timeout_s)


def mock_env(mock: procs.MockProcess) -> dict[str, str]:
    """The variables that point the runtime (and azure-identity) at a `start_mock` mock."""
    workspace = str(mock.control("GET", "/state")["workspace"])
    return {
        "MSI_ENDPOINT": f"{mock.url}/msi/token",
        "MSI_SECRET": MSI_SECRET,
        "SECRETINJ_ARM_ENDPOINT": mock.url,
        "SECRETINJ_KEYVAULT_ENDPOINT": f"{mock.url}/keyvault",
        "SECRETINJ_WORKSPACE_ID": workspace,
    }


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (files only, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path) -> None:
    """Lay out ``fig``, write it to ``path`` as a PNG and free it."""
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    pyplot().close(fig)
