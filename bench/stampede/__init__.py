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

Modules: `params` (the sets, the bucket's best order, repetitions), `clients` (the three
replicas), `scenario` (one stampede, a set's interleaved runs), `figures` (records, chart).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.harness import Outcome, Record, mock_env, patched_environ, preload_clients, start_mock
from bench.stampede import figures, scenario
from bench.stampede.figures import chart
from bench.stampede.params import Params, Setup

__all__ = ["Params", "Setup", "chart", "run"]


def run(params: Params, workdir: Path) -> Outcome:
    """Each parameter set: one stampede with the bucket off, then the clients interleaved."""
    preload_clients()  # up front, not by 100 threads at once
    records: list[Record] = []
    sets: list[dict[str, Any]] = []
    for i, setup in enumerate(params.selected()):
        setdir = workdir / f"set-{i}"
        setdir.mkdir()
        throttle = (setup.capacity, setup.refill_per_s)
        mock = start_mock(setdir, state=scenario.mock_state(setup), throttle=throttle)
        with mock, patched_environ(mock_env(mock)):
            unthrottled, runs = scenario.measure(setup, params, mock)
        outcome = figures.outcome(setup, unthrottled, runs)
        records += outcome.records
        sets.append(outcome.samples)
    return Outcome(records, {"sets": sets})
