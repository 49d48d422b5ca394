"""Reset what a fork copies: locks, pooled sockets, in-flight tables and threads.

gunicorn with ``--preload`` (azmlinfsrv's ``WORKER_PRELOAD=true``) runs ``init()`` once in the
master and forks the workers from it. A forked child inherits the parent's memory but only
the thread that called ``fork()``: a pooled keep-alive socket shared with the parent and its
siblings (answers read by the wrong process), locks held by threads that do not exist in the
child, single-flight entries whose leader never finishes, a background refresher that is
gone. As the standard library does for ``logging`` and ``random``, every object that owns
such state registers here and is reset in the child by ``os.register_at_fork``.

What a fork must keep is kept: cached values and the bookkeeping of written variables (one
fetch for all workers is the point of preloading).
"""

from __future__ import annotations

import os
import threading
import weakref

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Protocol

    class ForkAware(Protocol):
        """An object with state to reset in a forked child."""

        def _after_fork_in_child(self) -> None: ...


_objects: weakref.WeakSet[ForkAware] = weakref.WeakSet()
_callbacks: list[Callable[[], None]] = []
_lock = threading.Lock()
_installed = False


def register(obj: ForkAware) -> None:
    """Call ``obj._after_fork_in_child()`` in every child forked from now on (while it lives)."""
    with _lock:
        _objects.add(obj)
        _install()


def register_callback(callback: Callable[[], None]) -> None:
    """Call ``callback()`` in every child forked from now on (module-level state)."""
    with _lock:
        if callback not in _callbacks:
            _callbacks.append(callback)
        _install()


def _install() -> None:
    global _installed  # noqa: PLW0603 - one at-fork hook per process
    if not _installed and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)
        _installed = True


def _after_fork_in_child() -> None:
    global _lock  # noqa: PLW0603 - a lock held by a parent thread is useless in the child
    _lock = threading.Lock()
    for callback in [*_callbacks, *(obj._after_fork_in_child for obj in list(_objects))]:
        try:
            callback()
        except Exception:  # never break the child's start-up; say what happened
            from ._log import get_logger

            get_logger(__name__).exception("resetting %r after fork failed", callback)
