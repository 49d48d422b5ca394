"""An adaptive client-side rate for ARM writes: one replica's share of the subscription bucket.

ListSecrets is an ARM POST, and every call, the ones ARM refuses with 429 included, is taken
from the subscription's shared *write* bucket (200, refilled 10 per second). When many replicas
start at once and every fetch retries on its own schedule, each replica fires all its fetches,
all of them come back after ``Retry-After``, and a replica's successes spread thinly over time:
many 429s, and most replicas ready late. `WriteLimiter` is the client-side rate of one resolver
(one replica), in the spirit of the AWS SDKs' adaptive retry mode (a client token bucket whose
rate drops on throttling and grows back on success), fitted to what a replica can see: its own
answers, ``Retry-After`` and ``x-ms-ratelimit-remaining-subscription-writes``. Its state
belongs to one resolver; nothing is shared between resolvers or processes.

The rules (numbers are the module constants):

- **Unthrottled, nothing changes.** Until ARM throttles this resolver, or says that fewer
  writes remain than this resolver still has to send, every request goes at once: a replica
  alone is never slowed (`acquire` takes a lock and reads a few fields).
- **Throttled, one write at a time.** After a 429 the resolver's fetches no longer retry each
  on its own: they queue here and go one at a time, so the replica finishes its set one fetch
  after another instead of scattering attempts.
- **Retry-After is a floor** for every write of the resolver, not only for the refused one
  (capped by the policy's ``max_retry_after_s``). **Without Retry-After** the client assumes
  `DEFAULT_RETRY_AFTER_S` (1 s, the smallest delay ARM expresses) and its own interval does
  the rest: 4 times longer per throttled round from there, as below.
- **The interval** (the inverse of the rate) grows by `THROTTLE_GROWTH` per throttled round
  (a 429 for a request sent after the previous growth: the answers to one burst count once)
  and shrinks by `SUCCESS_DECAY` per success, down to `MIN_INTERVAL_S`. It never exceeds
  `DEADLINE_SHARE` of the time left before the request's deadline: a replica keeps a few
  chances before it gives up, and the last replicas are not asleep when the bucket frees up.
  (TCP CUBIC regrows its rate with time; here it regrows with successes, because a replica
  that waits has learnt nothing new about the bucket.)
- **Winners first.** Every wait is scaled by the square of the share of the set still to
  fetch, ``(pending / (pending + done)) ** 2``: a replica with one fetch of five left comes
  back 25 times sooner than one that has not started, so replicas become ready one after
  another, close to the bucket's best order, instead of all advancing at the same share and
  finishing together near the end.
- **After a success** that says writes are left, up to that many requests go at once (the
  replica can finish its set in one round trip); after one that says none are left (or says
  nothing), the next write waits `PACE_FACTOR` * interval * share.
- Every wait is spread by ±``jitter / 2`` (the policy's ``retry_after_jitter``: 50 % → ±25 %).
- A set ends when the resolver has no ARM fetch left; the next one starts unthrottled, still
  honouring a Retry-After it was given.

**The deadline sets the patience.** The longest sleep is `DEADLINE_SHARE` of the time left,
so a scale-out whose ARM drain time is D seconds (replicas x connections, less the bucket's
200, over 10 per second) wants a `RetryPolicy` deadline of about 1.5 D: the default 30 s
suits a drain of up to 20 s (about 400 ListSecrets at once); 200 replicas x 5 connections
(80 s) want 120 s. A deadline far longer than that lets the last replicas sleep longer than
they need to.

The factors were chosen on a simulation of replicas against ARM's token bucket (kept as a test,
``tests/unit/stampede_sim.py``) and checked with ``bench/stampede.py`` (100 replicas x 5
connections at 50 + 25/s, 200 x 5 at 200 + 10/s).
"""

from __future__ import annotations

import math
import random
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

#: Assumed when a 429 carries no Retry-After: the smallest delay ARM expresses.
DEFAULT_RETRY_AFTER_S = 1.0
#: The interval after the first throttled round is Retry-After, or this times 4.
FIRST_INTERVAL_S = 1.0
THROTTLE_GROWTH = 4.0
SUCCESS_DECAY = 0.7
MIN_INTERVAL_S = 0.2
#: After a success that left no writes: wait this share of the interval (times the set's share).
PACE_FACTOR = 0.3
#: No wait longer than this share of the time left before the deadline.
DEADLINE_SHARE = 0.3
#: How long (real seconds) a paced write waits for the answer in flight before looking again.
_FLIGHT_POLL_S = 1.0
#: What `WriteLimiter.try_acquire` asks to wait while another paced write is in flight.
ANSWER_POLL_S = 0.01
#: `WriteLimiter._step`'s "wait for the answer in flight" (a float no clock produces).
_ANSWER = -1.0


class Ticket:
    """Leave to send one write: its number, its deadline, and whether it holds the pace slot."""

    __slots__ = ("deadline", "paced", "serial")

    def __init__(self, serial: int, deadline: float, paced: bool) -> None:
        self.serial = serial
        self.deadline = deadline
        self.paced = paced

    def __repr__(self) -> str:
        return f"Ticket(serial={self.serial}, paced={self.paced})"


class WriteLimiter:
    """One resolver's rate for ARM writes (see the module docstring).

    The transport calls `begin` and `finish` around a fetch, `acquire` before each attempt and
    `record` with each attempt's answer. ``clock`` and ``sleep`` are the resolver's (tests pass
    fakes); ``rng`` returns floats in [0, 1).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        jitter: float = 0.5,
        max_retry_after_s: float = 60.0,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._clock, self._sleep, self._rng = clock, sleep, rng
        self.jitter = min(max(jitter, 0.0), 1.0)
        self.max_retry_after_s = max_retry_after_s
        self._cond = threading.Condition(threading.Lock())
        self._hold_until = -math.inf  # no write before this (Retry-After, pacing)
        self._version = 0  # moves whenever the hold moves
        self._issued = 0  # tickets handed out (their serial numbers)
        self._reset_set()

    def _reset_set(self) -> None:
        self._throttled = False
        self._interval = FIRST_INTERVAL_S
        self._credit = 0  # writes that may go at once (the remaining-writes header)
        self._in_flight = 0  # paced writes in flight (at most one, plus credited ones)
        self._fetches = 0  # fetches of the set not finished
        self._done = 0  # fetches of the set that succeeded
        self._cut = -1  # the last ticket issued when the interval last grew

    # -- what the transport calls ------------------------------------------------------------

    @property
    def throttled(self) -> bool:
        """Whether the current set is paced."""
        return self._throttled

    @property
    def interval_s(self) -> float:
        """The current interval between paced writes (before the set's share and jitter)."""
        return self._interval

    def begin(self) -> None:
        """Count a fetch of the set in (its attempts follow)."""
        with self._cond:
            self._fetches += 1

    def finish(self) -> None:
        """Count a fetch out (success or final failure); the last one ends the set."""
        with self._cond:
            self._fetches -= 1
            if self._fetches <= 0:
                self._reset_set()
            self._cond.notify_all()

    def delay_s(self) -> float:
        """Seconds before this resolver may write again (0: now)."""
        return max(0.0, self._hold_until - self._clock())

    def acquire(self, deadline: float) -> Ticket | None:
        """Wait until a write may go; return its ticket, or None if none fits before ``deadline``.

        Sleeps with the injected ``sleep`` (once per move of the hold: a fake sleep that does
        not move the clock still ends the wait) and, when the set is paced, waits for the
        answer in flight.
        """
        slept_for = -1
        with self._cond:
            while True:
                now = self._clock()
                step = self._step(now, deadline, slept=slept_for == self._version)
                if step is None or isinstance(step, Ticket):
                    return step
                if step == _ANSWER:
                    self._cond.wait(min(deadline - now, _FLIGHT_POLL_S))
                    continue
                slept_for = self._version
                self._cond.release()
                try:
                    self._sleep(step)
                finally:
                    self._cond.acquire()

    def try_acquire(self, deadline: float) -> Ticket | float | None:
        """Like `acquire` without waiting: a ticket, seconds to wait before asking again, or None.

        While another paced write is in flight the answer is a short poll interval. (For
        callers that schedule their own waits, such as a simulation on a fake clock.)
        """
        with self._cond:
            step = self._step(self._clock(), deadline, slept=False)
            return ANSWER_POLL_S if step == _ANSWER else step

    def _step(self, now: float, deadline: float, *, slept: bool) -> Ticket | float | None:
        """Decide under the lock: a ticket, seconds to sleep, `_ANSWER` (wait for it) or None."""
        if self._throttled and self._credit > 0:
            self._credit -= 1
            return self._ticket(deadline, paced=True)
        if now < self._hold_until and not slept:
            return None if self._hold_until > deadline else self._hold_until - now
        if not self._throttled:
            return self._ticket(deadline, paced=False)
        if self._in_flight == 0:
            return self._ticket(deadline, paced=True)
        return None if now >= deadline else _ANSWER

    def _ticket(self, deadline: float, *, paced: bool) -> Ticket:
        self._issued += 1
        self._in_flight += paced
        return Ticket(self._issued, deadline, paced)

    def record(
        self,
        ticket: Ticket,
        status: int | None,
        *,
        retry_after_s: float | None = None,
        remaining: int | None = None,
    ) -> None:
        """Learn from one attempt's answer (``status`` None: no answer, e.g. a timeout)."""
        with self._cond:
            if ticket.paced:
                self._in_flight = max(0, self._in_flight - 1)
            now = self._clock()
            if status == 429:
                self._on_throttled(ticket, now, retry_after_s)
            elif status is not None and 200 <= status < 300:
                self._on_success(now, remaining)
            self._cond.notify_all()

    # -- the rules ---------------------------------------------------------------------------

    def _on_throttled(self, ticket: Ticket, now: float, retry_after_s: float | None) -> None:
        asked = DEFAULT_RETRY_AFTER_S if retry_after_s is None else retry_after_s
        floor = min(max(asked, 0.0), self.max_retry_after_s)
        self._throttled = True
        self._credit = 0
        wait = floor
        if ticket.serial > self._cut:  # sent after the last drop: a new round, the rate drops
            self._cut = self._issued
            cap = max(floor, DEADLINE_SHARE * (ticket.deadline - now))
            self._interval = min(max(floor, self._interval * THROTTLE_GROWTH), cap)
            wait = max(floor, self._interval * self._share(finishing=0) * self._spread())
        self._hold(now + wait)

    def _on_success(self, now: float, remaining: int | None) -> None:
        self._done += 1
        others = max(0, self._fetches - 1)  # fetches of the set besides the one succeeding
        if not self._throttled:
            if remaining is not None and remaining < others:  # the bucket is nearly empty
                self._throttled, self._credit = True, remaining
            return
        self._interval = max(MIN_INTERVAL_S, self._interval * SUCCESS_DECAY)
        if remaining:
            self._credit = min(remaining, others)
        else:
            pace = PACE_FACTOR * self._interval * self._share(finishing=1)
            self._hold(now + pace * self._spread())

    def _share(self, *, finishing: int) -> float:
        """Return the square of the share of the set still to fetch (1 before it starts)."""
        pending = max(0, self._fetches - finishing)
        total = pending + self._done
        return (pending / total) ** 2 if total else 1.0

    def _spread(self) -> float:
        return 1.0 + self.jitter * (self._rng() - 0.5)

    def _hold(self, until: float) -> None:
        if until > self._hold_until:
            self._hold_until = until
            self._version += 1

    def __repr__(self) -> str:
        return (
            f"WriteLimiter(throttled={self._throttled}, interval_s={self._interval:.2f}, "
            f"fetches={self._fetches}, done={self._done}, delay_s={self.delay_s():.2f})"
        )
