"""One hook on every log record of the process, for the runtime's record processors.

A processor sees each record once it is complete, before any handler or formatter does:

- the log record factory covers the message, its arguments, the exception and the stack,
  whichever logger (or ``logging.makeLogRecord``) creates the record;
- ``Logger.makeRecord`` copies ``extra=`` fields onto the record *after* the factory ran, so
  it is wrapped too, and processors see those fields (``extra_keys``) as well. JSON handlers
  and OpenTelemetry's logging handler print exactly these fields.

A `logging.Filter` on handlers would miss handlers added later (azmlinfsrv adds its own);
these two hooks do not. A ``Logger`` subclass that overrides ``makeRecord`` itself keeps its
``extra=`` fields out of reach.
"""

from __future__ import annotations

import logging
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping
    from typing import Any

    Processor = Callable[[logging.LogRecord, Collection[str]], None]

_processors: list[Processor] = []
_lock = threading.Lock()
_installed = False


def add_processor(processor: Processor) -> None:
    """Run ``processor(record, extra_keys)`` on every record from now on (once per processor)."""
    if _installed and processor in _processors:
        return
    with _lock:
        if processor not in _processors:
            _processors.append(processor)
        if not _installed:
            _install()


def _process(record: logging.LogRecord, extra_keys: Collection[str]) -> None:
    for processor in _processors:
        processor(record, extra_keys)


def _install() -> None:
    global _installed  # noqa: PLW0603 - one pair of hooks per process
    previous_factory = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous_factory(*args, **kwargs)
        _process(record, ())
        return record

    original_make_record = logging.Logger.makeRecord

    def make_record(
        self: logging.Logger,
        name: str,
        level: int,
        fn: str,
        lno: int,
        msg: object,
        args: Any,
        exc_info: Any,
        func: str | None = None,
        extra: Mapping[str, object] | None = None,
        sinfo: str | None = None,
    ) -> logging.LogRecord:
        record = original_make_record(
            self, name, level, fn, lno, msg, args, exc_info, func, extra, sinfo
        )
        if logging.getLogRecordFactory() is not factory:  # replaced since: do its work too
            _process(record, ())
        if extra:
            _process(record, tuple(extra))
        return record

    logging.setLogRecordFactory(factory)
    logging.Logger.makeRecord = make_record  # type: ignore[method-assign]
    _installed = True
