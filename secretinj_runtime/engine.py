"""FetchEngine: how one use of a reference is served, and everything that keeps it so.

`payload` serves a reference's group:

1. fresh (or a pinned, versioned Key Vault secret): from the cache, no network;
2. a failure is remembered: the same error at once, or the last good value where
   stale-if-error allows it (ListSecrets is an ARM write: no storm on a persistent 403);
3. stale, with a last good value: **one** attempt with a short timeout; if it fails, the
   stale value at once while the retries go on in the background;
4. nothing cached: a fetch with the full retry policy, one per group at a time (single
   flight; followers wait at most the policy's deadline).

Each new payload goes to `variables.Variables` (written back, announced after the flight is
released). The clients (credential, session, transport, ListSecrets and Key Vault) are built
on the first fetch. A fork resets sessions, locks, in-flight tables and the refresher, and
keeps the cache and the bookkeeping (see `_forksafe`).

Longer than 300 lines because serving, the background refresh and the fork reset share one
lock, one flight table and one set of clients: split apart, they would reach into each
other's private state.
"""

from __future__ import annotations

import random
import threading
import time

from ._log import get_logger
from ._singleflight import SingleFlight
from ._tracing import note_cache
from .cache import SecretCache
from .errors import ConfigurationError, SecretInjectionError, TimedOutError
from .references import ConnectionReference
from .variables import Variables

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    import requests
    from azure.core.credentials import TokenCredential

    from ._ratelimit import WriteLimiter
    from .connections import ConnectionsClient
    from .identity import TokenCache
    from .keyvault import KeyVaultClient
    from .redaction import SecretRedactor
    from .references import Reference
    from .retry import RetryPolicy
    from .settings import ResolverSettings
    from .transport import Transport

    Payload = dict[str, Any] | str
    Key = tuple[str, ...]

#: A follower waits for a fetch in flight this much longer than the fetch's own deadline.
FOLLOWER_MARGIN_S = 5.0


class _Clients:
    """What a fetch needs, built on the first fetch (and rebuilt in a forked child)."""

    __slots__ = ("connections", "keyvault", "tokens", "transport")

    def __init__(
        self,
        transport: Transport,
        tokens: TokenCache,
        connections: ConnectionsClient | None,
        keyvault: KeyVaultClient,
    ) -> None:
        self.transport = transport
        self.tokens = tokens
        self.connections = connections
        self.keyvault = keyvault


class FetchEngine:
    """Fetches, caches and refreshes payloads for one resolver (see the module docstring)."""

    def __init__(
        self,
        settings: ResolverSettings,
        *,
        credential: TokenCredential | None = None,
        session: requests.Session | None = None,
        retry_policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        spawn: Callable[[Callable[[], None]], None] | None = None,
        environ: Any = None,
    ) -> None:
        self.settings = settings
        self.clock, self.sleep = clock, sleep
        self._credential, self._session, self._retry_policy = credential, session, retry_policy
        self._spawn = spawn or _spawn_daemon
        self._environ = environ
        self.cache = SecretCache(
            ttl_s=settings.cache_ttl_s,
            max_stale_s=settings.max_stale_s,
            revocation_grace_s=settings.revocation_grace_s,
            clock=clock,
            min_refresh_interval_s=settings.min_refresh_interval_s,
            max_entries=settings.max_cache_entries,
        )
        self.variables = Variables()
        self.fetch_count = 0
        """How many ListSecrets / Key Vault calls were started (not counting retries)."""
        self._lock = threading.Lock()
        self._flights = SingleFlight()
        self._background: set[Key] = set()  # groups being refreshed in the background
        self._clients: _Clients | None = None
        self._redactor: SecretRedactor | None = None
        self.refresher: threading.Thread | None = None
        self._closed = threading.Event()
        from ._forksafe import register

        register(self)

    # -- serving --------------------------------------------------------------------------

    def payload(self, ref: Reference, *, ignore_failures: bool = False) -> Payload:
        """Return the payload of ``ref``'s group (see the module docstring for how).

        ``ignore_failures``: fetch even while a failure is remembered (the access wait).
        """
        self.settings.check(ref)
        key = ref.group_key
        found = self.cache.lookup(key, ignore_failures=ignore_failures)
        note_cache(found.kind)
        if found.payload is not None:
            return found.payload
        if found.error is not None:
            raise found.error
        if found.stale is not None and key in self._background:
            note_cache("stale")
            return found.stale  # being refreshed in the background: do not wait for it
        deadline_s = (
            self.settings.revalidate_timeout_s
            if found.stale is not None
            else self.policy.deadline_s
        ) + FOLLOWER_MARGIN_S
        try:
            payload = self._flights.do(
                key,
                lambda: self._fetch(ref, ignore_failures),
                timeout_s=deadline_s,
                on_timeout=lambda: TimedOutError(
                    f"a fetch of {ref} in flight did not finish within {deadline_s:.0f} s"
                ),
            )
        finally:
            self.variables.run_callbacks()
        return payload  # type: ignore[return-value]

    def refresh(self) -> None:
        """Make the cache stale (see `SecretCache.mark_stale` for what is left alone)."""
        self.cache.mark_stale()

    @property
    def policy(self) -> RetryPolicy:
        """The retry policy of full fetches."""
        if self._retry_policy is None:
            from .retry import RetryPolicy

            self._retry_policy = RetryPolicy()
        return self._retry_policy

    def _fetch(self, ref: Reference, ignore_failures: bool) -> Payload:
        """Fetch ``ref``'s group as the flight's leader; see `payload`."""
        found = self.cache.lookup(ref.group_key, ignore_failures=ignore_failures)
        if found.payload is not None:  # a flight that just landed filled the cache
            return found.payload
        if found.error is not None:
            raise found.error
        policy = None
        if found.stale is not None:  # one short attempt; the retries go to the background
            from .retry import RetryPolicy

            policy = RetryPolicy(max_attempts=1, deadline_s=self.settings.revalidate_timeout_s)
        try:
            payload = self._fetch_uncached(ref, policy)
        except SecretInjectionError as ex:
            try:
                return self.cache.fail(ref, ex)
            finally:
                if found.stale is not None and ex.retryable:
                    self._spawn(lambda: self.refresh_in_background(ref, after_failure=True))
        self._stored(ref, payload)
        return payload

    def _fetch_uncached(self, ref: Reference, policy: RetryPolicy | None = None) -> Payload:
        clients = self._ensure_clients()
        with self._lock:
            self.fetch_count += 1
        if isinstance(ref, ConnectionReference):
            from .connections import secret_values

            if clients.connections is None:
                from .workspace import UNKNOWN_WORKSPACE_HINT

                raise ConfigurationError(UNKNOWN_WORKSPACE_HINT)
            body = clients.connections.list_secrets(ref.connection, policy=policy)
            self._mask(secret_values(body))
            return body
        value = clients.keyvault.get_secret(ref, policy=policy)
        self._mask([value])
        return value

    def _stored(self, ref: Reference, payload: Payload) -> None:
        self.cache.store(ref, payload, protected=self.variables.groups())
        self.variables.apply(ref.group_key, payload)
        self.start_refresher()

    def _mask(self, values: list[str]) -> None:
        if self._redactor is not None:
            self._redactor.add(values)

    # -- in the background ----------------------------------------------------------------

    def refresh_in_background(self, ref: Reference, *, after_failure: bool = False) -> None:
        """Fetch ``ref``'s group with the full retry policy; callers keep the stale value.

        ``after_failure``: first wait out the failure just remembered (a retry, not a second
        attempt at once).
        """
        key = ref.group_key
        with self._lock:
            if key in self._background or self._closed.is_set():
                return
            self._background.add(key)
        try:
            if after_failure:  # the injected sleep: a test's fake clock moves instead
                self.sleep(self.cache.retry_in(key))
                if self._closed.is_set():
                    return
            try:
                payload = self._fetch_uncached(ref)
            except SecretInjectionError as ex:
                try:
                    self.cache.fail(ref, ex)
                except SecretInjectionError as final:
                    get_logger(__name__).warning(
                        "background refresh of %s failed: %s", ref, final.message
                    )
                return
            self._stored(ref, payload)
        finally:
            with self._lock:
                self._background.discard(key)
            self.variables.run_callbacks()

    def start_refresher(self) -> None:
        """Start the periodic background refresh, if configured and not running."""
        if self.settings.refresh_interval_s <= 0 or self._closed.is_set():
            return
        with self._lock:
            if self.refresher is None:
                self.refresher = threading.Thread(
                    target=self._refresh_loop, name="secretinj-refresh", daemon=True
                )
                self.refresher.start()

    def _refresh_loop(self) -> None:
        log = get_logger(__name__)
        interval = self.settings.refresh_interval_s
        while not self._closed.wait(interval * random.uniform(0.8, 1.2)):  # noqa: S311
            for ref in self.cache.references(refreshable=True):
                if self._closed.is_set():
                    return
                if not self.cache.retry_due(ref.group_key):
                    continue  # a failure is remembered: its interval has not passed
                try:
                    self.refresh_in_background(ref)
                except Exception:  # keep refreshing whatever one group did
                    log.exception("background refresh of %s failed unexpectedly", ref)

    def close(self) -> None:
        """Stop the background refresh, if any."""
        self._closed.set()
        refresher = self.refresher
        if refresher is not None and refresher is not threading.current_thread():
            refresher.join(timeout=5)

    # -- clients and fork -----------------------------------------------------------------

    def _ensure_clients(self) -> _Clients:
        with self._lock:
            if self._clients is None:
                self._clients = self._build_clients()
            return self._clients

    def _build_clients(self, tokens: TokenCache | None = None) -> _Clients:
        from .connections import ConnectionsClient
        from .identity import TokenCache, default_credential, describe_credential
        from .keyvault import KeyVaultClient
        from .redaction import global_redactor
        from .transport import Transport

        settings = self.settings
        if settings.redact:
            self._redactor = global_redactor()
        credential, environ, cloud = self._credential, self._environ_mapping(), settings.cloud

        def factory() -> TokenCredential:
            return credential or default_credential(settings.client_id, environ, cloud)

        if tokens is None:
            tokens = TokenCache(
                factory,
                on_token=lambda t: self._mask([t]),
                describe=describe_credential(environ, credential),
                rebuild_after_fork=credential is None,
            )
        transport = Transport(
            session=self._session,
            policy=self.policy,
            read_timeout_s=settings.read_timeout_s,
            sleep=self.sleep,
            clock=self.clock,
        )
        connections = None
        if settings.workspace is not None:
            connections = ConnectionsClient(
                transport,
                settings.workspace,
                settings.arm_endpoint,
                token=lambda: tokens.get(cloud.arm_scope),
                api_version=settings.api_version,
                limiter=self._write_limiter(),
            )
        keyvault = KeyVaultClient(
            transport,
            token=lambda: tokens.get(cloud.keyvault_scope),
            endpoint=settings.keyvault_endpoint,
        )
        return _Clients(transport, tokens, connections, keyvault)

    def _write_limiter(self) -> WriteLimiter | None:
        """Build this engine's own rate for ARM writes (adaptive mode; anew after a fork)."""
        policy = self.policy
        if policy.mode != "adaptive":
            return None
        from ._ratelimit import WriteLimiter

        return WriteLimiter(
            clock=self.clock,
            sleep=self.sleep,
            jitter=policy.retry_after_jitter,
            max_retry_after_s=policy.max_retry_after_s,
        )

    def _environ_mapping(self) -> Any:
        import os

        return os.environ if self._environ is None else self._environ

    def _after_fork_in_child(self) -> None:
        """In a forked child: own locks, session, token requests, flights and refresher."""
        self._lock = threading.Lock()
        self._flights = SingleFlight()
        self._background = set()
        closed = self._closed.is_set()
        self._closed = threading.Event()
        if closed:
            self._closed.set()
        self.cache._after_fork_in_child()
        self.variables._after_fork_in_child()
        if self._clients is not None:
            tokens = self._clients.tokens
            tokens._after_fork_in_child()
            self._clients = self._build_clients(tokens)
        was_refreshing, self.refresher = self.refresher is not None, None
        if was_refreshing:
            self.start_refresher()


def _spawn_daemon(task: Callable[[], None]) -> None:
    threading.Thread(target=task, name="secretinj-background", daemon=True).start()
