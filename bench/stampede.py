"""Scale-out stampede: many replicas start at once against the ARM write token bucket.

Each replica has its own resolver (its own credential, session, cache and write rate: distinct
replicas share nothing) and the same 5 connection references. The mock's ARM write bucket
answers 429 with ``Retry-After`` once it is empty. The best any client can do is to take every
token as it refills, one replica's set after another: the first ``capacity / 5`` replicas at
once, then ``refill / 5`` per second; the bucket drains in ``(replicas x 5 - capacity) /
refill`` seconds, and that schedule's median replica is *the bucket's best median*.

Two parameter sets: 100 replicas at a bucket of 50 + 25/s, and 200 replicas at ARM's own 200 +
10/s. Replicas run as threads of this process, all released by one barrier. A replica spends
its time waiting (in sleeps or on a socket), so the GIL is not the bottleneck; the same run
with the bucket off measures the client-side overhead (it is reported) and shows that the
process itself can resolve every replica far faster than the bucket allows. The mock runs in
its own process.

Three clients, interleaved:

- ``adaptive``: the runtime as shipped, `RetryPolicy` mode ``"adaptive"``: each resolver
  paces its ListSecrets calls once ARM throttles it (``secretinj_runtime/_ratelimit.py``);
- ``standard``: the runtime's turn-1 behaviour, kept as the named baseline: every fetch
  retries on its own, ``Retry-After`` plus up to 50 % jitter (mode ``"standard"``);
- ``naive``: a retry some peers use: fixed 3/6/12 s backoff ignoring ``Retry-After``, then
  give up.

Both runtime clients get a deadline of ``max(30 s, 1.5 x drain)``: 30 s (the default) for the
first set; the second set's 80 s drain needs 120 s (with the default 30 s, 88 % of turn 1's
replicas gave up THROTTLED).
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench._common import (
    Outcome,
    Record,
    median,
    mock_env,
    patched_environ,
    preload_clients,
    pyplot,
    record,
    save_figure,
    say,
    start_mock,
)
from secretinj_runtime.testing import sample as procs

NAME = "stampede"
ARM_SCOPE = "https://management.azure.com/.default"
LISTSECRETS_API = "2024-10-01"
#: The clients, in the order of each round, and how the chart draws them.
KINDS = ("adaptive", "standard", "naive")
STYLE = {
    "adaptive": ("#1f77b4", "adaptive write rate (the runtime now)"),
    "standard": ("#ff7f0e", "standard retry (turn 1, the baseline)"),
    "naive": ("#d62728", "naive retry (3/6/12 s, gives up)"),
}


@dataclass(frozen=True)
class Setup:
    """One parameter set: replicas, connections per replica and the ARM write bucket."""

    replicas: int
    capacity: int
    refill_per_s: float
    connections: int = 5

    @property
    def label(self) -> str:
        """``100 x 5 @ 50 + 25/s``: how records and charts name the set."""
        return f"{self.replicas} x {self.connections} @ {self.capacity} + {self.refill_per_s:g}/s"

    @property
    def minimum_calls(self) -> int:
        """Every replica fetches each connection once."""
        return self.replicas * self.connections

    @property
    def drain_s(self) -> float:
        """How long the bucket takes to serve every replica at best."""
        return max(0.0, self.minimum_calls - self.capacity) / self.refill_per_s

    def best_ready_s(self) -> list[float]:
        """When each replica is ready in the bucket's best schedule (one set after another)."""
        c = self.connections
        return [
            max(0.0, (k * c - self.capacity) / self.refill_per_s)
            for k in range(1, self.replicas + 1)
        ]

    @property
    def best_median_s(self) -> float:
        """The median replica's time to ready in the bucket's best schedule."""
        return median(self.best_ready_s())

    @property
    def deadline_s(self) -> float:
        """The runtime's retry deadline: the default 30 s, or 1.5x the drain if longer."""
        return max(30.0, 1.5 * self.drain_s)


#: What a replica reports: ready, how many waits (sleeps or retries), fetches that succeeded.
Replica = tuple[bool, int, int]

#: The issue's two parameter sets.
SETUPS = (Setup(100, 50, 25.0), Setup(200, 200, 10.0))


@dataclass
class Params:
    """The parameter sets, repetitions and the naive client's backoff.

    ``replicas``, ``capacity`` and ``refill_per_s`` (the command line's ``--replicas``,
    ``--bucket-capacity``, ``--bucket-refill-per-s``) replace the sets by one when set.
    """

    setups: tuple[Setup, ...] = SETUPS
    runtime_reps: int = 2
    naive_reps: int = 1
    naive_backoff_s: tuple[float, ...] = (3.0, 6.0, 12.0)
    join_margin_s: float = 60.0
    replicas: int | None = None
    capacity: int | None = None
    refill_per_s: float | None = None

    @classmethod
    def smoke(cls) -> Params:
        """A handful of replicas, a short naive backoff, for CI."""
        return cls(
            setups=(Setup(6, 25, 50.0),),
            runtime_reps=1,
            naive_reps=1,
            naive_backoff_s=(0.05, 0.1, 0.2),
            join_margin_s=30.0,
        )

    def selected(self) -> tuple[Setup, ...]:
        """The sets to run: the command line's one, or `setups`."""
        if self.replicas is None and self.capacity is None and self.refill_per_s is None:
            return self.setups
        base = self.setups[0]
        return (
            replace(
                base,
                replicas=self.replicas if self.replicas is not None else base.replicas,
                capacity=self.capacity if self.capacity is not None else base.capacity,
                refill_per_s=(
                    self.refill_per_s if self.refill_per_s is not None else base.refill_per_s
                ),
            ),
        )


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


def connections(setup: Setup) -> list[str]:
    """The connection names every replica references."""
    return [f"stampede-conn-{i}" for i in range(setup.connections)]


def mock_state(setup: Setup) -> dict[str, Any]:
    """The mock's connections."""
    return {
        "connections": {
            name: {
                "authType": "ApiKey",
                "category": "AzureOpenAI",
                "target": "https://stampede.openai.azure.com/",
                "credentials": {"key": f"{name}-key-0123456789"},
            }
            for name in connections(setup)
        },
        "downstream": None,
    }


# -- replicas ------------------------------------------------------------------------------


def runtime_replica(setup: Setup, mode: str) -> Callable[[], Replica]:
    """A replica that resolves its references with the runtime, retry mode ``mode``."""
    import secretinj_runtime as sir
    from secretinj_runtime.transport import RetryPolicy

    refs = {
        f"CONN_{i}_KEY": f"${{{{azureml://connections/{name}/credentials/key}}}}"
        for i, name in enumerate(connections(setup))
    }
    policy = RetryPolicy(deadline_s=setup.deadline_s, mode=mode)

    def replica() -> Replica:
        sleeps: list[float] = []

        def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            time.sleep(seconds)

        resolver = sir.SecretResolver(sleep=sleep, retry_policy=policy)
        try:
            report = resolver.resolve_environment(environ=dict(refs), required=False)
        finally:
            resolver.close()
        resolved = sum(s.status is sir.Status.RESOLVED for s in report.variables.values())
        return report.ok, len(sleeps), resolved

    return replica


def naive_replica(setup: Setup, params: Params) -> Callable[[], Replica]:
    """A replica with fixed backoff that ignores ``Retry-After`` and gives up after 3 retries."""
    import os

    import requests
    from azure.identity import ManagedIdentityCredential
    from requests.adapters import HTTPAdapter

    base = f"{os.environ['SECRETINJ_ARM_ENDPOINT']}{os.environ['SECRETINJ_WORKSPACE_ID']}"
    names = connections(setup)

    def replica() -> Replica:
        credential = ManagedIdentityCredential()
        token = credential.get_token(ARM_SCOPE).token
        session = requests.Session()
        session.mount("http://", HTTPAdapter(pool_maxsize=len(names)))
        retries = [0]

        def fetch(name: str) -> bool:
            for attempt, delay in enumerate((0.0, *params.naive_backoff_s)):
                if attempt:
                    retries[0] += 1
                    time.sleep(delay)
                try:
                    response = session.post(
                        f"{base}/connections/{name}/listsecrets",
                        params={"api-version": LISTSECRETS_API},
                        headers={"Authorization": f"Bearer {token}"},
                        timeout=30,
                    )
                except requests.RequestException:
                    continue
                with response:
                    if response.status_code == 200:
                        return True
                    if response.status_code != 429 and response.status_code < 500:
                        return False
            return False

        try:
            with ThreadPoolExecutor(max_workers=len(names)) as pool:
                fetched = list(pool.map(fetch, names))
        finally:
            session.close()
            credential.close()
        return all(fetched), retries[0], sum(fetched)

    return replica


def stampede(
    kind: str,
    replica: Callable[[], Replica],
    setup: Setup,
    mock: procs.MockProcess,
    join_timeout_s: float,
) -> RunResult:
    """Release every replica at once; wait for all of them; collect what the mock saw."""
    n = setup.replicas
    ready, ready_s, retries, resolved = [False] * n, [float("nan")] * n, [0] * n, [0] * n
    started: list[float] = []
    barrier = threading.Barrier(n, action=lambda: started.append(time.perf_counter()))

    def run_one(i: int) -> None:
        barrier.wait()
        try:
            ready[i], retries[i], resolved[i] = replica()
        except Exception as ex:  # a replica that crashes is a replica that is not ready
            say(f"replica {i} failed: {type(ex).__name__}: {ex}")
        ready_s[i] = time.perf_counter() - started[0]

    threads = [
        threading.Thread(target=run_one, args=(i,), name=f"replica-{i}", daemon=True)
        for i in range(n)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + join_timeout_s
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() for t in threads):
        raise RuntimeError(f"{kind}: replicas still running after {join_timeout_s} s")
    wall_s = max(ready_s)
    log = mock.request_log("listsecrets")
    attempts = mock.count("listsecrets")
    return RunResult(
        kind,
        ready,
        ready_s,
        retries,
        wall_s,
        Counter(int(e["status"] or 0) for e in log),
        attempts,
        log_complete=len(log) == attempts,
        resolved=resolved,
    )


def run(params: Params, workdir: Path) -> Outcome:
    """Each parameter set: one stampede with the bucket off, then the clients interleaved."""
    preload_clients()  # up front, not by 100 threads at once
    records: list[Record] = []
    sets: list[dict[str, Any]] = []
    for i, setup in enumerate(params.selected()):
        setdir = workdir / f"set-{i}"
        setdir.mkdir()
        throttle = (setup.capacity, setup.refill_per_s)
        mock = start_mock(setdir, state=mock_state(setup), throttle=throttle)
        with mock, patched_environ(mock_env(mock)):
            outcome = _measure(setup, params, mock)
        records += outcome.records
        sets.append(outcome.samples)
    return Outcome(records, {"sets": sets})


def _measure(setup: Setup, params: Params, mock: procs.MockProcess) -> Outcome:
    replicas = {
        "adaptive": runtime_replica(setup, "adaptive"),
        "standard": runtime_replica(setup, "standard"),
        "naive": naive_replica(setup, params),
    }
    join_timeout_s = setup.deadline_s + params.join_margin_s
    say(
        f"{setup.label}: drain {setup.drain_s:.1f} s, best median {setup.best_median_s:.1f} s, "
        f"runtime deadline {setup.deadline_s:.0f} s"
    )
    mock.reset()
    mock.configure_throttle(None, None)
    unthrottled = stampede("adaptive", replicas["adaptive"], setup, mock, join_timeout_s)
    say(f"bucket off: every replica ready in {unthrottled.wall_s:.2f} s")
    plan = [k for _ in range(params.runtime_reps) for k in ("adaptive", "standard")]
    for i in range(params.naive_reps):
        plan.insert(min(3 * i + 2, len(plan)), "naive")
    runs: list[RunResult] = []
    for kind in plan:
        mock.reset()
        mock.configure_throttle(setup.capacity, setup.refill_per_s)
        result = stampede(kind, replicas[kind], setup, mock, join_timeout_s)
        say(
            f"{kind}: {result.ready_pct:.0f} % ready, median {result.median_ready_s:.1f} s, "
            f"last {result.last_ready_s:.1f} s, {result.successes} ListSecrets OK "
            f"of {result.attempts} attempts"
        )
        runs.append(result)
    return _outcome(setup, unthrottled, runs)


def _outcome(setup: Setup, unthrottled: RunResult, runs: list[RunResult]) -> Outcome:
    by_kind = {kind: [r for r in runs if r.kind == kind] for kind in KINDS}
    records = _runtime_records(setup, by_kind["adaptive"], new=True)
    records += _runtime_records(setup, by_kind["standard"], new=False)
    records.append(
        record(
            NAME,
            f"{setup.label}: same stampede, bucket off: time until every replica is ready "
            "(client overhead)",
            unthrottled.wall_s,
            "s",
            baseline=setup.drain_s,
        )
    )
    records += _naive_records(setup, by_kind["naive"])
    samples: dict[str, Any] = {
        "params": {
            "label": setup.label,
            "replicas": setup.replicas,
            "connections": setup.connections,
            "capacity": setup.capacity,
            "refill_per_s": setup.refill_per_s,
            "drain_s": setup.drain_s,
            "best_median_s": setup.best_median_s,
            "deadline_s": setup.deadline_s,
        },
        "unthrottled": unthrottled.to_dict(),
        "runs": [r.to_dict() for r in runs],
    }
    return Outcome(records, samples)


def _runtime_records(setup: Setup, runs: list[RunResult], *, new: bool) -> list[Record]:
    """The runtime's figures: with targets for the adaptive mode, as the baseline otherwise."""
    if not runs:
        return []
    who = "adaptive" if new else "standard retry (turn 1 baseline)"
    ready = median([r.ready_pct for r in runs])
    ok_calls = median([r.successes for r in runs])
    attempts = median([r.attempts for r in runs])
    last = median([r.last_ready_s for r in runs])
    typical = median([r.median_ready_s for r in runs])
    incomplete = "" if all(r.log_complete for r in runs) else " (counted by the replicas)"

    def target(text: str, met: bool) -> dict[str, Any]:
        return {"target": text, "met": met} if new else {}

    out = [
        record(
            NAME,
            f"{setup.label}: {who}: replicas ready",
            ready,
            "%",
            **target("= 100 %", ready == 100),
        ),
        record(
            NAME,
            f"{setup.label}: {who}: successful ListSecrets vs the minimum{incomplete}",
            ok_calls,
            "calls",
            baseline=setup.minimum_calls,
            **target("<= 1.1x", ok_calls <= 1.1 * setup.minimum_calls),
        ),
        record(
            NAME,
            f"{setup.label}: {who}: ListSecrets attempts incl. 429s vs the minimum",
            attempts,
            "calls",
            baseline=setup.minimum_calls,
            **target("<= 2.5x", attempts <= 2.5 * setup.minimum_calls),
        ),
        record(
            NAME,
            f"{setup.label}: {who}: last replica ready vs the bucket's drain time",
            last,
            "s",
            baseline=setup.drain_s,
            **target("<= 1.25x", last <= 1.25 * setup.drain_s),
        ),
        record(
            NAME,
            f"{setup.label}: {who}: median replica ready vs the bucket's best median",
            typical,
            "s",
            baseline=setup.best_median_s,
            **target("<= 1.3x", typical <= 1.3 * setup.best_median_s),
        ),
    ]
    if new:
        out.append(
            record(
                NAME,
                f"{setup.label}: {who}: most waits one replica slept through",
                median([max(r.retries) for r in runs]),
                "waits",
            )
        )
    return out


def _naive_records(setup: Setup, runs: list[RunResult]) -> list[Record]:
    if not runs:
        return []
    return [
        record(
            NAME,
            f"{setup.label}: naive retry (3/6/12 s, ignores Retry-After, gives up): replicas ready",
            median([r.ready_pct for r in runs]),
            "%",
        ),
        record(
            NAME,
            f"{setup.label}: naive retry: successful ListSecrets vs the minimum",
            median([r.successes for r in runs]),
            "calls",
            baseline=setup.minimum_calls,
        ),
    ]


def chart(outcome: Outcome, path: Path) -> None:
    """Replicas ready over time, one panel per set: each client's runs and the bucket's best."""
    plt = pyplot()
    sets = outcome.samples["sets"]
    fig, axes = plt.subplots(1, len(sets), figsize=(7 * len(sets), 5), squeeze=False)
    for ax, data in zip(axes[0], sets, strict=True):
        _panel(ax, data)
    save_figure(fig, path)


def _panel(ax: Any, data: dict[str, Any]) -> None:
    p = data["params"]
    n = p["replicas"]
    horizon = 1.0
    for run in data["runs"]:
        times = sorted(t for t, ok in zip(run["ready_s"], run["ready"], strict=True) if ok)
        horizon = max(horizon, run["wall_s"])
        color, label = STYLE[run["kind"]]
        xs = [0.0, *[t for t in times for _ in (0, 1)], run["wall_s"]]
        ys = [0, *[k for k in range(len(times)) for k in (k, k + 1)], len(times)]
        ax.plot(xs, ys, color=color, alpha=0.8, label=label)
    best = Setup(p["replicas"], p["capacity"], p["refill_per_s"], p["connections"])
    best_t = sorted(best.best_ready_s())
    xs = [0.0, *[t for t in best_t for _ in (0, 1)], horizon]
    ys = [0, *[k for k in range(len(best_t)) for k in (k, k + 1)], len(best_t)]
    ax.plot(xs, ys, color="grey", linestyle=":", label="bucket's best (one set after another)")
    ax.axvline(p["drain_s"], color="grey", linestyle="--", linewidth=0.8)
    ax.text(p["drain_s"], n * 0.03, " drain time", color="grey", fontsize=8)
    ax.axhline(n / 2, color="grey", linewidth=0.5, alpha=0.5)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), fontsize=8, loc="lower right")
    ax.set_xlabel("seconds since every replica started")
    ax.set_ylabel("replicas ready")
    ax.set_title(
        f"{n} replicas x {p['connections']} connections, ARM write bucket {p['capacity']} + "
        f"{p['refill_per_s']:g}/s (runtime deadline {p['deadline_s']:.0f} s)",
        fontsize=10,
    )
    ax.set_ylim(0, n * 1.05)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run it through: python -m bench.run --only stampede")
