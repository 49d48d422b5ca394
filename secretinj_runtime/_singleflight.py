"""Single-flight: concurrent callers asking for the same key share one call."""

from __future__ import annotations

import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Hashable


class _Flight:
    __slots__ = ("done", "error", "result")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: object = None
        self.error: BaseException | None = None


class SingleFlight:
    """Run ``fn`` once per key at a time; callers that arrive meanwhile get its outcome."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[Hashable, _Flight] = {}

    def do(self, key: Hashable, fn: Callable[[], object]) -> object:
        """Return ``fn()``, or the result of the call for ``key`` already in flight."""
        with self._lock:
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if not leader:
            flight.done.wait()
        else:
            try:
                flight.result = fn()
            except BaseException as ex:
                flight.error = ex
            finally:
                with self._lock:
                    del self._flights[key]
                flight.done.set()
        if flight.error is not None:
            raise flight.error
        return flight.result
