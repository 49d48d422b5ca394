"""SecretResolver: the public face of one resolver: settings plus a fetch engine.

Building a resolver reads configuration (`settings.ResolverSettings`) and imports nothing
heavy. The fetching machinery (`engine.FetchEngine`: azure-identity, requests, tenacity) is
built on the first fetch. The package's layers, top down: this module and the front door
(``__init__``), the environment scan (`environment`), the engine, the variables it writes
(`variables`), the cache, the clients (`connections`, `keyvault`, `identity`), the transport,
the errors. Each reaches only downward.

Longer than 300 lines because a third of it is the public API's documentation (every
argument) and the settings exposed as read-only attributes.
"""

from __future__ import annotations

import os
import time

from ._constants import LISTSECRETS_API_VERSION, RAISE
from .engine import FetchEngine
from .environment import resolve_environment as _resolve_environment
from .errors import MissingSecretError, SecretInjectionError
from .references import parse_reference
from .settings import ResolverSettings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, MutableMapping
    from typing import Any

    import requests
    from azure.core.credentials import TokenCredential

    from .clouds import Cloud
    from .references import Reference
    from .report import ResolutionReport
    from .retry import RetryPolicy
    from .workspace import Workspace


class SecretResolver:
    """Resolves secret references with a managed identity, caching what it fetched.

    Explicit arguments win over environment variables, which are read once, here, into a
    `ResolverSettings` (pass ``settings=`` to give one directly). Nothing is fetched, and
    nothing heavy imported, until a reference needs it. Configuration problems (a malformed
    workspace id, an unknown cloud, an http endpoint to a non-loopback host) are raised when
    a reference needs that configuration, so that `resolve_environment` can still report
    every variable.

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
        settings: a `ResolverSettings` to use as it is (the arguments above are then
            ignored, except the collaborators: credential, session, retry policy, clock,
            sleep, spawn).
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
        max_workers: int | None = None,
        read_timeout_s: float | None = None,
        wait_for_access_s: float | None = None,
        max_stale_s: float | None = None,
        revocation_grace_s: float | None = None,
        refresh_interval_s: float | None = None,
        min_refresh_interval_s: float | None = None,
        revalidate_timeout_s: float | None = None,
        max_cache_entries: int | None = None,
        redact: bool | None = None,
        api_version: str = LISTSECRETS_API_VERSION,
        spawn: Callable[[Callable[[], None]], None] | None = None,
        settings: ResolverSettings | None = None,
    ) -> None:
        if settings is None:
            settings = ResolverSettings.build(
                environ,
                credential_given=credential is not None,
                workspace=workspace,
                cloud=cloud,
                arm_endpoint=arm_endpoint,
                keyvault_endpoint=keyvault_endpoint,
                cache_ttl_s=cache_ttl_s,
                client_id=client_id,
                max_workers=max_workers,
                read_timeout_s=read_timeout_s,
                wait_for_access_s=wait_for_access_s,
                max_stale_s=max_stale_s,
                revocation_grace_s=revocation_grace_s,
                refresh_interval_s=refresh_interval_s,
                min_refresh_interval_s=min_refresh_interval_s,
                revalidate_timeout_s=revalidate_timeout_s,
                max_cache_entries=max_cache_entries,
                redact=redact,
                api_version=api_version if api_version != LISTSECRETS_API_VERSION else None,
            )
        self.settings = settings
        self.engine = FetchEngine(
            settings,
            credential=credential,
            session=session,
            retry_policy=retry_policy,
            clock=clock,
            sleep=sleep,
            spawn=spawn,
            environ=environ,
        )
        """The fetch engine. Internal: its interface serves the package's own modules."""

    # -- the settings, as attributes ------------------------------------------------------

    @property
    def cloud(self) -> Cloud:
        """The cloud (endpoints, token scopes)."""
        return self.settings.cloud

    @property
    def arm_endpoint(self) -> str:
        """ARM's base URL (the cloud's, or the override)."""
        return self.settings.arm_endpoint

    @property
    def keyvault_endpoint(self) -> str | None:
        """The Key Vault override (the mock), or None."""
        return self.settings.keyvault_endpoint

    @property
    def workspace(self) -> Workspace | None:
        """The workspace connections are read from (None: unknown)."""
        return self.settings.workspace

    @property
    def client_id(self) -> str | None:
        """The user-assigned identity's client id (None: system-assigned)."""
        return self.settings.client_id

    @property
    def cache_ttl_s(self) -> float:
        """Seconds a fetched value stays fresh."""
        return self.settings.cache_ttl_s

    @property
    def wait_for_access_s(self) -> float:
        """How long `resolve_environment` waits for a role to propagate."""
        return self.settings.wait_for_access_s

    @property
    def refresh_interval_s(self) -> float:
        """The background refresh's period (0: off)."""
        return self.settings.refresh_interval_s

    @property
    def fetch_count(self) -> int:
        """How many ListSecrets / Key Vault calls this resolver started (not retries)."""
        return self.engine.fetch_count

    # -- public API -----------------------------------------------------------------------

    def resolve(self, reference: str | Reference) -> str:
        """Return the value a reference points at, fetching it unless the cache is fresh."""
        from .variables import value_of

        ref = parse_reference(reference) if isinstance(reference, str) else reference
        return value_of(ref, self.engine.payload(ref))

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
            self.engine,
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
        ref = self.engine.variables.reference_of(name, value)
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
        self.engine.refresh()

    def on_change(self, name: str, callback: Callable[[str], None]) -> None:
        """Call ``callback(name)`` whenever a refresh yields a new value for variable ``name``.

        The variable must hold a reference, or have been resolved and written back by this
        resolver. The callback gets the name only; read the value with `get_secret`. It runs
        after the fetch is complete (it may use the resolver); its exceptions are logged.
        """
        variables = self.engine.variables
        if variables.knows(name):
            variables.watch(name, None, None, callback)
            return
        value = os.environ.get(name)
        ref = variables.reference_of(name, value) if value is not None else None
        if ref is None:
            raise MissingSecretError(
                f"{name} holds no reference this resolver knows of: nothing to watch",
                variable=name,
            )
        from .variables import value_of

        cached = self.engine.cache.fresh(ref.group_key)
        baseline = None
        if cached is not None:
            try:
                baseline = value_of(ref, cached)
            except SecretInjectionError:
                baseline = None
        variables.watch(name, ref, baseline, callback)

    def describe_settings(self) -> dict[str, dict[str, Any]]:
        """Each effective setting and where it came from (argument, variable, default)."""
        return self.settings.describe()

    def close(self) -> None:
        """Stop the background refresh, if any."""
        self.engine.close()

    def __enter__(self) -> SecretResolver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        workspace = self.workspace.resource_id if self.workspace else None
        return (
            f"SecretResolver(workspace={workspace!r}, cloud={self.cloud.name!r}, "
            f"arm_endpoint={self.arm_endpoint!r}, keyvault_endpoint={self.keyvault_endpoint!r}, "
            f"cache_ttl_s={self.cache_ttl_s}, cached={len(self.engine.cache)})"
        )
