"""The ARM write limiter's rules, one by one, on a fake clock (no threads unless named)."""

from __future__ import annotations

import threading

import pytest

from secretinj_runtime._ratelimit import (
    ANSWER_POLL_S,
    DEFAULT_RETRY_AFTER_S,
    MIN_INTERVAL_S,
    PACE_FACTOR,
    SUCCESS_DECAY,
    THROTTLE_GROWTH,
    Ticket,
    WriteLimiter,
)
from tests.fakes import FakeClock

FAR = 1e9  # a deadline that never binds


def limiter(clock: FakeClock, *, jitter: float = 0.0, rng: float = 0.5) -> WriteLimiter:
    """A limiter on ``clock`` whose random spread is fixed (``rng`` 0.5: none)."""
    return WriteLimiter(clock=clock, sleep=clock.sleep, jitter=jitter, rng=lambda: rng)


def send(lim: WriteLimiter, deadline: float = FAR) -> Ticket:
    """Acquire leave for one attempt (it must be granted)."""
    ticket = lim.acquire(deadline)
    assert ticket is not None
    return ticket


def started(lim: WriteLimiter, fetches: int) -> list[Ticket]:
    """Begin ``fetches`` fetches and send each one's first attempt (a burst)."""
    tickets = []
    for _ in range(fetches):
        lim.begin()
        ticket = send(lim)
        tickets.append(ticket)
    return tickets


def test_unthrottled_writes_all_go_at_once() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    tickets = started(lim, 8)
    assert [t.paced for t in tickets] == [False] * 8
    for ticket in tickets:
        lim.record(ticket, 200, remaining=1199)
    assert not lim.throttled
    assert clock.sleeps == []
    assert lim.delay_s() == 0


def test_retry_after_holds_every_write_of_the_resolver() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    first, _ = started(lim, 2)
    lim.record(first, 429, retry_after_s=7)
    assert lim.throttled
    assert lim.delay_s() == 7.0, "the interval (4 s) is below Retry-After: Retry-After wins"
    send(lim)  # the other fetch's retry, or a new fetch
    assert clock.sleeps == [7.0]


def test_a_burst_of_429s_is_one_round_then_each_round_is_four_times_longer() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    burst = started(lim, 5)
    for ticket in burst:  # the answers to one burst: the rate drops once
        lim.record(ticket, 429, retry_after_s=1)
    assert lim.interval_s == THROTTLE_GROWTH * 1.0
    assert lim.delay_s() == 4.0
    waits = []
    for _ in range(3):
        ticket = send(lim)
        assert ticket.paced
        lim.record(ticket, 429, retry_after_s=1)
        waits.append(lim.delay_s())
    assert waits == [16.0, 64.0, 256.0]
    assert clock.sleeps == [4.0, 16.0, 64.0]


def test_no_wait_is_longer_than_30_percent_of_the_time_left() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    deadline = clock() + 100
    lim.begin()
    waits = []
    for _ in range(4):
        ticket = send(lim, deadline)
        lim.record(ticket, 429, retry_after_s=1)
        waits.append(round(lim.delay_s(), 6))
    # 4 s; then 16 s; then 64 s capped at 0.3 x (100 - 20) = 24 s; then 0.3 x (100 - 44)
    assert waits == [4.0, 16.0, 24.0, 16.8]


def test_a_429_without_retry_after_assumes_one_second() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    (ticket,) = started(lim, 1)
    lim.record(ticket, 429)  # no Retry-After
    assert lim.delay_s() == THROTTLE_GROWTH * DEFAULT_RETRY_AFTER_S
    for _ in range(12):  # successes bring the interval down to its floor...
        ticket = send(lim)
        lim.record(ticket, 200, remaining=0)
    assert lim.interval_s == MIN_INTERVAL_S
    ticket = send(lim)
    lim.record(ticket, 429)  # ...but a 429 without Retry-After still waits at least 1 s
    assert lim.delay_s() == max(DEFAULT_RETRY_AFTER_S, MIN_INTERVAL_S * THROTTLE_GROWTH)


def test_retry_after_beyond_the_policy_cap_is_capped() -> None:
    clock = FakeClock()
    lim = WriteLimiter(clock=clock, sleep=clock.sleep, jitter=0, max_retry_after_s=60)
    (ticket,) = started(lim, 1)
    lim.record(ticket, 429, retry_after_s=3600)
    assert lim.delay_s() == 60.0


def test_successes_shrink_the_interval_and_pace_the_next_write() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    first, _ = started(lim, 2)
    lim.record(first, 429, retry_after_s=1)  # interval 4 s
    ticket = send(lim)
    lim.record(ticket, 200, remaining=0)  # the bucket is empty: pace the next one
    assert lim.interval_s == pytest.approx(4.0 * SUCCESS_DECAY)
    # one fetch succeeded, one is left: the set's share still to fetch is 1/2, squared
    assert lim.delay_s() == pytest.approx(PACE_FACTOR * 4.0 * SUCCESS_DECAY * 0.5**2)


def test_writes_left_let_the_set_finish_in_one_round_trip() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    burst = started(lim, 5)
    lim.record(burst[0], 429, retry_after_s=1)
    ticket = send(lim)
    lim.record(ticket, 200, remaining=10)  # ARM: 10 writes left; 4 fetches to go
    lim.finish()
    credited = [lim.try_acquire(FAR) for _ in range(4)]
    assert all(isinstance(t, Ticket) and t.paced for t in credited)
    assert lim.try_acquire(FAR) == ANSWER_POLL_S, "credits spent: one at a time again"


def test_few_writes_left_pace_the_set_before_any_429() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    for _ in range(4):
        lim.begin()
    first = send(lim)
    assert not first.paced
    lim.record(first, 200, remaining=1)  # 3 more to send, 1 write left in the bucket
    assert lim.throttled
    assert isinstance(lim.try_acquire(FAR), Ticket), "the one write left goes"
    assert lim.try_acquire(FAR) == ANSWER_POLL_S, "the rest wait"


def test_throttled_writes_go_one_at_a_time() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    burst = started(lim, 3)
    lim.record(burst[0], 429, retry_after_s=1)
    clock.now += 10
    ticket = lim.try_acquire(FAR)
    assert isinstance(ticket, Ticket)
    assert ticket.paced
    assert lim.try_acquire(FAR) == ANSWER_POLL_S
    lim.record(ticket, 500)  # any answer frees the slot; a 5xx does not change the rate
    assert lim.interval_s == 4.0
    assert isinstance(lim.try_acquire(FAR), Ticket)


def test_a_replica_close_to_done_comes_back_sooner() -> None:
    clock = FakeClock()
    near, far = limiter(clock), limiter(clock)
    for lim, done in ((near, 4), (far, 0)):
        tickets = started(lim, 5)
        for ticket in tickets[:done]:
            lim.record(ticket, 200, remaining=100)
            lim.finish()
        lim.record(tickets[done], 429, retry_after_s=0.1)
    assert far.delay_s() == pytest.approx(4.0)
    assert near.delay_s() == pytest.approx(4.0 / 25), "one fetch of five left: (1/5) squared"


def test_waits_are_spread_by_half_the_jitter() -> None:
    clock = FakeClock()
    waits = []
    for rng in (0.0, 0.999999):
        lim = limiter(clock, jitter=0.5, rng=rng)
        (ticket,) = started(lim, 1)
        lim.record(ticket, 429, retry_after_s=0.1)
        waits.append(lim.delay_s())
    assert waits == pytest.approx([3.0, 5.0], abs=1e-5)


def test_no_attempt_is_granted_past_the_deadline() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    (ticket,) = started(lim, 1)
    lim.record(ticket, 429, retry_after_s=120)
    assert lim.acquire(clock() + 30) is None
    assert clock.sleeps == [], "nothing is waited for that cannot end before the deadline"


def test_a_new_set_starts_unthrottled_but_retry_after_still_holds() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    (ticket,) = started(lim, 1)
    lim.record(ticket, 429, retry_after_s=5)
    lim.finish()  # the fetch gave up: the set is over
    assert not lim.throttled
    burst = started(lim, 3)
    assert [t.paced for t in burst] == [False] * 3
    assert clock.sleeps == [5.0], "only the first of the new set waited for Retry-After"


def test_a_sleep_that_does_not_move_the_clock_still_ends_the_wait() -> None:
    clock = FakeClock()
    slept: list[float] = []
    lim = WriteLimiter(clock=clock, sleep=slept.append, jitter=0)
    (ticket,) = started(lim, 1)
    lim.record(ticket, 429, retry_after_s=3)
    assert lim.acquire(FAR) is not None
    assert slept == [4.0]


def test_a_waiting_write_is_released_by_the_answer_in_flight() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    burst = started(lim, 2)
    lim.record(burst[0], 429, retry_after_s=1)
    clock.now += 10
    holder = send(lim)
    assert holder.paced
    got: list[Ticket | None] = []
    waiter = threading.Thread(target=lambda: got.append(lim.acquire(FAR)))
    waiter.start()
    waiter.join(0.05)
    assert waiter.is_alive(), "it waits for the answer in flight"
    lim.record(holder, 200, remaining=5)
    waiter.join(5)
    assert not waiter.is_alive()
    assert isinstance(got[0], Ticket)
