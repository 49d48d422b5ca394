"""SIGTERM and SIGINT before ``secretinj`` execs or reports: one line, and exit at once.

As a container's first process (``ENTRYPOINT ["secretinj", "run", "--"]``) the command is
PID 1, and the kernel drops every signal PID 1 has no handler for: without one, ``docker
stop`` waits out its grace period and the command may even start after the SIGTERM.
Resolution runs worker threads that the interpreter would join on exit, and a fetch may be
in a role-propagation wait: the handler ends the process with `os._exit` (143 for SIGTERM,
130 for SIGINT) instead. Nothing is left to clean up: resolved values live in memory only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType
    from typing import Any, TextIO

#: The signals handled while resolving, and the exit code of each (128 + its number).
SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextlib.contextmanager
def exit_on_signals(stderr: TextIO, outcome: str) -> Iterator[None]:
    """While in the block, SIGTERM and SIGINT print one line and end the process at once.

    The line is ``secretinj: <SIG> received; <outcome>``. Signals that were ignored when the
    block was entered (``nohup``, a background job) stay ignored. On leaving the block the
    previous handlers are back, so that ``exec`` hands the command the dispositions
    ``secretinj`` itself was given. Outside the main thread (where Python cannot set
    handlers) the block changes nothing.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        del frame
        name = signal.Signals(signum).name
        with contextlib.suppress(OSError, ValueError, RuntimeError):  # closed, broken, reentrant
            stderr.write(f"secretinj: {name} received; {outcome}\n")
            stderr.flush()
        os._exit(128 + signum)

    previous: dict[signal.Signals, Any] = {}
    for sig in SIGNALS if threading.current_thread() is threading.main_thread() else ():
        current = signal.getsignal(sig)
        if current is signal.SIG_IGN:
            continue
        previous[sig] = current
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, signal.SIG_DFL if old is None else old)  # None: not set by Python
