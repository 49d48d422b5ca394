"""Lazy access to loggers: the injected fast path must not import ``logging``."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging


def get_logger(name: str) -> logging.Logger:
    """Return ``logging.getLogger(name)``, importing logging on first use."""
    import logging

    return logging.getLogger(name)
