"""Mask resolved secret values in every log record, whichever logger emits it.

Installed on the first value the runtime resolves, through `_loghooks`: every record created
anywhere in the process (the user's own ``logging.info("key %s", key)`` and
``log.info("calling", extra={"api_key": key})`` included) is scrubbed before any handler or
formatter sees it: the message, its arguments, ``extra=`` fields, the exception text and the
stack. Each value is masked in the forms it takes when printed: as it is, JSON-escaped
(``json.dumps``), repr-escaped (``repr``) and URL-encoded.

Finding values costs the same however many are known: each value is indexed by its first
characters (a "gram"), a text is cut into its grams once, and only values whose gram occurs
in it are looked for. A handful of values is simply scanned.
"""

from __future__ import annotations

import json
import logging
import threading
from urllib.parse import quote, quote_plus

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection, Iterable

MASK = "***"
#: Values shorter than this are not masked: masking "1" or "ab" everywhere would wreck logs.
MIN_SECRET_LENGTH = 4
#: Values are indexed by their first ``min(len, GRAM)`` characters.
GRAM = 8
#: Up to this many forms, looking for each one is faster than the index (measured).
_SCAN_LIMIT = 64


def printed_forms(value: str) -> set[str]:
    """Return ``value`` and the forms it takes in JSON, a ``repr`` and a URL (long enough)."""
    forms = {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        repr(value)[1:-1],
        quote(value, safe=""),
        quote_plus(value, safe=""),
    }
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


class SecretRedactor:
    """A set of secret values and the code that scrubs them out of text and log records."""

    def __init__(self, *, hook: bool = True) -> None:
        self._hook = hook  # False: a redactor for text only, never installed on records
        self._values = 0
        self._forms: set[str] = set()
        self._by_gram: dict[str, list[str]] = {}
        self._gram_lengths: frozenset[int] = frozenset()
        self._lock = threading.Lock()

    def add(self, values: Iterable[str]) -> None:
        """Mask these values from now on (short values are ignored); install on first use."""
        new = [v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH]
        if not new:
            return
        with self._lock:
            for value in new:
                forms = printed_forms(value) - self._forms
                if value in forms:
                    self._values += 1
                for form in forms:
                    gram = form[:GRAM]
                    bucket = self._by_gram.get(gram)
                    # Longest first, so that a value containing another is masked whole.
                    self._by_gram[gram] = sorted([*(bucket or ()), form], key=len, reverse=True)
                self._forms |= forms
            self._gram_lengths = frozenset(len(g) for g in self._by_gram)
        if self._hook:
            from ._loghooks import add_processor

            add_processor(self.scrub)

    def __len__(self) -> int:
        """How many distinct values are masked (not counting their printed forms)."""
        return self._values

    def __repr__(self) -> str:
        return f"SecretRedactor({self._values} values, {len(self._forms)} forms)"

    def _candidates(self, text: str) -> list[str]:
        """Return the known forms that may occur in ``text``, longest first."""
        if len(self._forms) <= _SCAN_LIMIT:
            return sorted((f for f in self._forms if f in text), key=len, reverse=True)
        by_gram = self._by_gram
        found: list[str] = []
        for size in self._gram_lengths:
            grams = {text[i : i + size] for i in range(len(text) - size + 1)}
            for gram in grams & by_gram.keys():
                found += (f for f in by_gram[gram] if f in text)
        return sorted(found, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """Return ``text`` with every known secret (in every printed form) replaced by ``***``."""
        masked = self._masked(text)
        return text if masked is None else masked

    def contains_secret(self, text: str) -> bool:
        """Tell whether ``text`` holds any known secret, in any printed form."""
        return bool(self._forms) and bool(self._candidates(text))

    def _masked(self, text: str) -> str | None:
        """Return ``text`` masked, or None when it holds no secret (one search either way)."""
        if not self._forms:
            return None
        found = self._candidates(text)
        if not found:
            return None
        for form in found:
            text = text.replace(form, MASK)
        return text

    def scrub(self, record: logging.LogRecord, extra_keys: Collection[str] = ()) -> None:
        """Rewrite ``record`` in place so that no known secret remains in it.

        With ``extra_keys`` (called after ``extra=`` was applied), only those fields.
        """
        if not self._forms:
            return
        if extra_keys:
            for key in extra_keys:
                self._scrub_field(record, key)
            return
        try:
            message = record.getMessage()
        except Exception:  # a bad format string is logging's to report
            message = str(record.msg)
        masked = self._masked(message)
        if masked is not None:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and (masked := self._masked(record.exc_text)) is not None:
            record.exc_text, record.exc_info = masked, None
        if record.stack_info and (masked := self._masked(record.stack_info)) is not None:
            record.stack_info = masked

    def _scrub_field(self, record: logging.LogRecord, key: str) -> None:
        value = record.__dict__.get(key)
        if isinstance(value, str):
            if (masked := self._masked(value)) is not None:
                record.__dict__[key] = masked
            return
        if value is None or isinstance(value, (int, float, bool)):
            return
        try:
            text = repr(value)
        except Exception:  # an object whose repr fails: not ours to fix, but never leak it
            record.__dict__[key] = f"<{type(value).__name__}>"
            return
        if self.contains_secret(text) or self.contains_secret(str(value)):
            record.__dict__[key] = self.redact(text)

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()


_REDACTOR: SecretRedactor | None = None
_REDACTOR_LOCK = threading.Lock()


def global_redactor() -> SecretRedactor:
    """Return the process-wide redactor (created on first call, installed on first value)."""
    global _REDACTOR  # noqa: PLW0603 - one redactor per process
    with _REDACTOR_LOCK:
        if _REDACTOR is None:
            from ._forksafe import register, register_callback

            _REDACTOR = SecretRedactor()
            register(_REDACTOR)
            register_callback(_after_fork_in_child)
        return _REDACTOR


def _after_fork_in_child() -> None:
    global _REDACTOR_LOCK  # noqa: PLW0603 - held by a parent thread, it would never be released
    _REDACTOR_LOCK = threading.Lock()


def mask_secrets(values: Iterable[str]) -> None:
    """Mask these values in every log record from now on (e.g. values injected by hand)."""
    global_redactor().add(values)
