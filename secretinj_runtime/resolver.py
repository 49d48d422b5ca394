"""SecretResolver: the hall that connects grammar, cache, identity, clients and report.

Building a resolver reads configuration and imports nothing heavy. The fetching machinery
(azure-identity, requests, tenacity) is imported and built on the first fetch.
"""

from __future__ import annotations

import os
import threading
import time

from ._constants import (
    DEFAULT_CACHE_TTL_S,
    DEFAULT_MAX_STALE_S,
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
from .errors import ConfigurationError, MissingSecretError, NotFoundError, SecretInjectionError
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

    from .clouds import Cloud
    from .connections import ConnectionsClient
    from .identity import TokenCache
    from .keyvault import KeyVaultClient
    from .redaction import SecretRedactor
    from .references import Reference
    from .report import ResolutionReport
    from .transport import RetryPolicy

    Payload = dict[str, Any] | str
    Key = tuple[str, ...]


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
        cloud: a cloud name (``AzureCloud``, ``AzureChinaCloud``, ``AzureUSGovernment``).
        arm_endpoint: ARM base URL override (https, or http to loopback).
        keyvault_endpoint: route Key Vault calls to ``<endpoint>/<vault>/secrets/...``.
        cache_ttl_s: seconds a fetched value stays fresh (default 3600).
        client_id: client id of a user-assigned identity (default credential only).
        environ: where configuration is read from (default ``os.environ``).
        session: a ``requests.Session`` for every call.
        retry_policy: a `RetryPolicy` (attempts, deadline, backoff).
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
        redact: mask every fetched secret and token in all log records.
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
        redact: bool = True,
        api_version: str = LISTSECRETS_API_VERSION,
    ) -> None:
        env: Mapping[str, str] = os.environ if environ is None else environ
        var = EnvironmentVariables
        self._credential, self._session, self._retry_policy = credential, session, retry_policy
        self._clock, self._sleep = clock, sleep
        self._max_workers, self._read_timeout_s = max(1, max_workers), read_timeout_s
        self._redact, self._api_version, self._environ = redact, api_version, env
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
        try:
            self._configure_endpoints(env, cloud, arm_endpoint, keyvault_endpoint)
            self.cache_ttl_s = _seconds(cache_ttl_s, env, var.CACHE_TTL_S, DEFAULT_CACHE_TTL_S)
            self.wait_for_access_s = _seconds(wait_for_access_s, env, var.ACCESS_WAIT_S, 0.0)
            self.refresh_interval_s = _seconds(refresh_interval_s, env, var.REFRESH_INTERVAL_S, 0)
            max_stale = _seconds(max_stale_s, env, var.MAX_STALE_S, max_stale)
            grace = _seconds(revocation_grace_s, env, var.REVOCATION_GRACE_S, grace)
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
            ttl_s=self.cache_ttl_s, max_stale_s=max_stale, revocation_grace_s=grace, clock=clock
        )
        self._flights = SingleFlight()
        self._written: dict[str, tuple[Reference, str, MutableMapping[str, str]]] = {}
        self._watchers: dict[str, list[Callable[[str], None]]] = {}
        self._watched_refs: dict[str, Reference] = {}
        self._tokens: TokenCache | None = None
        self._connections: ConnectionsClient | None = None
        self._keyvault: KeyVaultClient | None = None
        self._redactor: SecretRedactor | None = None
        self._refresher: threading.Thread | None = None
        self._closed = threading.Event()
        self.fetch_count = 0
        """How many ListSecrets / Key Vault calls this resolver started (not counting retries)."""

    def _configure_endpoints(
        self,
        env: Mapping[str, str],
        cloud: str | Cloud | None,
        arm_endpoint: str | None,
        keyvault_endpoint: str | None,
    ) -> None:
        var = EnvironmentVariables
        self.cloud = get_cloud(cloud or env.get(var.CLOUD))
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
        env: MutableMapping[str, str] = os.environ if environ is None else environ
        return _resolve_environment(
            self,
            names,
            env,
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
        env: MutableMapping[str, str] = os.environ if environ is None else environ
        value = env.get(name)
        if value is None:
            if default is RAISE:
                raise MissingSecretError(f"environment variable {name} is not set", variable=name)
            return default  # type: ignore[no-any-return]
        ref = self._reference_of(name, value)
        if ref is None:
            return value
        try:
            return self.resolve(ref)
        except SecretInjectionError as ex:
            raise ex.for_variable(name, str(ref)) from None

    def refresh(self) -> None:
        """Make every cached value stale: the next use of each reference fetches it again.

        The old values stay as a fallback should the new fetch fail transiently, and a value
        that changed fires the `on_change` callbacks of its variables.
        """
        self._cache.mark_stale()

    def on_change(self, name: str, callback: Callable[[str], None]) -> None:
        """Call ``callback(name)`` whenever a refresh yields a new value for variable ``name``.

        The variable must hold a reference, or have been resolved and written back by this
        resolver. The callback gets the name only; read the value with `get_secret`.
        """
        if name not in self._written:
            value = os.environ.get(name)
            ref = self._reference_of(name, value) if value is not None else None
            if ref is None:
                raise MissingSecretError(
                    f"{name} holds no reference this resolver knows of: nothing to watch",
                    variable=name,
                )
            self._watched_refs[name] = ref
        with self._lock:
            self._watchers.setdefault(name, []).append(callback)

    def close(self) -> None:
        """Stop the background refresh, if any."""
        self._closed.set()
        if self._refresher is not None:
            self._refresher.join(timeout=5)

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

    # -- used by environment.py -----------------------------------------------------------

    def _written_names(self) -> frozenset[str]:
        return frozenset(self._written)

    def _reference_of(self, name: str, value: str) -> Reference | None:
        """Return the reference behind ``value`` (None for a literal); raise if malformed."""
        written = self._written.get(name)
        if written is not None and written[1] == value:
            return written[0]
        return variable_reference(name, value)

    def _remember(
        self, name: str, ref: Reference, value: str, env: MutableMapping[str, str]
    ) -> None:
        """Record that ``name`` in ``env`` holds the value of ``ref`` (written back)."""
        with self._lock:
            self._written[name] = (ref, value, env)

    @staticmethod
    def _extract(ref: Reference, payload: Payload) -> str:
        if isinstance(ref, KeyVaultReference):
            assert isinstance(payload, str)
            return payload
        from .connections import extract

        assert isinstance(payload, dict)
        return extract(ref, payload)

    def _payload(self, ref: Reference) -> Payload:
        self._check(ref)
        hit = self._cache.fresh(ref.group_key)
        if hit is not None:
            return hit
        return self._flights.do(ref.group_key, lambda: self._fetch(ref))  # type: ignore[return-value]

    # -- internals ----------------------------------------------------------------------

    def _check(self, ref: Reference) -> None:
        """Refuse, before any network call, what cannot or must not be fetched."""
        if self._config_error is not None:
            raise self._config_error
        if isinstance(ref, ConnectionReference):
            if self._workspace_error is not None:
                raise self._workspace_error
        else:
            from .keyvault import check_vault_host

            check_vault_host(ref, self.cloud)

    def _fetch(self, ref: Reference) -> Payload:
        key = ref.group_key
        hit = self._cache.fresh(key)  # a flight that just landed may have filled the cache
        if hit is not None:
            return hit
        self._ensure_clients()
        with self._lock:
            self.fetch_count += 1
        try:
            payload = self._fetch_uncached(ref)
        except SecretInjectionError as ex:
            return self._cache.stale_or_raise(key, ex)
        previous = self._cache.store(ref, payload)
        if previous is not None and previous != payload:
            self._changed(key, previous, payload)
        self._start_refresher()
        return payload

    def _fetch_uncached(self, ref: Reference) -> Payload:
        if isinstance(ref, ConnectionReference):
            from .connections import secret_values

            assert self._connections is not None
            body = self._connections.list_secrets(ref.connection)
            self._mask(
                [*secret_values(body), self._extract(ConnectionReference(ref.connection), body)]
            )
            return body
        assert self._keyvault is not None
        value = self._keyvault.get_secret(ref)
        self._mask([value])
        return value

    def _changed(self, key: Key, old: Payload, new: Payload) -> None:
        """Update written-back variables and fire callbacks after a refresh changed a payload."""
        log = get_logger(__name__)
        with self._lock:
            written = list(self._written.items())
            watched = {**self._watched_refs, **{n: w[0] for n, w in written}}
        changed: list[str] = []
        for name, ref in watched.items():
            if ref.group_key != key:
                continue
            try:
                before, after = self._extract(ref, old), self._extract(ref, new)
            except NotFoundError as ex:
                log.warning("%s (%s): after a refresh: %s", name, ref, ex.message)
                continue
            if before == after:
                continue
            changed.append(name)
            entry = self._written.get(name)
            if entry is not None and entry[1] == before:
                entry[2][name] = after
                self._remember(name, ref, after, entry[2])
        for name in changed:
            log.info("%s: a refresh brought a new value", name)
            for callback in list(self._watchers.get(name, ())):
                try:
                    callback(name)
                except Exception:
                    log.exception("on_change callback for %s failed", name)

    def _start_refresher(self) -> None:
        if self.refresh_interval_s <= 0:
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
            self._cache.mark_stale()
            for ref in self._cache.references():
                try:
                    self._payload(ref)
                except SecretInjectionError as ex:
                    log.warning("background refresh of %s failed: %s", ref, ex.message)

    def _mask(self, values: list[str]) -> None:
        if self._redactor is not None:
            self._redactor.add(values)

    def _ensure_clients(self) -> None:
        with self._lock:
            if self._tokens is not None:
                return
            from .connections import ConnectionsClient
            from .identity import TokenCache, default_credential
            from .keyvault import KeyVaultClient
            from .redaction import global_redactor
            from .transport import Transport

            if self._redact:
                self._redactor = global_redactor()
            credential, client_id, environ = self._credential, self.client_id, self._environ

            def factory() -> TokenCredential:
                return credential or default_credential(client_id, environ)

            tokens = TokenCache(factory, on_token=lambda t: self._mask([t]))
            transport = Transport(
                session=self._session,
                policy=self._retry_policy,
                read_timeout_s=self._read_timeout_s,
                sleep=self._sleep,
                clock=self._clock,
            )
            cloud = self.cloud
            if self.workspace is not None:
                self._connections = ConnectionsClient(
                    transport,
                    self.workspace,
                    self.arm_endpoint,
                    token=lambda: tokens.get(cloud.arm_scope),
                    api_version=self._api_version,
                )
            self._keyvault = KeyVaultClient(
                transport,
                token=lambda: tokens.get(cloud.keyvault_scope),
                endpoint=self.keyvault_endpoint,
            )
            self._tokens = tokens


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
