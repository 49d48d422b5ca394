"""A discrete-event stampede: replicas with the real `WriteLimiter` against ARM's token bucket.

Deterministic (seeded, simulated time): every replica starts within ``start_spread_s``, fires
all its fetches, and each fetch follows what the transport does with a limiter (`try_acquire`
before each attempt, `record` with each answer, give up when the limiter's next slot is past
the deadline). The server takes requests one at a time (``service_s`` each) and answers like
the mock: 429 with ``Retry-After`` (whole seconds, at least 1) once the bucket is empty, and
``x-ms-ratelimit-remaining-subscription-writes`` on every answer. ``standard`` replays the
turn-1 policy instead: each fetch retries on its own after ``Retry-After`` plus up to 50 %.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from dataclasses import dataclass, field
from typing import Any

from bench.stampede.params import Setup
from secretinj_runtime._ratelimit import Ticket, WriteLimiter


@dataclass
class Outcome:
    """When each replica was ready (NaN: never) and how many attempts the server saw."""

    ready_s: list[float]
    attempts: int

    @property
    def ready(self) -> list[float]:
        """Times to ready of the replicas that became ready."""
        return [t for t in self.ready_s if not math.isnan(t)]


class _Bucket:
    def __init__(self, capacity: int, refill_per_s: float) -> None:
        self.capacity, self.refill = capacity, refill_per_s
        self.tokens, self.last = float(capacity), 0.0

    def take(self, now: float) -> tuple[int, int, int]:
        """Return (status, Retry-After, remaining writes)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.refill)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 200, 0, math.floor(self.tokens)
        return 429, max(1, math.ceil((1 - self.tokens) / self.refill - 1e-9)), 0


@dataclass(order=True)
class _Event:
    when: float
    order: int
    replica: int = field(compare=False)
    deadline: float = field(compare=False)
    answer: tuple[Ticket, int, int, int] | None = field(compare=False, default=None)


def run(
    setup: Setup,
    *,
    mode: str = "adaptive",
    seed: int = 0,
    deadline_s: float = 30.0,
    service_s: float = 0.004,
    latency_s: tuple[float, float] = (0.002, 0.02),
    start_spread_s: float = 1.0,
) -> Outcome:
    """Run one stampede; return each replica's time to ready and the attempts."""
    rng = random.Random(seed)  # noqa: S311 - a seeded simulation, not a secret
    bucket = _Bucket(setup.capacity, setup.refill_per_s)
    adaptive = mode == "adaptive"
    now = 0.0
    events: list[_Event] = []

    def at(when: float, replica: int, deadline: float, answer: Any = None) -> None:
        heapq.heappush(events, _Event(when, len(events) + next(counter), replica, deadline, answer))

    counter = itertools.count()
    seeds = [rng.random() for _ in range(setup.replicas)]
    limiters = [
        WriteLimiter(clock=lambda: now, sleep=_no_sleep, rng=random.Random(s).random)  # noqa: S311
        for s in seeds
    ]
    left = [setup.connections] * setup.replicas
    ready = [math.nan] * setup.replicas
    server_free, attempts = 0.0, 0
    for replica in range(setup.replicas):
        start = rng.uniform(0, start_spread_s)
        for _ in range(setup.connections):
            if adaptive:
                limiters[replica].begin()
            at(start, replica, start + deadline_s)
    while events:
        event = heapq.heappop(events)
        now, replica, deadline = event.when, event.replica, event.deadline
        limiter = limiters[replica]
        if event.answer is None:  # an attempt is due
            step = limiter.try_acquire(deadline) if adaptive else Ticket(0, deadline, paced=False)
            if step is None:
                limiter.finish()
            elif not isinstance(step, Ticket):
                at(now + step, replica, deadline)
            else:
                attempts += 1
                server_free = max(now + rng.uniform(*latency_s) / 2, server_free) + service_s
                status, retry_after, remaining = bucket.take(server_free)
                answer_at = server_free + rng.uniform(*latency_s) / 2
                at(answer_at, replica, deadline, (step, status, retry_after, remaining))
            continue
        ticket, status, retry_after, remaining = event.answer
        if adaptive:
            limiter.record(ticket, status, retry_after_s=retry_after or None, remaining=remaining)
        if status == 200:
            if adaptive:
                limiter.finish()
            left[replica] -= 1
            if left[replica] == 0:
                ready[replica] = now
        elif adaptive:  # the transport's stop: no slot before the deadline
            if now + limiter.delay_s() > deadline:
                limiter.finish()
            else:
                at(now, replica, deadline)
        else:  # turn 1: Retry-After plus up to half of it, each fetch on its own
            wait = retry_after * (1 + rng.uniform(0, 0.5))
            if now + wait <= deadline:
                at(now + wait, replica, deadline)
    return Outcome(ready, attempts)


def _no_sleep(seconds: float) -> None:
    raise AssertionError("the simulation schedules its own waits")
