"""Single-flight: concurrent callers asking for the same key share one call.

Followers wait for the leader's outcome for a bounded time: a leader that never finishes
(e.g. its thread does not exist in a forked child) cannot hang anybody for good.
"""

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

    def do(
        self,
        key: Hashable,
        fn: Callable[[], object],
        *,
        timeout_s: float | None = None,
        on_timeout: Callable[[], BaseException] | None = None,
    ) -> object:
        """Return ``fn()``, or the result of the call for ``key`` already in flight.

        A follower waits at most ``timeout_s`` and then raises ``on_timeout()`` (default
        `TimeoutError`); the leader's own call is bounded by ``fn``.
        """
        with self._lock:
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if not leader:
            if not flight.done.wait(timeout_s):
                raise on_timeout() if on_timeout is not None else TimeoutError(str(key))
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

    def __len__(self) -> int:
        return len(self._flights)
