"""SecretResolver: the hall that connects grammar, cache, identity, clients and report.

Building a resolver reads configuration and imports nothing heavy. The fetching machinery
(azure-identity, requests, tenacity) is imported and built on the first fetch.

How a use of a reference is served (`_payload`):

1. fresh (or a pinned, versioned Key Vault secret): from the cache, no network;
2. a failure is remembered: the same error at once, or the last good value where
   stale-if-error allows it (ListSecrets is an ARM write: no storm on a persistent 403);
3. stale, with a last good value: **one** attempt with a short timeout; if it fails, the
   stale value at once while the retries go on in the background;
4. nothing cached: a fetch with the full retry policy, one per group at a time (single
   flight; followers wait at most the policy's deadline).

Variables written back and variables watched with `on_change` are compared with every new
payload of their group; a change is written back and announced after the fetch's flight is
released (a callback may use the resolver). A fork resets sessions, locks, in-flight tables
and the refresher, and keeps the cache and the bookkeeping (see `_forksafe`).
"""

from __future__ import annotations

import os
import threading
import time

from ._constants import (
    DEFAULT_CACHE_TTL_S,
    DEFAULT_MAX_STALE_S,
    DEFAULT_MIN_REFRESH_INTERVAL_S,
    DEFAULT_REVOCATION_GRACE_S,
    LISTSECRETS_API_VERSION,
    RAISE,
    EnvironmentVariables,
)
from ._log import get_logger
from ._singleflight import SingleFlight
from .cache import SecretCache
from .clouds import get_cloud
from .environment import resolve_environment as _resolve_environment
from .errors import (
    ConfigurationError,
    MissingSecretError,
    NotFoundError,
    SecretInjectionError,
    TimedOutError,
)
from .references import (
    ConnectionReference,
    KeyVaultReference,
    parse_reference,
    variable_reference,
)
from .workspace import UNKNOWN_WORKSPACE_HINT, Workspace, workspace_from_environ

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, MutableMapping
    from typing import Any

    import requests
    from azure.core.credentials import TokenCredential

    from ._ratelimit import WriteLimiter
    from .clouds import Cloud
    from .connections import ConnectionsClient
    from .identity import TokenCache
    from .keyvault import KeyVaultClient
    from .redaction import SecretRedactor
    from .references import Reference
    from .report import ResolutionReport
    from .transport import RetryPolicy, Transport

    Payload = dict[str, Any] | str
    Key = tuple[str, ...]

#: A follower waits for a fetch in flight this much longer than the fetch's own deadline.
_FOLLOWER_MARGIN_S = 5.0


class _Var:
    """A variable the resolver knows: its reference, last value seen, and where it lives."""

    __slots__ = ("env", "ref", "value")

    def __init__(
        self, ref: Reference, value: str | None, env: MutableMapping[str, str] | None
    ) -> None:
        self.ref = ref
        self.value = value
        self.env = env

    def __repr__(self) -> str:  # never the value
        return f"_Var({self.ref!r}, written={self.env is not None})"


class _Clients:
    """What a fetch needs, built on the first fetch (and rebuilt in a forked child)."""

    __slots__ = ("connections", "keyvault", "own_session", "tokens", "transport")

    def __init__(
        self,
        transport: Transport,
        tokens: TokenCache,
        connections: ConnectionsClient | None,
        keyvault: KeyVaultClient,
        own_session: bool,
    ) -> None:
        self.transport = transport
        self.tokens = tokens
        self.connections = connections
        self.keyvault = keyvault
        self.own_session = own_session


class SecretResolver:
    """Resolves secret references with a managed identity, caching what it fetched.

    Explicit arguments win over environment variables, which are read once, here. Nothing
    is fetched, and nothing heavy imported, until a reference needs it. Configuration
    problems found here (a malformed workspace id, an unknown cloud, an http endpoint to a
    non-loopback host) are raised when a reference needs that configuration, so that
    `resolve_environment` can still report every variable.

    Args:
        credential: an azure-core ``TokenCredential``; default: `default_credential`.
        workspace: a `Workspace` or its ARM id; default: from the environment.
        cloud: a cloud name (``AzureCloud``, ``AzureChinaCloud``, ``AzureUSGovernment``);
            default ``SECRETINJ_CLOUD``, then ``AZUREML_CURRENT_CLOUD``, then AzureCloud.
        arm_endpoint: ARM base URL override (https, or http to loopback).
        keyvault_endpoint: route Key Vault calls to ``<endpoint>/<vault>/secrets/...``.
        cache_ttl_s: seconds a fetched value stays fresh (default 3600).
        client_id: client id of a user-assigned identity (default credential only).
        environ: where configuration is read from (default ``os.environ``).
        session: a ``requests.Session`` for every call (a forked child keeps using it: a
            session you pass must be safe to share across fork; the default one is rebuilt).
        retry_policy: a `RetryPolicy` (attempts, deadline, backoff; ``mode="adaptive"``, the
            default, paces this resolver's ListSecrets calls once ARM throttles them).
        clock: monotonic clock for the cache, retry deadlines and access waits.
        sleep: what retries and waits sleep with (tests pass a fake).
        max_workers: most groups fetched at once.
        read_timeout_s: longest wait for one answer (capped by the retry deadline).
        wait_for_access_s: how long `resolve_environment` keeps retrying 403 and a missing
            identity (role propagation); default ``SECRETINJ_ACCESS_WAIT_S`` or 0.
        max_stale_s: how long after its fetch a value is still served when a refresh fails
            transiently (default 86400).
        revocation_grace_s: how long a value is still served while refreshes answer 403/404,
            before it counts as revoked (default 300).
        refresh_interval_s: refresh every cached value in the background this often (with
            jitter); default off.
        min_refresh_interval_s: `refresh` leaves alone a group it made stale less than this
            long ago (default ``SECRETINJ_MIN_REFRESH_INTERVAL_S`` or 5).
        revalidate_timeout_s: the one foreground attempt to refresh a stale value gets this
            long before the stale value is served and retries go on in the background.
        max_cache_entries: most fetch groups cached; beyond it, ones no variable uses go.
        redact: mask every fetched secret and token in all log records.
        spawn: runs background work (retries of a failed revalidation); default: a daemon
            thread per task. Tests pass one that queues the tasks.
    """

    def __init__(
        self,
        *,
        credential: TokenCredential | None = None,
        workspace: Workspace | str | None = None,
        cloud: str | Cloud | None = None,
        arm_endpoint: str | None = None,
        keyvault_endpoint: str | None = None,
        cache_ttl_s: float | None = None,
        client_id: str | None = None,
        environ: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
        retry_policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_workers: int = 32,
        read_timeout_s: float = 15.0,
        wait_for_access_s: float | None = None,
        max_stale_s: float | None = None,
        revocation_grace_s: float | None = None,
        refresh_interval_s: float | None = None,
        min_refresh_interval_s: float | None = None,
        revalidate_timeout_s: float = 2.0,
        max_cache_entries: int = 1024,
        redact: bool = True,
        api_version: str = LISTSECRETS_API_VERSION,
        spawn: Callable[[Callable[[], None]], None] | None = None,
    ) -> None:
        env: Mapping[str, str] = os.environ if environ is None else environ
        var = EnvironmentVariables
        self._credential, self._session, self._retry_policy = credential, session, retry_policy
        self._clock, self._sleep = clock, sleep
        self._max_workers, self._read_timeout_s = max(1, max_workers), read_timeout_s
        self._redact, self._api_version, self._environ = redact, api_version, env
        self._revalidate_timeout_s = revalidate_timeout_s
        self._spawn = spawn or _spawn_daemon
        self.client_id = client_id
        self._config_error: SecretInjectionError | None = None
        self._workspace_error: SecretInjectionError | None = None
        self.cloud = get_cloud(None)
        self.arm_endpoint = self.cloud.arm_endpoint
        self.keyvault_endpoint: str | None = None
        self.cache_ttl_s = DEFAULT_CACHE_TTL_S
        self.wait_for_access_s = 0.0
        self.refresh_interval_s = 0.0
        max_stale, grace = DEFAULT_MAX_STALE_S, DEFAULT_REVOCATION_GRACE_S
        min_refresh = DEFAULT_MIN_REFRESH_INTERVAL_S
        try:
            self._configure_endpoints(env, cloud, arm_endpoint, keyvault_endpoint)
            self.cache_ttl_s = _seconds(cache_ttl_s, env, var.CACHE_TTL_S, DEFAULT_CACHE_TTL_S)
            self.wait_for_access_s = _seconds(wait_for_access_s, env, var.ACCESS_WAIT_S, 0.0)
            self.refresh_interval_s = _seconds(refresh_interval_s, env, var.REFRESH_INTERVAL_S, 0)
            max_stale = _seconds(max_stale_s, env, var.MAX_STALE_S, max_stale)
            grace = _seconds(revocation_grace_s, env, var.REVOCATION_GRACE_S, grace)
            min_refresh = _seconds(
                min_refresh_interval_s, env, var.MIN_REFRESH_INTERVAL_S, min_refresh
            )
        except SecretInjectionError as ex:
            self._config_error = ex
        self.workspace: Workspace | None = None
        try:
            self.workspace = _workspace(workspace, env)
        except SecretInjectionError as ex:
            self._workspace_error = ex
        if self.client_id is None and credential is None:
            from .identity import client_id_from_environ

            self.client_id = client_id_from_environ(env)

        self._lock = threading.Lock()
        self._cache = SecretCache(
            ttl_s=self.cache_ttl_s,
            max_stale_s=max_stale,
            revocation_grace_s=grace,
            clock=clock,
            min_refresh_interval_s=min_refresh,
            max_entries=max_cache_entries,
        )
        self._init_state()

    def _init_state(self) -> None:
        self._flights = SingleFlight()
        self._vars: dict[str, _Var] = {}  # written back (env set) or watched (env None)
        self._watchers: dict[str, list[Callable[[str], None]]] = {}
        self._changed: list[str] = []  # names whose callbacks are due
        self._background: set[Key] = set()  # groups being refreshed in the background
        self._clients: _Clients | None = None
        self._redactor: SecretRedactor | None = None
        self._refresher: threading.Thread | None = None
        self._closed = threading.Event()
        self.fetch_count = 0
        """How many ListSecrets / Key Vault calls this resolver started (not counting retries)."""
        from ._forksafe import register

        register(self)

    def _configure_endpoints(
        self,
        env: Mapping[str, str],
        cloud: str | Cloud | None,
        arm_endpoint: str | None,
        keyvault_endpoint: str | None,
    ) -> None:
        var = EnvironmentVariables
        self.cloud = get_cloud(cloud or env.get(var.CLOUD) or env.get(var.AZUREML_CLOUD))
        self.arm_endpoint = self.cloud.arm_endpoint
        arm = arm_endpoint or env.get(var.ARM_ENDPOINT)
        kv = keyvault_endpoint or env.get(var.KEYVAULT_ENDPOINT)
        if arm or kv:
            from .transport import check_endpoint

            if arm:
                self.arm_endpoint = check_endpoint(arm, setting=var.ARM_ENDPOINT)
            if kv:
                self.keyvault_endpoint = check_endpoint(kv, setting=var.KEYVAULT_ENDPOINT)

    # -- public API ---------------------------------------------------------------------

    def resolve(self, reference: str | Reference) -> str:
        """Return the value a reference points at, fetching it unless the cache is fresh."""
        ref = parse_reference(reference) if isinstance(reference, str) else reference
        return self._extract(ref, self._payload(ref))

    def resolve_environment(
        self,
        names: Iterable[str] | None = None,
        *,
        environ: MutableMapping[str, str] | None = None,
        write_back: bool = True,
        required: bool = True,
        wait_for_access_s: float | None = None,
    ) -> ResolutionReport:
        """Resolve environment variables that hold references; report on each.

        Args:
            names: the variables to look at; None means every variable holding a reference.
                Explicit names may be literals (``PRESENT``) or unset (``MISSING``).
            environ: the mapping to read and write back to (default ``os.environ``).
            write_back: replace each resolved reference by its value in ``environ``.
            required: raise `SecretResolutionError` (report attached) if any variable failed.
            wait_for_access_s: keep retrying 403 and a missing identity this long (role
                propagation), one log line per attempt; default: the resolver's setting.
        """
        return _resolve_environment(
            self,
            names,
            os.environ if environ is None else environ,
            write_back=write_back,
            required=required,
            wait_for_access_s=wait_for_access_s,
        )

    def get_secret(
        self,
        name: str,
        default: Any = RAISE,
        *,
        environ: MutableMapping[str, str] | None = None,
    ) -> str:
        """Return the value of variable ``name``, resolving it if it holds a reference.

        A variable this resolver wrote back is refreshed from its reference once the cached
        value is older than the TTL (and written back again if it changed). Raises
        `MissingSecretError` when the variable is unset and no default is given.
        """
        value = (os.environ if environ is None else environ).get(name)
        del environ  # it holds secrets: keep it out of the traceback of a failure below
        if value is None:
            if default is RAISE:
                raise MissingSecretError(f"environment variable {name} is not set", variable=name)
            return default  # type: ignore[no-any-return]
        ref = self._reference_of(name, value)
        if ref is None:
            return value
        del value  # a written-back secret: keep it out of the traceback below
        try:
            return self.resolve(ref)
        except SecretInjectionError as ex:
            error = ex.for_variable(name, str(ref))
        raise error

    def refresh(self) -> None:
        """Make cached values stale: the next use of each reference fetches it again.

        A group that a `refresh` already made stale less than ``min_refresh_interval_s``
        ago is left alone (a storm of refreshes costs a handful of calls, not one each). A
        versioned Key Vault secret cannot change and is never fetched again. The old values
        stay as a fallback should the new fetch fail, and a value that changed fires the
        `on_change` callbacks of its variables. A failure remembered for a group still
        answers until its interval has passed.
        """
        self._cache.mark_stale()

    def on_change(self, name: str, callback: Callable[[str], None]) -> None:
        """Call ``callback(name)`` whenever a refresh yields a new value for variable ``name``.

        The variable must hold a reference, or have been resolved and written back by this
        resolver. The callback gets the name only; read the value with `get_secret`. It runs
        after the fetch is complete (it may use the resolver); its exceptions are logged.
        """
        with self._lock:
            known = name in self._vars
        if not known:
            value = os.environ.get(name)
            ref = self._reference_of(name, value) if value is not None else None
            if ref is None:
                raise MissingSecretError(
                    f"{name} holds no reference this resolver knows of: nothing to watch",
                    variable=name,
                )
            cached = self._cache.fresh(ref.group_key)
            baseline = self._try_extract(name, ref, cached) if cached is not None else None
            with self._lock:
                self._vars.setdefault(name, _Var(ref, baseline, None))
        with self._lock:
            self._watchers.setdefault(name, []).append(callback)

    def close(self) -> None:
        """Stop the background refresh, if any."""
        self._closed.set()
        refresher = self._refresher
        if refresher is not None and refresher is not threading.current_thread():
            refresher.join(timeout=5)

    def __enter__(self) -> SecretResolver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        workspace = self.workspace.resource_id if self.workspace else None
        return (
            f"SecretResolver(workspace={workspace!r}, cloud={self.cloud.name!r}, "
            f"arm_endpoint={self.arm_endpoint!r}, keyvault_endpoint={self.keyvault_endpoint!r}, "
            f"cache_ttl_s={self.cache_ttl_s}, cached={len(self._cache)})"
        )

    # -- used by environment.py and the package's front door ------------------------------

    def _written_names(self) -> frozenset[str]:
        with self._lock:
            return frozenset(n for n, v in self._vars.items() if v.env is not None)

    def _written_reference(self, name: str, value: str | None) -> str | None:
        """Return the reference ``name`` held if this resolver wrote ``value`` to it."""
        known = self._vars.get(name)
        if known is not None and known.env is not None and known.value == value:
            return str(known.ref)
        return None

    def _reference_of(self, name: str, value: str) -> Reference | None:
        """Return the reference behind ``value`` (None for a literal); raise if malformed."""
        known = self._vars.get(name)
        if known is not None and known.env is not None and known.value == value:
            return known.ref
        return variable_reference(name, value)

    def _remember(
        self, name: str, ref: Reference, value: str, env: MutableMapping[str, str]
    ) -> None:
        """Write ``value`` to ``env[name]`` and remember that it is ``ref``'s value.

        Raises ``ValueError`` when the environment refuses the value (a NUL character).
        """
        env[name] = value
        with self._lock:
            self._vars[name] = _Var(ref, value, env)

    @staticmethod
    def _extract(ref: Reference, payload: Payload) -> str:
        if isinstance(ref, KeyVaultReference):
            assert isinstance(payload, str)
            return payload
        from .connections import extract

        assert isinstance(payload, dict)
        try:
            return extract(ref, payload)
        except NotFoundError as ex:
            error = ex.copy()
        del payload  # keep the credentials out of the traceback's frames
        raise error

    def _payload(self, ref: Reference, *, ignore_failures: bool = False) -> Payload:
        """Return the payload of ``ref``'s group (see the module docstring for how)."""
        self._check(ref)
        key = ref.group_key
        found = self._cache.lookup(key, ignore_failures=ignore_failures)
        if found.payload is not None:
            return found.payload
        if found.error is not None:
            raise found.error
        if found.stale is not None and key in self._background:
            return found.stale  # being refreshed in the background: do not wait for it
        deadline_s = (self._revalidate_timeout_s if found.stale is not None else None) or (
            self._policy().deadline_s
        )
        try:
            payload = self._flights.do(
                key,
                lambda: self._fetch(ref, ignore_failures),
                timeout_s=deadline_s + _FOLLOWER_MARGIN_S,
                on_timeout=lambda: TimedOutError(
                    f"a fetch of {ref} in flight did not finish within "
                    f"{deadline_s + _FOLLOWER_MARGIN_S:.0f} s"
                ),
            )
        finally:
            self._run_callbacks()
        return payload  # type: ignore[return-value]

    # -- internals ----------------------------------------------------------------------

    def _check(self, ref: Reference) -> None:
        """Refuse, before any network call, what cannot or must not be fetched."""
        if self._config_error is not None:
            raise self._config_error.copy()
        if isinstance(ref, ConnectionReference):
            if self._workspace_error is not None:
                raise self._workspace_error.copy()
        else:
            from .keyvault import check_vault_host

            check_vault_host(ref, self.cloud)

    def _policy(self) -> RetryPolicy:
        if self._retry_policy is None:
            from .transport import RetryPolicy

            self._retry_policy = RetryPolicy()
        return self._retry_policy

    def _fetch(self, ref: Reference, ignore_failures: bool) -> Payload:
        """Fetch ``ref``'s group as the flight's leader; see `_payload`."""
        found = self._cache.lookup(ref.group_key, ignore_failures=ignore_failures)
        if found.payload is not None:  # a flight that just landed filled the cache
            return found.payload
        if found.error is not None:
            raise found.error
        policy = None
        if found.stale is not None:  # one short attempt; the retries go to the background
            from .transport import RetryPolicy

            policy = RetryPolicy(max_attempts=1, deadline_s=self._revalidate_timeout_s)
        try:
            payload = self._fetch_uncached(ref, policy)
        except SecretInjectionError as ex:
            try:
                return self._cache.fail(ref, ex)
            finally:
                if found.stale is not None and ex.retryable:
                    self._spawn(lambda: self._refresh_in_background(ref, after_failure=True))
        self._stored(ref, payload)
        return payload

    def _fetch_uncached(self, ref: Reference, policy: RetryPolicy | None = None) -> Payload:
        clients = self._ensure_clients()
        with self._lock:
            self.fetch_count += 1
        if isinstance(ref, ConnectionReference):
            from .connections import secret_values

            if clients.connections is None:  # the workspace error is raised by _check
                raise ConfigurationError(UNKNOWN_WORKSPACE_HINT)
            body = clients.connections.list_secrets(ref.connection, policy=policy)
            self._mask([*secret_values(body)])
            return body
        value = clients.keyvault.get_secret(ref, policy=policy)
        self._mask([value])
        return value

    def _stored(self, ref: Reference, payload: Payload) -> None:
        """Cache a new payload, write back and queue announcements of what changed."""
        with self._lock:
            known = list(self._vars.items())
        self._cache.store(ref, payload, protected={v.ref.group_key for _, v in known})
        log = get_logger(__name__)
        for name, var in known:
            if var.ref.group_key != ref.group_key:
                continue
            new = self._try_extract(name, var.ref, payload)
            if new is None or new == var.value:
                continue
            if var.value is None and var.env is None:  # a watcher's first sight: a baseline
                var.value = new
                continue
            if var.env is not None:
                try:
                    var.env[name] = new
                except ValueError:  # os.environ refuses NUL characters
                    log.warning(
                        "%s (%s): SERVICE_ERROR: a refresh brought a value the environment "
                        "cannot hold (NUL character); keeping the previous one",
                        name,
                        var.ref,
                    )
                    continue
            var.value = new
            with self._lock:
                self._changed.append(name)
        self._start_refresher()

    def _try_extract(self, name: str, ref: Reference, payload: Payload) -> str | None:
        try:
            return self._extract(ref, payload)
        except NotFoundError as ex:
            get_logger(__name__).warning("%s (%s): after a refresh: %s", name, ref, ex.message)
            return None

    def _run_callbacks(self) -> None:
        """Announce changed variables; never under a lock, never inside a flight."""
        with self._lock:
            due, self._changed = self._changed, []
            callbacks = [(n, list(self._watchers.get(n, ()))) for n in dict.fromkeys(due)]
        log = get_logger(__name__)
        for name, watchers in callbacks:
            log.info("%s: a refresh brought a new value", name)
            for callback in watchers:
                try:
                    callback(name)
                except Exception:
                    log.exception("on_change callback for %s failed", name)

    def _refresh_in_background(self, ref: Reference, *, after_failure: bool = False) -> None:
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
            if after_failure and self._closed.wait(self._cache.retry_in(key)):
                return
            try:
                payload = self._fetch_uncached(ref)
            except SecretInjectionError as ex:
                try:
                    self._cache.fail(ref, ex)
                except SecretInjectionError as final:
                    get_logger(__name__).warning(
                        "background refresh of %s failed: %s", ref, final.message
                    )
                return
            self._stored(ref, payload)
        finally:
            with self._lock:
                self._background.discard(key)
            self._run_callbacks()

    def _start_refresher(self) -> None:
        if self.refresh_interval_s <= 0 or self._closed.is_set():
            return
        with self._lock:
            if self._refresher is None:
                self._refresher = threading.Thread(
                    target=self._refresh_loop, name="secretinj-refresh", daemon=True
                )
                self._refresher.start()

    def _refresh_loop(self) -> None:
        import random

        log = get_logger(__name__)
        while not self._closed.wait(self.refresh_interval_s * random.uniform(0.8, 1.2)):  # noqa: S311
            for ref in self._cache.references(refreshable=True):
                if self._closed.is_set():
                    return
                if not self._cache.retry_due(ref.group_key):
                    continue  # a failure is remembered: its interval has not passed
                try:
                    self._refresh_in_background(ref)
                except Exception:  # keep refreshing whatever one group did
                    log.exception("background refresh of %s failed unexpectedly", ref)

    def _mask(self, values: list[str]) -> None:
        if self._redactor is not None:
            self._redactor.add(values)

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

        if self._redact:
            self._redactor = global_redactor()
        credential, client_id, environ, cloud = (
            self._credential,
            self.client_id,
            self._environ,
            self.cloud,
        )

        def factory() -> TokenCredential:
            return credential or default_credential(client_id, environ, cloud)

        if tokens is None:
            tokens = TokenCache(
                factory,
                on_token=lambda t: self._mask([t]),
                describe=describe_credential(environ, credential),
                rebuild_after_fork=credential is None,
            )
        transport = Transport(
            session=self._session,
            policy=self._policy(),
            read_timeout_s=self._read_timeout_s,
            sleep=self._sleep,
            clock=self._clock,
        )
        connections = None
        if self.workspace is not None:
            connections = ConnectionsClient(
                transport,
                self.workspace,
                self.arm_endpoint,
                token=lambda: tokens.get(cloud.arm_scope),
                api_version=self._api_version,
                limiter=self._write_limiter(),
            )
        keyvault = KeyVaultClient(
            transport,
            token=lambda: tokens.get(cloud.keyvault_scope),
            endpoint=self.keyvault_endpoint,
        )
        return _Clients(transport, tokens, connections, keyvault, self._session is None)

    def _write_limiter(self) -> WriteLimiter | None:
        """Build this resolver's own rate for ARM writes (adaptive mode; anew after a fork)."""
        policy = self._policy()
        if policy.mode != "adaptive":
            return None
        from ._ratelimit import WriteLimiter

        return WriteLimiter(
            clock=self._clock,
            sleep=self._sleep,
            jitter=policy.retry_after_jitter,
            max_retry_after_s=policy.max_retry_after_s,
        )

    def _after_fork_in_child(self) -> None:
        """In a forked child: own locks, session, token requests, flights and refresher."""
        self._lock = threading.Lock()
        self._flights = SingleFlight()
        self._background = set()
        self._changed = []
        closed = self._closed.is_set()
        self._closed = threading.Event()
        if closed:
            self._closed.set()
        self._cache._after_fork_in_child()
        if self._clients is not None:
            tokens = self._clients.tokens
            tokens._after_fork_in_child()
            self._clients = self._build_clients(tokens)
        was_refreshing, self._refresher = self._refresher is not None, None
        if was_refreshing:
            self._start_refresher()


def _spawn_daemon(task: Callable[[], None]) -> None:
    threading.Thread(target=task, name="secretinj-background", daemon=True).start()


def _workspace(workspace: Workspace | str | None, env: Mapping[str, str]) -> Workspace:
    if isinstance(workspace, str):
        try:
            return Workspace.from_resource_id(workspace)
        except ValueError as ex:
            raise ConfigurationError(f"workspace is malformed: {ex}") from None
    found = workspace or workspace_from_environ(env)
    if found is None:
        raise ConfigurationError(UNKNOWN_WORKSPACE_HINT)
    return found


def _seconds(explicit: float | None, env: Mapping[str, str], var: str, default: float) -> float:
    """Return explicit seconds, else the variable ``var``, else ``default``."""
    if explicit is not None:
        return float(explicit)
    text = env.get(var, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ConfigurationError(f"{var} must be a number of seconds >= 0, got {text!r}")
    return value
