"""The deadline of the fetch under way, for code that cannot be handed it as an argument.

The transport sets it around each attempt; the token cache reads it, so that getting a token
counts against the same deadline as the request that needs it.
"""

from __future__ import annotations

import contextvars

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

_deadline: contextvars.ContextVar[tuple[float, Callable[[], float]] | None] = (
    contextvars.ContextVar("secretinj_deadline", default=None)
)


def remaining_s() -> float | None:
    """Return the seconds left before the enclosing `deadline_scope`'s deadline (None outside)."""
    current = _deadline.get()
    if current is None:
        return None
    deadline, clock = current
    return max(0.0, deadline - clock())


class deadline_scope:  # noqa: N801 - used like a function: ``with deadline_scope(t, clock): ...``
    """Bound what runs inside the block by ``deadline`` on ``clock``."""

    __slots__ = ("_clock", "_deadline", "_token")

    def __init__(self, deadline: float, clock: Callable[[], float]) -> None:
        self._deadline = deadline
        self._clock = clock
        self._token: contextvars.Token[tuple[float, Callable[[], float]] | None] | None = None

    def __enter__(self) -> None:
        self._token = _deadline.set((self._deadline, self._clock))

    def __exit__(self, *exc: object) -> None:
        assert self._token is not None
        _deadline.reset(self._token)
