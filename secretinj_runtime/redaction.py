"""Mask resolved secret values in every log record, whichever logger emits it.

Installed once, on the first value the runtime resolves, as a wrapper around the logging
record factory: every record created anywhere in the process (the user's own
``logging.info("key %s", key)`` included) is checked when it is created, before any handler
or formatter sees it. A handler-level `logging.Filter` would miss records of handlers added
later; the record factory does not.
"""

from __future__ import annotations

import logging
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

MASK = "***"
#: Values shorter than this are not masked: masking "1" or "ab" everywhere would wreck logs.
MIN_SECRET_LENGTH = 4


class SecretRedactor:
    """A set of secret values and the code that scrubs them out of log records."""

    def __init__(self) -> None:
        self._secrets: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        self._installed = False
        self._previous: Callable[..., logging.LogRecord] | None = None

    def add(self, values: Iterable[str]) -> None:
        """Mask these values from now on (short values are ignored); install on first use."""
        new = {v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH}
        if not new:
            return
        with self._lock:
            self._secrets = self._secrets | new
            if not self._installed:
                self._install()

    def __len__(self) -> int:
        return len(self._secrets)

    def __repr__(self) -> str:
        return f"SecretRedactor({len(self._secrets)} values, installed={self._installed})"

    def redact(self, text: str) -> str:
        """Return ``text`` with every known secret replaced by ``***``."""
        # Longest first, so a secret that contains another is masked whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def contains_secret(self, text: str) -> bool:
        """Tell whether ``text`` holds any known secret."""
        return any(secret in text for secret in self._secrets)

    def scrub(self, record: logging.LogRecord) -> None:
        """Rewrite ``record`` in place so that no known secret remains in it."""
        if not self._secrets:
            return
        try:
            message = record.getMessage()
        except Exception:  # a bad format string is logging's to report
            message = str(record.msg)
        if self.contains_secret(message):
            record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self.contains_secret(record.exc_text):
            record.exc_text = self.redact(record.exc_text)
            record.exc_info = None
        if record.stack_info and self.contains_secret(record.stack_info):
            record.stack_info = self.redact(record.stack_info)

    def _install(self) -> None:
        previous = logging.getLogRecordFactory()
        self._previous = previous

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            self.scrub(record)
            return record

        logging.setLogRecordFactory(factory)
        self._installed = True


_REDACTOR: SecretRedactor | None = None
_REDACTOR_LOCK = threading.Lock()


def global_redactor() -> SecretRedactor:
    """Return the process-wide redactor (created, not installed, on first call)."""
    global _REDACTOR  # noqa: PLW0603 - one record factory per process
    with _REDACTOR_LOCK:
        if _REDACTOR is None:
            _REDACTOR = SecretRedactor()
        return _REDACTOR


def mask_secrets(values: Iterable[str]) -> None:
    """Mask these values in every log record from now on (e.g. values injected by hand)."""
    global_redactor().add(values)
