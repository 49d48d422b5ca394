"""Resolve Azure ML secret-injection references inside an online-deployment container.

Three lines in ``score.py``::

    import secretinj_runtime as sir

    def init():
        sir.resolve_environment()          # every ${{...}} variable, or raise with a report
        key = sir.get_secret("AOAI_API_KEY")

Values the platform injected are read as they are (no network, no heavy import). A variable
that still holds a reference is fetched with the deployment's managed identity: workspace
connection ListSecrets (ARM) or Key Vault.
"""

from __future__ import annotations

import _thread
import os

from ._constants import RAISE, VERSION, EnvironmentVariables
from .clouds import Cloud, get_cloud
from .environment import resolve_environment as _resolve_environment
from .errors import (
    AccessDeniedError,
    ConfigurationError,
    IdentityUnavailableError,
    MissingSecretError,
    NotFoundError,
    ReferenceSyntaxError,
    SecretInjectionError,
    SecretResolutionError,
    ServiceError,
    ThrottledError,
    TimedOutError,
    UntrustedEndpointError,
)
from .references import ConnectionReference, KeyVaultReference, is_reference, parse_reference
from .report import ResolutionReport, Source, Status, VariableStatus
from .workspace import Workspace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, MutableMapping
    from typing import Any

    from .resolver import SecretResolver
    from .retry import RetryPolicy
    from .settings import ResolverSettings

__version__ = VERSION

__all__ = [
    "AccessDeniedError",
    "Cloud",
    "ConfigurationError",
    "ConnectionReference",
    "IdentityUnavailableError",
    "KeyVaultReference",
    "MissingSecretError",
    "NotFoundError",
    "ReferenceSyntaxError",
    "ResolutionReport",
    "ResolverSettings",
    "RetryPolicy",
    "SecretInjectionError",
    "SecretResolutionError",
    "SecretResolver",
    "ServiceError",
    "Source",
    "Status",
    "ThrottledError",
    "TimedOutError",
    "UntrustedEndpointError",
    "VariableStatus",
    "Workspace",
    "__version__",
    "configure_logging",
    "default_resolver",
    "get_cloud",
    "get_secret",
    "is_reference",
    "mask_secrets",
    "parse_reference",
    "resolve_environment",
    "resolve_reference",
]

_default_lock = _thread.allocate_lock()
_default: SecretResolver | None = None
_default_config: tuple[str | None, ...] = ()


def default_resolver(environ: Mapping[str, str] | None = None) -> SecretResolver:
    """Return the shared resolver the module-level functions use.

    Built on first use from the environment, and built again (the old one closed) if a
    configuration variable (``SECRETINJ_*``, the workspace variables, the identity endpoint)
    changed since. A value the resolver wrote back itself (e.g. ``AZURE_CLIENT_ID`` that
    held a reference) is not a change of configuration.
    """
    global _default, _default_config  # noqa: PLW0603 - the one lazily built default
    env: Mapping[str, str] = os.environ if environ is None else environ
    old: SecretResolver | None = None
    with _default_lock:
        current = _default
        config = tuple(
            (current and current.engine.variables.written_reference(v, env.get(v))) or env.get(v)
            for v in EnvironmentVariables.CONFIG
        )
        if current is None or config != _default_config:
            from ._forksafe import register_callback
            from .resolver import SecretResolver

            register_callback(_after_fork_in_child)
            old = current
            _default = current = SecretResolver(environ=env)
            _default_config = config
    if old is not None:
        old.close()
    return current


def _after_fork_in_child() -> None:
    global _default_lock  # noqa: PLW0603 - held by a parent thread, it would never be released
    _default_lock = _thread.allocate_lock()


def _config_environ(environ: Mapping[str, str] | None) -> Mapping[str, str] | None:
    """Read configuration from ``environ`` where it sets it, else from ``os.environ``."""
    if environ is None or environ is os.environ:
        return None
    from collections import ChainMap

    return ChainMap(dict(environ), dict(os.environ))


def resolve_environment(
    names: Iterable[str] | None = None,
    *,
    environ: MutableMapping[str, str] | None = None,
    write_back: bool = True,
    required: bool = True,
    resolver: SecretResolver | None = None,
    wait_for_access_s: float | None = None,
) -> ResolutionReport:
    """Resolve every variable that holds a reference (or ``names``); return the report.

    Injected values are reported ``PRESENT`` without any network call or heavy import.
    References are fetched concurrently, once per connection and per Key Vault secret, and
    (with ``write_back``) replace the reference in ``environ`` (default ``os.environ``). With
    ``required``, any failure raises `SecretResolutionError` naming every failed variable.
    ``wait_for_access_s`` (default ``SECRETINJ_ACCESS_WAIT_S`` or 0) keeps retrying 403 and a
    missing identity that long, for a role assignment that is still propagating.
    """
    if resolver is None and _default is not None:
        resolver = default_resolver(_config_environ(environ))
    return _resolve_environment(
        resolver.engine if resolver is not None else None,
        names,
        os.environ if environ is None else environ,
        write_back=write_back,
        required=required,
        wait_for_access_s=wait_for_access_s,
        engine_factory=lambda: default_resolver(_config_environ(environ)).engine,
    )


def get_secret(name: str, default: Any = RAISE, *, resolver: SecretResolver | None = None) -> str:
    """Return the value of environment variable ``name``, resolving it if it is a reference.

    Raises `MissingSecretError` (a ``KeyError``) when it is unset and no default is given.
    """
    value = os.environ.get(name)
    if resolver is None and _default is None and value is not None and not is_reference(value):
        return value  # fast path: an injected literal, no resolver needed
    return (resolver or default_resolver()).get_secret(name, default)


def resolve_reference(reference: str, *, resolver: SecretResolver | None = None) -> str:
    """Return the value a single reference points at."""
    return (resolver or default_resolver()).resolve(reference)


def __getattr__(name: str) -> Any:
    # The resolver (threads, cache, single flight) and its settings load on first use, not on
    # import: the injected fast path never needs them.
    if name == "SecretResolver":
        from .resolver import SecretResolver

        globals()["SecretResolver"] = SecretResolver
        return SecretResolver
    if name == "ResolverSettings":
        from .settings import ResolverSettings

        globals()["ResolverSettings"] = ResolverSettings
        return ResolverSettings
    if name == "RetryPolicy":  # tenacity is imported with it
        from .retry import RetryPolicy

        globals()["RetryPolicy"] = RetryPolicy
        return RetryPolicy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def configure_logging(*loggers: str, level: int | str | None = None) -> None:
    """Show the runtime's log lines (and those of ``loggers``) under azmlinfsrv.

    azmlinfsrv leaves the root logger without a handler, so INFO lines print nothing. This
    adds one stderr handler in azmlinfsrv's format to the ``secretinj_runtime`` logger and to
    each logger named (e.g. your ``score.py``'s), leaving the server's handlers alone; where
    the application already configured logging, it only sets the levels. ``level`` defaults
    to ``AZUREML_LOG_LEVEL``, else INFO. Idempotent.
    """
    from ._logsetup import configure_logging as _configure

    _configure(*loggers, level=level)


def mask_secrets(values: Iterable[str]) -> None:
    """Mask these values (e.g. ones injected by the platform) in every log record from now on."""
    from .redaction import mask_secrets as _mask

    _mask(values)


def _mask_what_run_resolved() -> None:
    """Mask the values ``secretinj run`` resolved for this process (``SECRETINJ_RESOLVED``).

    The one thing done at import, and only under ``secretinj run``: a ``score.py`` that logs
    a key before calling anything here must not print it.
    """
    names = os.environ.get(EnvironmentVariables.RESOLVED)
    if names:
        mask_secrets(os.environ.get(n.strip(), "") for n in names.split(","))


_mask_what_run_resolved()
