"""The resolver's cache: freshness, stale-if-error, revocation, failure memory, a size bound.

One `CacheEntry` per fetch group (a connection, or a Key Vault secret at a version). An entry
may hold a payload (a ListSecrets response or a Key Vault value) and the memory of failures:

- **Fresh** for ``ttl_s`` after a fetch; a versioned Key Vault secret cannot change, so it is
  *pinned*: fetched once per process, never stale, never refreshed.
- **Failure memory**: a failed fetch is remembered for a short, growing, jittered, capped
  interval (ListSecrets is an ARM *write*); in that interval callers get the same error at
  once, or the last good payload where stale-if-error allows.
- **Stale-if-error**: after a transient failure (5xx, throttling, timeouts, identity
  hiccups) the last good payload is served up to ``max_stale_s`` after it was fetched; after a
  403/404 it is served for ``revocation_grace_s`` from the first denial, then dropped as
  revoked.
- **Forced refreshes are spaced**: `mark_stale` skips a group that a forced refresh already
  made stale less than ``min_refresh_interval_s`` ago.
- **Bounded**: beyond ``max_entries``, the least recently used entries that no variable
  needs are evicted.
"""

from __future__ import annotations

import random
import threading
from collections import OrderedDict

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
    from collections.abc import Callable, Collection
    from typing import Any

    from .references import Reference

    Payload = dict[str, Any] | str
    Key = tuple[str, ...]

INF = float("inf")
#: The failure memory grows from FIRST to CAP seconds, doubling, with +-JITTER of it.
FAILURE_MEMORY_FIRST_S = 2.0
FAILURE_MEMORY_CAP_S = 60.0
FAILURE_MEMORY_JITTER = 0.2


class CacheEntry:
    """One fetch group: its last good payload, its timing and its failures. No payload repr."""

    __slots__ = (
        "denied_since",
        "error",
        "failures",
        "fetched_at",
        "forced_at",
        "fresh_until",
        "payload",
        "ref",
        "retry_at",
    )

    def __init__(self, ref: Reference) -> None:
        self.ref = ref
        self.payload: Payload | None = None
        self.fetched_at = -INF
        self.fresh_until = -INF
        self.denied_since: float | None = None
        self.error: SecretInjectionError | None = None
        self.failures = 0
        self.retry_at = -INF
        self.forced_at = -INF

    @property
    def pinned(self) -> bool:
        """A versioned Key Vault secret: it cannot change, so it never goes stale."""
        return getattr(self.ref, "version", None) is not None

    def __repr__(self) -> str:
        return (
            f"CacheEntry({self.ref!r}, cached={self.payload is not None}, failures={self.failures})"
        )


class Lookup:
    """What `SecretCache.lookup` found: serve ``payload``, raise ``error``, or fetch."""

    __slots__ = ("error", "kind", "payload", "stale")

    def __init__(
        self,
        payload: Payload | None = None,
        error: SecretInjectionError | None = None,
        stale: Payload | None = None,
        kind: str = "miss",
    ) -> None:
        self.payload = payload
        self.error = error
        self.stale = stale
        """On a fetch: the last good payload, still servable if the fetch fails."""
        self.kind = kind
        """``hit``, ``stale`` (served during a remembered failure), ``remembered failure``,
        ``revalidate`` (a stale payload to refresh) or ``miss``."""


class SecretCache:
    """Thread-safe map from a fetch's group key to its `CacheEntry`."""

    def __init__(
        self,
        *,
        ttl_s: float,
        max_stale_s: float,
        revocation_grace_s: float,
        clock: Callable[[], float],
        min_refresh_interval_s: float = 5.0,
        max_entries: int = 1024,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_stale_s = max_stale_s
        self.revocation_grace_s = revocation_grace_s
        self.min_refresh_interval_s = min_refresh_interval_s
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[Key, CacheEntry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: Key, *, ignore_failures: bool = False) -> Lookup:
        """Decide what a use of ``key`` gets now: a payload, an error, or a fetch to make."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return Lookup()
            self._entries.move_to_end(key)
            has = entry.payload is not None
            if has and (entry.pinned or now < entry.fresh_until):
                return Lookup(payload=entry.payload, kind="hit")
            servable = has and self._servable(entry, now)
            if not ignore_failures and now < entry.retry_at and entry.error is not None:
                if servable:
                    return Lookup(payload=entry.payload, kind="stale")
                return Lookup(error=entry.error.copy(), kind="remembered failure")
            if servable:
                return Lookup(stale=entry.payload, kind="revalidate")
            return Lookup()

    def fresh(self, key: Key) -> Payload | None:
        """Return the payload if it is fresh (or pinned), else None."""
        found = self.lookup(key, ignore_failures=True)
        return found.payload

    def store(self, ref: Reference, payload: Payload, protected: Collection[Key] = ()) -> None:
        """Keep a newly fetched payload; forget the group's failures; evict beyond the bound."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(ref.group_key) or CacheEntry(ref)
            entry.payload = payload
            entry.fetched_at = now
            entry.fresh_until = INF if entry.pinned else now + self.ttl_s
            entry.denied_since = entry.error = None
            entry.failures, entry.retry_at = 0, -INF
            self._entries[ref.group_key] = entry
            self._entries.move_to_end(ref.group_key)
            self._evict(protected)

    def fail(self, ref: Reference, error: SecretInjectionError) -> Payload:
        """Record a failed fetch of ``ref``; return the last good payload or raise ``error``.

        The failure is remembered (`lookup` answers with it, or with the stale payload,
        until the growing interval has passed).
        """
        now = self._clock()
        key = ref.group_key
        log = get_logger(__name__)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = CacheEntry(ref)
            entry.failures += 1
            entry.error = error.copy()
            entry.retry_at = now + _failure_interval(entry.failures)
            if entry.payload is None:
                raise error
            if isinstance(error, (AccessDeniedError, NotFoundError)):
                if entry.denied_since is None:
                    entry.denied_since = now
                if now - entry.denied_since >= self.revocation_grace_s:
                    entry.payload = None
                    log.warning(
                        "%s: still refused after %.0f s; treating it as revoked (%s)",
                        entry.ref,
                        now - entry.denied_since,
                        error.status,
                    )
                    raise error
            elif not self._servable(entry, now) or not _transient(error):
                raise error
            payload = entry.payload
        log.warning(
            "%s: refresh failed (%s: %s); serving the value fetched %.0f s ago",
            entry.ref,
            error.status,
            error.message,
            now - entry.fetched_at,
        )
        return payload

    def mark_stale(self) -> int:
        """Make every unpinned entry stale, except those forced stale a moment ago.

        Returns how many entries were marked. The payloads stay as a fallback.
        """
        now = self._clock()
        marked = 0
        with self._lock:
            for entry in self._entries.values():
                if entry.payload is None or entry.pinned:
                    continue
                if now - entry.forced_at < self.min_refresh_interval_s:
                    continue
                entry.fresh_until = -INF
                entry.forced_at = now
                marked += 1
        return marked

    def references(self, *, refreshable: bool = False) -> list[Reference]:
        """Return one reference per entry with a payload (``refreshable``: not pinned)."""
        with self._lock:
            return [
                e.ref
                for e in self._entries.values()
                if e.payload is not None and not (refreshable and e.pinned)
            ]

    def retry_due(self, key: Key) -> bool:
        """Tell whether no failure of ``key`` is remembered any more (a retry may go out)."""
        return self.retry_in(key) <= 0

    def retry_in(self, key: Key) -> float:
        """Return the seconds until a remembered failure of ``key`` allows a retry (0: now)."""
        entry = self._entries.get(key)
        return 0.0 if entry is None else max(0.0, entry.retry_at - self._clock())

    def _servable(self, entry: CacheEntry, now: float) -> bool:
        if entry.denied_since is not None:
            return now - entry.denied_since < self.revocation_grace_s
        return entry.pinned or now - entry.fetched_at <= self.max_stale_s

    def _evict(self, protected: Collection[Key]) -> None:
        excess = len(self._entries) - self.max_entries
        if excess <= 0:
            return
        for key in list(self._entries):
            if excess <= 0:
                break
            if key not in protected:
                del self._entries[key]
                excess -= 1

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()


def _transient(error: SecretInjectionError) -> bool:
    return isinstance(error, (ServiceError, IdentityUnavailableError))


def _failure_interval(failures: int) -> float:
    base = min(FAILURE_MEMORY_CAP_S, FAILURE_MEMORY_FIRST_S * 2.0 ** (failures - 1))
    return base * random.uniform(1 - FAILURE_MEMORY_JITTER, 1 + FAILURE_MEMORY_JITTER)  # noqa: S311
