"""Many replicas, each with its own `WriteLimiter`, against one ARM write bucket (simulated).

The figures of issue 14, on a deterministic simulation of the benchmark's two parameter sets
(``bench/stampede.py`` measures the same against the real mock): attempts including 429s at
most 2.5x the minimum, the median replica ready within 1.3x the bucket's best median, the last
within 1.25x the drain time, every replica ready. The turn-1 policy replayed on the same
simulation shows what the limiter changes.
"""

from __future__ import annotations

import statistics

import pytest

from bench.stampede.params import Setup
from tests.unit.stampede_sim import run

SMALL = Setup(replicas=100, capacity=50, refill_per_s=25.0)  # drain 18 s, best median 8.1 s
ARM = Setup(replicas=200, capacity=200, refill_per_s=10.0)  # drain 80 s, best median 30.25 s


@pytest.mark.parametrize("setup", [SMALL, ARM], ids=["100x5@50+25", "200x5@200+10"])
@pytest.mark.parametrize("seed", [1, 2])
def test_adaptive_replicas_meet_the_targets(setup: Setup, seed: int) -> None:
    out = run(setup, seed=seed, deadline_s=setup.deadline_s)
    assert len(out.ready) == setup.replicas, "every replica ready"
    assert out.attempts <= 2.5 * setup.minimum_calls
    assert statistics.median(out.ready) <= 1.3 * setup.best_median_s
    assert max(out.ready) <= 1.25 * setup.drain_s


def test_the_turn_1_policy_on_the_same_simulation() -> None:
    out = run(SMALL, mode="standard", seed=1)
    assert len(out.ready) == SMALL.replicas
    assert out.attempts > 5 * SMALL.minimum_calls, "each fetch retrying on its own: a 429 storm"
    assert statistics.median(out.ready) > 1.6 * SMALL.best_median_s, "successes spread thin"


def test_one_replica_alone_is_not_slowed() -> None:
    alone = Setup(replicas=1, capacity=200, refill_per_s=10.0, connections=8)
    out = run(alone, latency_s=(0.1, 0.1), service_s=0.0, start_spread_s=0.0)
    assert out.attempts == 8
    assert out.ready == [pytest.approx(0.1)], "all 8 in one round trip"
