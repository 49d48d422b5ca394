"""Clocks: the mock reads time through an injectable ``Callable[[], float]``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

Clock = Callable[[], float]


class ManualClock:
    """A clock that moves only when told to, for deterministic tests.

    It starts at the real current epoch time by default so that token expiry times
    still look sane to real clients such as azure-identity.
    """

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        """Return the current (manual) time in epoch seconds."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` and return the new time."""
        if seconds < 0:
            raise ValueError("a clock only moves forward")
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, now: float) -> None:
        """Set the clock to ``now`` (epoch seconds)."""
        with self._lock:
            self._now = now


class OffsetClock:
    """Wrap a base clock and add an offset that the control API can shift."""

    def __init__(self, base: Clock | None = None) -> None:
        self._base: Clock = base if base is not None else time.time
        self.offset = 0.0

    def __call__(self) -> float:
        """Return the base time plus the offset."""
        return self._base() + self.offset

    def advance(self, seconds: float) -> float:
        """Shift the clock forward by ``seconds`` and return the new time."""
        if seconds < 0:
            raise ValueError("a clock only moves forward")
        self.offset += seconds
        return self()
