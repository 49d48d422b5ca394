"""ARM-like token bucket for subscription writes, driven by an injectable clock."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from secretinj_runtime.mock.clock import Clock

UNTHROTTLED_REMAINING = 11999


@dataclass(frozen=True)
class Decision:
    """Outcome of :meth:`TokenBucket.take`."""

    allowed: bool
    remaining: int
    retry_after_s: int


class TokenBucket:
    """A bucket of ``capacity`` tokens refilled at ``refill_per_s`` tokens per second."""

    def __init__(self, capacity: int, refill_per_s: float, clock: Clock) -> None:
        if capacity < 1 or refill_per_s <= 0:
            raise ValueError("capacity must be >= 1 and refill_per_s > 0")
        self.capacity = capacity
        self.refill_per_s = refill_per_s
        self._clock = clock
        self._tokens = float(capacity)
        self._last = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._last)
        self._tokens = min(float(self.capacity), self._tokens + elapsed * self.refill_per_s)
        self._last = now

    def take(self) -> Decision:
        """Take one token if there is one; otherwise say how long until there is."""
        with self._lock:
            self._refill()
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return Decision(True, math.floor(self._tokens), 0)
            wait = (1.0 - self._tokens) / self.refill_per_s
            return Decision(False, 0, max(1, math.ceil(wait - 1e-9)))

    def remaining(self) -> int:
        """Return the whole tokens available now, without taking one."""
        with self._lock:
            self._refill()
            return math.floor(self._tokens)

    def refill(self) -> None:
        """Fill the bucket to capacity."""
        with self._lock:
            self._tokens = float(self.capacity)
            self._last = self._clock()


class Throttle:
    """The optional write throttle: a bucket, or ``None`` when disabled."""

    def __init__(self, clock: Clock, capacity: int | None, refill_per_s: float = 10.0) -> None:
        self._clock = clock
        self.bucket: TokenBucket | None = None
        self.configure(capacity, refill_per_s)

    def configure(self, capacity: int | None, refill_per_s: float = 10.0) -> None:
        """Replace the bucket (full); ``capacity=None`` disables throttling."""
        self.bucket = None if capacity is None else TokenBucket(capacity, refill_per_s, self._clock)

    def take(self) -> Decision:
        """Count one write; always allowed when disabled."""
        if self.bucket is None:
            return Decision(True, UNTHROTTLED_REMAINING, 0)
        return self.bucket.take()

    def remaining(self) -> int:
        """Return the remaining writes for the rate-limit header."""
        return UNTHROTTLED_REMAINING if self.bucket is None else self.bucket.remaining()

    def describe(self) -> dict[str, object]:
        """Return the settings and the current level as JSON-ready data."""
        if self.bucket is None:
            return {"enabled": False, "capacity": None, "refill_per_s": None, "remaining": None}
        return {
            "enabled": True,
            "capacity": self.bucket.capacity,
            "refill_per_s": self.bucket.refill_per_s,
            "remaining": self.bucket.remaining(),
        }
