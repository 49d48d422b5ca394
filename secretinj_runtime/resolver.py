"""SecretResolver: scan, plan, single-flight fetch, cache, write-back, report.

The injected fast path (every variable already holds a literal value) imports nothing beyond
this module's light dependencies: no azure-identity, requests, tenacity or even logging.
The fetching machinery is imported and built on the first reference that needs it.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from ._constants import DEFAULT_CACHE_TTL_S, LISTSECRETS_API_VERSION, EnvironmentVariables
from ._singleflight import SingleFlight
from .clouds import get_cloud
from .errors import (
    ConfigurationError,
    MissingSecretError,
    NotFoundError,
    SecretInjectionError,
    SecretResolutionError,
    ServiceError,
)
from .references import ConnectionReference, KeyVaultReference, is_reference, parse_reference
from .report import ResolutionReport, Source, Status, VariableStatus
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
    from .transport import RetryPolicy

    Payload = dict[str, Any] | str


class _Raise:
    def __repr__(self) -> str:
        return "<raise>"


_RAISE: Any = _Raise()


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
        clock: monotonic clock for the cache TTL and retry deadlines.
        sleep: what retries sleep with (tests pass a fake).
        max_workers: most groups fetched at once.
        read_timeout_s: longest wait for one answer (capped by the retry deadline).
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
        redact: bool = True,
        api_version: str = LISTSECRETS_API_VERSION,
    ) -> None:
        env: Mapping[str, str] = os.environ if environ is None else environ
        self._credential = credential
        self._session = session
        self._retry_policy = retry_policy
        self._clock = clock
        self._sleep = sleep
        self._max_workers = max(1, max_workers)
        self._read_timeout_s = read_timeout_s
        self._redact = redact
        self._api_version = api_version
        self._environ = env
        self.client_id = client_id
        self._config_error: SecretInjectionError | None = None
        self._workspace_error: SecretInjectionError | None = None
        self.cloud = get_cloud(None)
        self.arm_endpoint = self.cloud.arm_endpoint
        self.keyvault_endpoint: str | None = None
        self.cache_ttl_s = DEFAULT_CACHE_TTL_S
        try:
            self._configure_endpoints(env, cloud, arm_endpoint, keyvault_endpoint, cache_ttl_s)
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
        self._cache: dict[tuple[str, ...], tuple[Payload, float]] = {}
        self._flights = SingleFlight()
        self._written: dict[str, tuple[Reference, str]] = {}
        self._tokens: TokenCache | None = None
        self._connections: ConnectionsClient | None = None
        self._keyvault: KeyVaultClient | None = None
        self._redactor: SecretRedactor | None = None
        self.fetch_count = 0
        """How many ListSecrets / Key Vault calls this resolver started (not counting retries)."""

    def _configure_endpoints(
        self,
        env: Mapping[str, str],
        cloud: str | Cloud | None,
        arm_endpoint: str | None,
        keyvault_endpoint: str | None,
        cache_ttl_s: float | None,
    ) -> None:
        var = EnvironmentVariables
        self.cloud = get_cloud(cloud or env.get(var.CLOUD))
        self.arm_endpoint = self.cloud.arm_endpoint
        self.cache_ttl_s = _ttl(cache_ttl_s, env.get(var.CACHE_TTL_S))
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
        return _extract(ref, self._payload(ref))

    def resolve_environment(
        self,
        names: Iterable[str] | None = None,
        *,
        environ: MutableMapping[str, str] | None = None,
        write_back: bool = True,
        required: bool = True,
    ) -> ResolutionReport:
        """Resolve environment variables that hold references; report on each.

        Args:
            names: the variables to look at; None means every variable holding a reference.
                Explicit names may be literals (``PRESENT``) or unset (``MISSING``).
            environ: the mapping to read and write back to (default ``os.environ``).
            write_back: replace each resolved reference by its value in ``environ``.
            required: raise `SecretResolutionError` (report attached) if any variable failed.
        """
        env: MutableMapping[str, str] = os.environ if environ is None else environ
        return _resolve_environment(self, names, env, write_back=write_back, required=required)

    def get_secret(
        self,
        name: str,
        default: Any = _RAISE,
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
            if default is _RAISE:
                raise MissingSecretError(f"environment variable {name} is not set", variable=name)
            return default  # type: ignore[no-any-return]
        ref = self._reference_of(name, value)
        if ref is None:
            return value
        try:
            resolved = self.resolve(ref)
        except SecretInjectionError as ex:
            raise ex.for_variable(name, str(ref)) from None
        if name in self._written and resolved != value:
            env[name] = resolved
            self._written[name] = (ref, resolved)
        return resolved

    def refresh(self) -> None:
        """Forget every cached value: the next use of each reference fetches it again."""
        with self._lock:
            self._cache.clear()

    def __repr__(self) -> str:
        workspace = self.workspace.resource_id if self.workspace else None
        return (
            f"SecretResolver(workspace={workspace!r}, cloud={self.cloud.name!r}, "
            f"arm_endpoint={self.arm_endpoint!r}, keyvault_endpoint={self.keyvault_endpoint!r}, "
            f"cache_ttl_s={self.cache_ttl_s}, cached={len(self._cache)})"
        )

    # -- internals ----------------------------------------------------------------------

    def _reference_of(self, name: str, value: str) -> Reference | None:
        """Return the reference behind ``value`` (None for a literal); raise if malformed."""
        written = self._written.get(name)
        if written is not None and written[1] == value:
            return written[0]
        if not is_reference(value):
            return None
        try:
            return parse_reference(value)
        except SecretInjectionError as ex:
            raise ex.for_variable(name) from None

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

    def _fresh(self, key: tuple[str, ...]) -> Payload | None:
        hit = self._cache.get(key)
        if hit is not None and self._clock() - hit[1] < self.cache_ttl_s:
            return hit[0]
        return None

    def _payload(self, ref: Reference) -> Payload:
        self._check(ref)
        key = ref.group_key
        hit = self._fresh(key)
        if hit is not None:
            return hit
        return self._flights.do(key, lambda: self._fetch(ref, key))  # type: ignore[return-value]

    def _fetch(self, ref: Reference, key: tuple[str, ...]) -> Payload:
        hit = self._fresh(key)  # a flight that just landed may have filled the cache
        if hit is not None:
            return hit
        self._ensure_clients()
        with self._lock:
            self.fetch_count += 1
        payload: Payload
        if isinstance(ref, ConnectionReference):
            from .connections import secret_values

            assert self._connections is not None
            payload = self._connections.list_secrets(ref.connection)
            self._mask(
                [*secret_values(payload), _extract(ConnectionReference(ref.connection), payload)]
            )
        else:
            assert self._keyvault is not None
            payload = self._keyvault.get_secret(ref)
            self._mask([payload])
        with self._lock:
            self._cache[key] = (payload, self._clock())
        return payload

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


def _ttl(explicit: float | None, from_env: str | None) -> float:
    if explicit is not None:
        return float(explicit)
    if not from_env:
        return DEFAULT_CACHE_TTL_S
    try:
        ttl = float(from_env)
    except ValueError:
        ttl = -1.0
    if ttl < 0:
        raise ConfigurationError(
            f"{EnvironmentVariables.CACHE_TTL_S} must be a number of seconds >= 0, got {from_env!r}"
        )
    return ttl


def _extract(ref: Reference, payload: Payload) -> str:
    if isinstance(ref, KeyVaultReference):
        assert isinstance(payload, str)
        return payload
    from .connections import extract

    assert isinstance(payload, dict)
    return extract(ref, payload)


# -- resolve_environment ------------------------------------------------------------------


def _resolve_environment(
    resolver: SecretResolver | None,
    names: Iterable[str] | None,
    env: MutableMapping[str, str],
    *,
    write_back: bool,
    required: bool,
    resolver_factory: Callable[[], SecretResolver] | None = None,
) -> ResolutionReport:
    """Scan, plan, fetch each group once (concurrently), write back, report.

    ``resolver`` may be None while every variable is a literal: the fast path then builds
    no resolver (``resolver_factory`` makes one when a reference turns up).
    """
    started = time.perf_counter()
    written = resolver._written if resolver is not None else {}
    if names is None:
        names = [k for k, v in env.items() if is_reference(v) or k in written]
    statuses: dict[str, VariableStatus] = {}
    pending: list[tuple[str, Reference]] = []
    for name in names:
        value = env.get(name)
        if value is None:
            statuses[name] = VariableStatus(name, Status.MISSING, error="not set")
            continue
        try:
            ref = resolver._reference_of(name, value) if resolver else _parse_or_none(name, value)
        except SecretInjectionError as ex:
            statuses[name] = _failed(name, _shorten(value.strip()), ex, 0.0)
            continue
        if ref is None:
            statuses[name] = VariableStatus(name, Status.PRESENT, Source.INJECTED)
        else:
            statuses[name] = VariableStatus(name, Status.SERVICE_ERROR, reference=str(ref))
            pending.append((name, ref))
    if pending:
        if resolver is None:
            assert resolver_factory is not None
            resolver = resolver_factory()
        _fetch_pending(resolver, pending, statuses, env, write_back)
    report = ResolutionReport(statuses.values(), elapsed_ms=(time.perf_counter() - started) * 1000)
    _log_report(report, fetched=bool(pending))
    if required and not report.ok:
        raise SecretResolutionError(report)
    return report


def _parse_or_none(name: str, value: str) -> Reference | None:
    if not is_reference(value):
        return None
    try:
        return parse_reference(value)
    except SecretInjectionError as ex:
        raise ex.for_variable(name) from None


def _fetch_pending(
    resolver: SecretResolver,
    pending: list[tuple[str, Reference]],
    statuses: dict[str, VariableStatus],
    env: MutableMapping[str, str],
    write_back: bool,
) -> None:
    groups: dict[tuple[str, ...], Reference] = {}
    for _, ref in pending:
        groups.setdefault(ref.group_key, ref)
    outcomes: dict[tuple[str, ...], tuple[Payload | SecretInjectionError, float]] = {}

    def fetch(key: tuple[str, ...]) -> None:
        t0 = time.perf_counter()
        result: Payload | SecretInjectionError
        try:
            result = resolver._payload(groups[key])
        except SecretInjectionError as ex:
            result = ex
        except Exception as ex:  # a bug or a foreign failure: report it, never crash the scan
            _logger().debug("unexpected failure fetching %s", groups[key], exc_info=True)
            result = ServiceError(f"unexpected {type(ex).__name__} while fetching")
        outcomes[key] = (result, (time.perf_counter() - t0) * 1000)

    if len(groups) == 1:
        fetch(next(iter(groups)))
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(resolver._max_workers, len(groups))) as pool:
            list(pool.map(fetch, groups))
    for name, ref in pending:
        result, elapsed_ms = outcomes[ref.group_key]
        source = Source.CONNECTION if isinstance(ref, ConnectionReference) else Source.KEYVAULT
        if isinstance(result, SecretInjectionError):
            statuses[name] = _failed(name, str(ref), result, elapsed_ms)
            continue
        try:
            value = _extract(ref, result)
            if write_back:
                env[name] = value
                resolver._written[name] = (ref, value)
        except NotFoundError as ex:
            statuses[name] = _failed(name, str(ref), ex, elapsed_ms)
            continue
        except ValueError:  # os.environ refuses values with NUL characters
            statuses[name] = _failed(
                name,
                str(ref),
                ServiceError("the value cannot be stored in the environment (NUL character)"),
                elapsed_ms,
            )
            continue
        statuses[name] = VariableStatus(name, Status.RESOLVED, source, str(ref), None, elapsed_ms)


def _failed(
    name: str, reference: str, ex: SecretInjectionError, elapsed_ms: float
) -> VariableStatus:
    return VariableStatus(name, ex.status, None, reference, _error_text(ex), elapsed_ms)


def _error_text(ex: SecretInjectionError) -> str:
    tail = f" [request id {ex.request_id}]" if ex.request_id else ""
    return f"{ex.message}{tail}"


def _shorten(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _logger() -> Any:
    import logging

    return logging.getLogger(__name__)


def _log_report(report: ResolutionReport, *, fetched: bool) -> None:
    # The fast path does not import logging just to say that everything was present; an
    # application that already uses logging (azmlinfsrv does) still gets the summary line.
    if not fetched and "logging" not in sys.modules:
        return
    logger = _logger()
    logger.info("secret injection: %s", report.summary())
    for status in report.failed:
        logger.warning(
            "%s (%s): %s: %s", status.name, status.reference, status.status, status.error
        )
