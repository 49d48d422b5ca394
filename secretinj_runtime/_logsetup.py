"""`configure_logging`: the runtime's log lines visible under azmlinfsrv, in one call.

azmlinfsrv configures handlers for its own loggers only. The root logger keeps WARNING and
at most the bare handler that a ``logging.debug()`` call at azmlinfsrv's start-up installs
(``logging.basicConfig``'s default): a ``score.py``'s INFO lines and the runtime's (the
resolution summary, the "waiting for access" progress) print nothing, and WARNINGs come out
as ``WARNING:name:message``. This adds one stderr handler, in azmlinfsrv's own format, to
the ``secretinj_runtime`` logger (and to any other loggers named), which then no longer
propagate to that bare root handler (no line twice). Every other handler is left alone.
Where the application configured the root logger itself (any other handler there), it only
sets the levels: the records reach the application's handlers as they are.
"""

from __future__ import annotations

import logging
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

#: azmlinfsrv's format (its logging.json), so that both kinds of lines read alike.
FORMAT = "%(asctime)s %(levelname).1s [%(process)d] %(name)s - %(message)s"
_MARK = "_secretinj_handler"


def configure_logging(
    *loggers: str, level: int | str | None = None, stream: TextIO | None = None
) -> None:
    """Show the runtime's records (and those of ``loggers``) at ``level``; idempotent.

    ``level`` defaults to ``AZUREML_LOG_LEVEL`` (azmlinfsrv's own setting), else INFO.
    Example, first thing in ``init()``: ``sir.configure_logging("score")``.
    """
    if level is None:
        import os

        named = os.environ.get("AZUREML_LOG_LEVEL", "").strip().upper()
        level = named if named in logging.getLevelNamesMapping() else logging.INFO
    configured = _configured(logging.getLogger())
    for name in ("secretinj_runtime", *loggers):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if configured or any(getattr(h, _MARK, False) for h in logger.handlers):
            continue
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        setattr(handler, _MARK, True)
        logger.addHandler(handler)
        logger.propagate = False


def _configured(root: logging.Logger) -> bool:
    """Tell whether the root logger has a handler other than ``basicConfig``'s bare default."""
    for handler in root.handlers:
        fmt = getattr(handler.formatter, "_fmt", None)
        if type(handler) is not logging.StreamHandler or fmt != logging.BASIC_FORMAT:
            return True
    return False
