"""The resolver's cache: freshness (TTL), stale-if-error and revocation.

A fetched payload (a ListSecrets response or a Key Vault value) is fresh for ``ttl_s``. When a
refresh of a stale payload fails:

- transiently (5xx, throttling, timeouts, identity hiccups), the last good payload is served
  for up to ``max_stale_s`` after it was fetched, with a warning, and the refresh is tried
  again after ``retry_stale_s``;
- with 403/404, the last good payload is served for ``revocation_grace_s`` after the first
  denial (role propagation, brief glitches); after that the access is taken as revoked: the
  payload is dropped and the error raised.
"""

from __future__ import annotations

import threading

from ._log import get_logger
from .errors import (
    AccessDeniedError,
    IdentityUnavailableError,
    NotFoundError,
    SecretInjectionError,
    ServiceError,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .references import Reference

    Payload = dict[str, Any] | str
    Key = tuple[str, ...]


class CacheEntry:
    """One fetched payload and its timing. Its ``repr`` shows no payload."""

    __slots__ = ("denied_since", "fetched_at", "fresh_until", "payload", "ref")

    def __init__(self, ref: Reference, payload: Payload, fetched_at: float, fresh_until: float):
        self.ref = ref
        self.payload = payload
        self.fetched_at = fetched_at
        self.fresh_until = fresh_until
        self.denied_since: float | None = None

    def __repr__(self) -> str:
        return f"CacheEntry({self.ref!r}, fetched_at={self.fetched_at:.1f})"


class SecretCache:
    """Thread-safe map from a fetch's group key to its `CacheEntry`."""

    def __init__(
        self,
        *,
        ttl_s: float,
        max_stale_s: float,
        revocation_grace_s: float,
        clock: Callable[[], float],
        retry_stale_s: float = 30.0,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_stale_s = max_stale_s
        self.revocation_grace_s = revocation_grace_s
        self.retry_stale_s = retry_stale_s
        self._clock = clock
        self._entries: dict[Key, CacheEntry] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def fresh(self, key: Key) -> Payload | None:
        """Return the payload if it is fresh, else None."""
        entry = self._entries.get(key)
        if entry is not None and self._clock() < entry.fresh_until:
            return entry.payload
        return None

    def store(self, ref: Reference, payload: Payload) -> Payload | None:
        """Keep a newly fetched payload; return the one it replaces (None if none)."""
        now = self._clock()
        with self._lock:
            previous = self._entries.get(ref.group_key)
            self._entries[ref.group_key] = CacheEntry(ref, payload, now, now + self.ttl_s)
        return previous.payload if previous is not None else None

    def stale_or_raise(self, key: Key, error: SecretInjectionError) -> Payload:
        """Decide what a failed refresh of ``key`` yields: the last good payload, or ``error``."""
        now = self._clock()
        log = get_logger(__name__)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                raise error
            if isinstance(error, (AccessDeniedError, NotFoundError)):
                if entry.denied_since is None:
                    entry.denied_since = now
                if now - entry.denied_since >= self.revocation_grace_s:
                    del self._entries[key]
                    log.warning(
                        "%s: still refused after %.0f s; treating it as revoked (%s)",
                        entry.ref,
                        now - entry.denied_since,
                        error.status,
                    )
                    raise error
            elif (
                not isinstance(error, (ServiceError, IdentityUnavailableError))
                or now - entry.fetched_at > self.max_stale_s
            ):
                raise error
            entry.fresh_until = now + min(self.retry_stale_s, self.ttl_s)
        log.warning(
            "%s: refresh failed (%s: %s); serving the value fetched %.0f s ago",
            entry.ref,
            error.status,
            error.message,
            now - entry.fetched_at,
        )
        return entry.payload

    def mark_stale(self) -> None:
        """Make every entry stale: the next use refreshes it (the payload stays as fallback)."""
        with self._lock:
            for entry in self._entries.values():
                entry.fresh_until = float("-inf")

    def references(self) -> list[Reference]:
        """Return one reference per cached fetch (for background refresh)."""
        with self._lock:
            return [entry.ref for entry in self._entries.values()]
