"""Logging as azmlinfsrv leaves it, for tests of configure_logging; restored afterwards."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

NAMES = ("secretinj_runtime", "score")


@contextmanager
def restored_loggers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Put the runtime's and the score's loggers back as they were; no AZUREML_LOG_LEVEL."""
    saved = {n: (list(logging.getLogger(n).handlers), logging.getLogger(n).level) for n in NAMES}
    monkeypatch.delenv("AZUREML_LOG_LEVEL", raising=False)
    try:
        yield
    finally:
        for name, (handlers, level) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = True


def no_root_handlers(monkeypatch: pytest.MonkeyPatch) -> None:
    """As azmlinfsrv leaves it: no handler on the root logger (pytest adds one per phase)."""
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
