"""One stampede (every replica released at once), and a parameter set's interleaved runs."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.harness import api_key_connection, median, release_together, say
from bench.stampede.clients import Replica, replicas
from bench.stampede.params import Params, Setup
from secretinj_runtime.testing import sample as procs


@dataclass
class RunResult:
    """One stampede: per-replica outcome and time, and what the mock saw."""

    kind: str
    ready: list[bool]
    ready_s: list[float]
    retries: list[int]
    wall_s: float
    statuses: Counter[int] = field(default_factory=Counter)
    attempts: int = 0
    log_complete: bool = True
    resolved: list[int] = field(default_factory=list)

    @property
    def successes(self) -> int:
        """Successful ListSecrets: the mock's count, or the replicas' if its log was cut."""
        return self.statuses.get(200, 0) if self.log_complete else sum(self.resolved)

    @property
    def ready_pct(self) -> float:
        """Share of replicas that resolved everything."""
        return 100.0 * sum(self.ready) / len(self.ready)

    @property
    def ready_times(self) -> list[float]:
        """Times to ready of the replicas that became ready."""
        return [t for t, ok in zip(self.ready_s, self.ready, strict=True) if ok]

    @property
    def last_ready_s(self) -> float:
        """When the last ready replica was ready (NaN if none)."""
        times = self.ready_times
        return max(times) if times else float("nan")

    @property
    def median_ready_s(self) -> float:
        """The median ready replica's time to ready (NaN if none)."""
        return median(self.ready_times)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for the chart."""
        return {
            "kind": self.kind,
            "ready": self.ready,
            "ready_s": self.ready_s,
            "retries": self.retries,
            "wall_s": self.wall_s,
            "statuses": {str(k): v for k, v in self.statuses.items()},
            "attempts": self.attempts,
            "successes": self.successes,
        }


def mock_state(setup: Setup) -> dict[str, Any]:
    """The mock's connections."""
    return {
        "connections": {
            name: api_key_connection("https://stampede.openai.azure.com/", f"{name}-key-0123456789")
            for name in setup.connection_names()
        },
        "downstream": None,
    }


def stampede(
    kind: str,
    replica: Callable[[], Replica],
    setup: Setup,
    mock: procs.MockProcess,
    join_timeout_s: float,
) -> RunResult:
    """Release every replica at once; wait for all of them; collect what the mock saw."""
    n = setup.replicas
    ready, retries, resolved = [False] * n, [0] * n, [0] * n
    done_at = [math.nan] * n

    def run_one(i: int) -> None:
        try:
            ready[i], retries[i], resolved[i] = replica()
        except Exception as ex:  # a replica that crashes is a replica that is not ready
            say(f"replica {i} failed: {type(ex).__name__}: {ex}")
        done_at[i] = time.perf_counter()

    started = release_together(n, run_one, timeout_s=join_timeout_s, name=f"{kind} replica")
    ready_s = [t - started for t in done_at]
    log = mock.request_log("listsecrets")
    attempts = mock.count("listsecrets")
    return RunResult(
        kind,
        ready,
        ready_s,
        retries,
        max(ready_s),
        Counter(int(e["status"] or 0) for e in log),
        attempts,
        log_complete=len(log) == attempts,
        resolved=resolved,
    )


def plan(params: Params) -> list[str]:
    """The order of a set's runs: the runtime's two modes alternating, the naive ones among."""
    order = [k for _ in range(params.runtime_reps) for k in ("adaptive", "standard")]
    for i in range(params.naive_reps):
        order.insert(min(3 * i + 2, len(order)), "naive")
    return order


def measure(
    setup: Setup, params: Params, mock: procs.MockProcess
) -> tuple[RunResult, list[RunResult]]:
    """One stampede with the bucket off, then every client's runs against the bucket."""
    clients = replicas(setup, params)
    join_timeout_s = setup.deadline_s + params.join_margin_s
    say(
        f"{setup.label}: drain {setup.drain_s:.1f} s, best median {setup.best_median_s:.1f} s, "
        f"runtime deadline {setup.deadline_s:.0f} s"
    )
    mock.reset()
    mock.configure_throttle(None, None)
    unthrottled = stampede("adaptive", clients["adaptive"], setup, mock, join_timeout_s)
    say(f"bucket off: every replica ready in {unthrottled.wall_s:.2f} s")
    runs: list[RunResult] = []
    for kind in plan(params):
        mock.reset()
        mock.configure_throttle(setup.capacity, setup.refill_per_s)
        result = stampede(kind, clients[kind], setup, mock, join_timeout_s)
        say(
            f"{kind}: {result.ready_pct:.0f} % ready, median {result.median_ready_s:.1f} s, "
            f"last {result.last_ready_s:.1f} s, {result.successes} ListSecrets OK "
            f"of {result.attempts} attempts"
        )
        runs.append(result)
    return unthrottled, runs
