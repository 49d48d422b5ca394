"""Scale-out stampede: many replicas start at once against the ARM write token bucket.

Each replica has its own resolver (its own credential, session and cache: distinct replicas
cannot share one) and the same 5 connection references. The mock's ARM write bucket (default
capacity 50, refilled 25/s) answers 429 with ``Retry-After`` once it is empty. The best any
client can do is to take every token as it refills: the bucket drains in
``(replicas x 5 - capacity) / refill`` seconds.

Replicas run as threads of this process, all released by one barrier. A replica spends its
time waiting (in ``Retry-After`` sleeps or on a socket), so the GIL is not the bottleneck; the
same run with the bucket off measures the client-side overhead (it is reported) and shows
that the process itself can resolve every replica far faster than the bucket allows. The mock
runs in its own process.

The runtime runs with its default `RetryPolicy` (30 s deadline, throttled attempts do not
count toward ``max_attempts``, ``Retry-After`` plus up to 50 % jitter). The baseline is a naive
retry some peers use: fixed 3/6/12 s backoff ignoring ``Retry-After``, then give up.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
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


@dataclass
class Params:
    """Replicas, connections per replica, the bucket and repetitions."""

    replicas: int = 100
    connections: int = 5
    capacity: int = 50
    refill_per_s: float = 25.0
    runtime_reps: int = 2
    naive_reps: int = 1
    naive_backoff_s: tuple[float, ...] = (3.0, 6.0, 12.0)
    join_timeout_s: float = 120.0

    @classmethod
    def smoke(cls) -> Params:
        """A handful of replicas, a short naive backoff, for CI."""
        return cls(
            replicas=6,
            capacity=25,
            refill_per_s=50.0,
            runtime_reps=1,
            naive_reps=1,
            naive_backoff_s=(0.05, 0.1, 0.2),
            join_timeout_s=60.0,
        )

    @property
    def minimum_calls(self) -> int:
        """Every replica fetches each connection once."""
        return self.replicas * self.connections

    @property
    def drain_s(self) -> float:
        """How long the bucket takes to serve every replica at best."""
        return max(0.0, self.minimum_calls - self.capacity) / self.refill_per_s


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

    @property
    def ready_pct(self) -> float:
        """Share of replicas that resolved everything."""
        return 100.0 * sum(self.ready) / len(self.ready)

    @property
    def last_ready_s(self) -> float:
        """When the last ready replica was ready (NaN if none)."""
        times = [t for t, ok in zip(self.ready_s, self.ready, strict=True) if ok]
        return max(times) if times else float("nan")

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
        }


def connections(params: Params) -> list[str]:
    """The connection names every replica references."""
    return [f"stampede-conn-{i}" for i in range(params.connections)]


def mock_state(params: Params) -> dict[str, Any]:
    """The mock's connections."""
    return {
        "connections": {
            name: {
                "authType": "ApiKey",
                "category": "AzureOpenAI",
                "target": "https://stampede.openai.azure.com/",
                "credentials": {"key": f"{name}-key-0123456789"},
            }
            for name in connections(params)
        },
        "downstream": None,
    }


# -- replicas ------------------------------------------------------------------------------


def runtime_replica(params: Params) -> Callable[[], tuple[bool, int]]:
    """A replica that resolves its references with the runtime, default retry policy."""
    import secretinj_runtime as sir

    refs = {
        f"CONN_{i}_KEY": f"${{{{azureml://connections/{name}/credentials/key}}}}"
        for i, name in enumerate(connections(params))
    }

    def replica() -> tuple[bool, int]:
        sleeps: list[float] = []

        def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            time.sleep(seconds)

        resolver = sir.SecretResolver(sleep=sleep)
        try:
            resolver.resolve_environment(environ=dict(refs))
        except sir.SecretResolutionError:
            return False, len(sleeps)
        finally:
            resolver.close()
        return True, len(sleeps)

    return replica


def naive_replica(params: Params) -> Callable[[], tuple[bool, int]]:
    """A replica with fixed backoff that ignores ``Retry-After`` and gives up after 3 retries."""
    import os

    import requests
    from azure.identity import ManagedIdentityCredential
    from requests.adapters import HTTPAdapter

    base = f"{os.environ['SECRETINJ_ARM_ENDPOINT']}{os.environ['SECRETINJ_WORKSPACE_ID']}"
    names = connections(params)

    def replica() -> tuple[bool, int]:
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
                ok = all(list(pool.map(fetch, names)))
        finally:
            session.close()
            credential.close()
        return ok, retries[0]

    return replica


def stampede(
    kind: str, replica: Callable[[], tuple[bool, int]], params: Params, mock: procs.MockProcess
) -> RunResult:
    """Release every replica at once; wait for all of them; collect what the mock saw."""
    n = params.replicas
    ready, ready_s, retries = [False] * n, [float("nan")] * n, [0] * n
    started: list[float] = []
    barrier = threading.Barrier(n, action=lambda: started.append(time.perf_counter()))

    def run_one(i: int) -> None:
        barrier.wait()
        try:
            ready[i], retries[i] = replica()
        except Exception as ex:  # a replica that crashes is a replica that is not ready
            say(f"replica {i} failed: {type(ex).__name__}: {ex}")
        ready_s[i] = time.perf_counter() - started[0]

    threads = [
        threading.Thread(target=run_one, args=(i,), name=f"replica-{i}", daemon=True)
        for i in range(n)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + params.join_timeout_s
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() for t in threads):
        raise RuntimeError(f"{kind}: replicas still running after {params.join_timeout_s} s")
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
    )


def run(params: Params, workdir: Path) -> Outcome:
    """Runtime and naive stampedes, interleaved, plus one with the bucket off."""
    preload_clients()  # up front, not by 100 threads at once
    throttle = (params.capacity, params.refill_per_s)
    mock = start_mock(workdir, state=mock_state(params), throttle=throttle)
    with mock, patched_environ(mock_env(mock)):
        return _measure(params, mock)


def _measure(params: Params, mock: procs.MockProcess) -> Outcome:
    runtime = runtime_replica(params)
    naive = naive_replica(params)
    say(
        f"{params.replicas} replicas x {params.connections} connections, bucket "
        f"{params.capacity} + {params.refill_per_s:g}/s (drain {params.drain_s:.1f} s)"
    )
    mock.reset()
    mock.configure_throttle(None, None)
    unthrottled = stampede("runtime, bucket off", runtime, params, mock)
    say(f"bucket off: every replica ready in {unthrottled.wall_s:.2f} s")
    plan = ["runtime"] * params.runtime_reps
    for i in range(params.naive_reps):
        plan.insert(min(2 * i + 1, len(plan)), "naive")
    runs: list[RunResult] = []
    for kind in plan:
        mock.reset()
        mock.configure_throttle(params.capacity, params.refill_per_s)
        result = stampede(kind, runtime if kind == "runtime" else naive, params, mock)
        say(
            f"{kind}: {result.ready_pct:.0f} % ready, last at {result.last_ready_s:.1f} s, "
            f"{result.statuses.get(200, 0)} ListSecrets OK of {result.attempts} attempts"
        )
        runs.append(result)
    return _outcome(params, unthrottled, runs)


def _outcome(params: Params, unthrottled: RunResult, runs: list[RunResult]) -> Outcome:
    rt = [r for r in runs if r.kind == "runtime"]
    nv = [r for r in runs if r.kind == "naive"]
    drain = params.drain_s
    ready = median([r.ready_pct for r in rt])
    ok_calls = median([r.statuses.get(200, 0) for r in rt])
    attempts = median([r.attempts for r in rt])
    last = median([r.last_ready_s for r in rt])
    typical = median(
        [median([t for t, ok in zip(r.ready_s, r.ready, strict=True) if ok]) for r in rt]
    )
    most_retries = median([max(r.retries) for r in rt])
    incomplete = "" if all(r.log_complete for r in rt) else " (request log truncated: approx.)"
    setup = (
        f"{params.replicas} replicas x {params.connections} conns, "
        f"bucket {params.capacity} + {params.refill_per_s:g}/s"
    )
    records: list[Record] = [
        record(NAME, f"replicas ready ({setup})", ready, "%", target="= 100 %", met=ready == 100),
        record(
            NAME,
            f"successful ListSecrets calls vs the minimum (replicas x conns){incomplete}",
            ok_calls,
            "calls",
            baseline=params.minimum_calls,
            target="<= 1.1x",
            met=ok_calls <= 1.1 * params.minimum_calls,
        ),
        record(
            NAME,
            "ListSecrets attempts incl. 429s vs the minimum",
            attempts,
            "calls",
            baseline=params.minimum_calls,
        ),
        record(
            NAME,
            "time until the last replica is ready (= worst replica's wait) vs bucket drain time",
            last,
            "s",
            baseline=drain,
            target="<= 1.25x",
            met=last <= 1.25 * drain,
        ),
        record(
            NAME,
            "median replica's time to ready vs bucket drain time",
            typical,
            "s",
            baseline=drain,
        ),
        record(NAME, "most retries (429s) one replica went through", most_retries, "retries"),
        record(
            NAME,
            "same stampede, bucket off: time until every replica is ready (client overhead)",
            unthrottled.wall_s,
            "s",
            baseline=drain,
        ),
    ]
    if nv:
        backoff = "/".join(f"{b:g}" for b in params.naive_backoff_s)
        records += [
            record(
                NAME,
                f"naive retry ({backoff} s, ignores Retry-After, gives up): replicas ready",
                median([r.ready_pct for r in nv]),
                "%",
                baseline=ready,
            ),
            record(
                NAME,
                "naive retry: time until every replica is ready or gave up",
                median([r.wall_s for r in nv]),
                "s",
                baseline=drain,
            ),
            record(
                NAME,
                "naive retry: successful ListSecrets calls vs the minimum",
                median([r.statuses.get(200, 0) for r in nv]),
                "calls",
                baseline=params.minimum_calls,
            ),
        ]
    samples: dict[str, Any] = {
        "params": {
            "replicas": params.replicas,
            "connections": params.connections,
            "capacity": params.capacity,
            "refill_per_s": params.refill_per_s,
            "drain_s": drain,
        },
        "unthrottled": unthrottled.to_dict(),
        "runs": [r.to_dict() for r in runs],
    }
    return Outcome(records, samples)


def chart(outcome: Outcome, path: Path) -> None:
    """Replicas ready over time: runtime runs, naive runs, and the bucket's best."""
    plt = pyplot()
    p = outcome.samples["params"]
    fig, ax = plt.subplots(figsize=(10, 5))
    horizon = 1.0
    for run in outcome.samples["runs"]:
        times = sorted(t for t, ok in zip(run["ready_s"], run["ready"], strict=True) if ok)
        horizon = max(horizon, run["wall_s"])
        color = "#1f77b4" if run["kind"] == "runtime" else "#d62728"
        label = "secretinj runtime" if run["kind"] == "runtime" else "naive retry (3/6/12 s)"
        xs = [0.0, *[t for t in times for _ in (0, 1)], run["wall_s"]]
        ys = [0, *[k for k in range(len(times)) for k in (k, k + 1)], len(times)]
        ax.plot(xs, ys, color=color, alpha=0.8, label=label)
    n, conns = p["replicas"], p["connections"]
    steps = 200
    best_t = [horizon * i / steps for i in range(steps + 1)]
    best = [min(n, (p["capacity"] + p["refill_per_s"] * t) // conns) for t in best_t]
    ax.plot(best_t, best, color="grey", linestyle=":", label="bucket's best (capacity + refill)")
    ax.axvline(p["drain_s"], color="grey", linestyle="--", linewidth=0.8)
    ax.text(p["drain_s"], n * 0.03, " drain time", color="grey", fontsize=8)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), fontsize=8, loc="lower right")
    ax.set_xlabel("seconds since every replica started")
    ax.set_ylabel("replicas ready")
    ax.set_title(
        f"{n} replicas x {conns} connections, ARM write bucket {p['capacity']} + "
        f"{p['refill_per_s']:g}/s",
        fontsize=10,
    )
    ax.set_ylim(0, n * 1.05)
    save_figure(fig, path)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run it through: python -m bench.run --only stampede")
