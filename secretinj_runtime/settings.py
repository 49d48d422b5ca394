"""ResolverSettings: a resolver's configuration as one frozen, typed value.

Built once from explicit arguments, over ``SECRETINJ_*`` (and the platform's) environment
variables, over defaults. Validation problems are values the settings carry, not exceptions:
a malformed TTL or an untrusted endpoint is raised when a reference needs that setting, so
that `resolve_environment` can still report every variable. `describe` says where each
effective setting came from (argument, which variable, default) and never holds a secret.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ._constants import (
    DEFAULT_CACHE_TTL_S,
    DEFAULT_MAX_STALE_S,
    DEFAULT_MIN_REFRESH_INTERVAL_S,
    DEFAULT_REVOCATION_GRACE_S,
    LISTSECRETS_API_VERSION,
    EnvironmentVariables,
)
from .clouds import AZURE_PUBLIC_CLOUD, Cloud, get_cloud
from .errors import ConfigurationError, SecretInjectionError
from .references import KeyVaultReference
from .workspace import UNKNOWN_WORKSPACE_HINT, Workspace, workspace_from_environ

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from .references import ConnectionReference

    Reference = ConnectionReference | KeyVaultReference

ARGUMENT = "argument"
DEFAULT = "default"

#: Durations read from the environment: setting name -> (variable, default seconds).
_DURATIONS: dict[str, tuple[str, float]] = {
    "cache_ttl_s": (EnvironmentVariables.CACHE_TTL_S, DEFAULT_CACHE_TTL_S),
    "wait_for_access_s": (EnvironmentVariables.ACCESS_WAIT_S, 0.0),
    "max_stale_s": (EnvironmentVariables.MAX_STALE_S, DEFAULT_MAX_STALE_S),
    "revocation_grace_s": (EnvironmentVariables.REVOCATION_GRACE_S, DEFAULT_REVOCATION_GRACE_S),
    "refresh_interval_s": (EnvironmentVariables.REFRESH_INTERVAL_S, 0.0),
    "min_refresh_interval_s": (
        EnvironmentVariables.MIN_REFRESH_INTERVAL_S,
        DEFAULT_MIN_REFRESH_INTERVAL_S,
    ),
}


#: Settings only an argument sets (no variable reads them).
_ARGUMENTS_ONLY = (
    "revalidate_timeout_s",
    "read_timeout_s",
    "max_workers",
    "max_cache_entries",
    "api_version",
)


@dataclass(frozen=True)
class ResolverSettings:
    """Everything a resolver is configured with; see `SecretResolver` for each meaning."""

    cloud: Cloud = AZURE_PUBLIC_CLOUD
    arm_endpoint: str = AZURE_PUBLIC_CLOUD.arm_endpoint
    keyvault_endpoint: str | None = None
    workspace: Workspace | None = None
    client_id: str | None = None
    cache_ttl_s: float = DEFAULT_CACHE_TTL_S
    wait_for_access_s: float = 0.0
    max_stale_s: float = DEFAULT_MAX_STALE_S
    revocation_grace_s: float = DEFAULT_REVOCATION_GRACE_S
    refresh_interval_s: float = 0.0
    min_refresh_interval_s: float = DEFAULT_MIN_REFRESH_INTERVAL_S
    revalidate_timeout_s: float = 2.0
    read_timeout_s: float = 15.0
    max_workers: int = 32
    max_cache_entries: int = 1024
    api_version: str = LISTSECRETS_API_VERSION
    redact: bool = True
    problems: tuple[SecretInjectionError, ...] = ()
    """Configuration problems: raised for every reference (first one)."""
    workspace_problem: SecretInjectionError | None = None
    """Raised for connection references only (Key Vault needs no workspace)."""
    sources: Mapping[str, str] = field(default_factory=dict)
    """Setting name -> ``argument``, the variable it was read from, or ``default``."""

    @classmethod
    def build(cls, environ: Mapping[str, str] | None = None, **explicit: Any) -> ResolverSettings:
        """Build settings from ``explicit`` arguments (None: not given), ``environ``, defaults.

        ``environ`` defaults to ``os.environ``. ``client_id`` is read from the environment only
        when ``credential_given`` is false (an explicit credential needs none).
        """
        env: Mapping[str, str] = os.environ if environ is None else environ
        var = EnvironmentVariables
        given = {k: v for k, v in explicit.items() if v is not None}
        credential_given = bool(given.pop("credential_given", False))
        values: dict[str, Any] = {}
        sources: dict[str, str] = dict.fromkeys(given, ARGUMENT)
        problems: list[SecretInjectionError] = []

        def read(name: str, variables: tuple[str, ...]) -> str | None:
            if name in given:
                return str(given[name]) if not isinstance(given[name], str) else given[name]
            for variable in variables:
                text = env.get(variable, "").strip()
                if text:
                    sources[name] = variable
                    return text
            return None

        try:
            cloud = get_cloud(given.get("cloud") or read("cloud", (var.CLOUD, var.AZUREML_CLOUD)))
        except SecretInjectionError as ex:
            problems.append(ex)
            cloud = AZURE_PUBLIC_CLOUD
        values["cloud"] = cloud
        values["arm_endpoint"] = cloud.arm_endpoint
        for name, variable in (
            ("arm_endpoint", var.ARM_ENDPOINT),
            ("keyvault_endpoint", var.KEYVAULT_ENDPOINT),
        ):
            url = read(name, (variable,))
            if url is not None:
                from .endpoints import check_endpoint

                try:
                    values[name] = check_endpoint(url, setting=variable)
                except SecretInjectionError as ex:
                    problems.append(ex)
        for name, (variable, default) in _DURATIONS.items():
            values[name] = default
            text = read(name, (variable,))
            if text is not None:
                try:
                    values[name] = _seconds(text, variable if name not in given else name)
                except SecretInjectionError as ex:
                    problems.append(ex)
        workspace_problem: SecretInjectionError | None = None
        try:
            values["workspace"] = _workspace(given.get("workspace"), env, sources)
        except SecretInjectionError as ex:
            workspace_problem = ex
        if "client_id" not in given and not credential_given:
            from .identity import client_id_from_environ

            values["client_id"] = client_id_from_environ(env)
            if values["client_id"] is not None:
                sources["client_id"] = "environment (client-id chain)"
        for name in ("client_id", "redact", *_ARGUMENTS_ONLY):
            if name in given:
                values[name] = given[name]
        values["max_workers"] = max(1, int(values.get("max_workers", 32)))
        return cls(
            **values,
            problems=tuple(problems),
            workspace_problem=workspace_problem,
            sources=sources,
        )

    def check(self, ref: Reference) -> None:
        """Refuse, before any network call, what cannot or must not be fetched.

        Raises the first configuration problem; for a connection, the workspace problem; for
        Key Vault, `UntrustedEndpointError` when the host is not a vault of the cloud.
        """
        if self.problems:
            raise self.problems[0].copy()
        if isinstance(ref, KeyVaultReference):
            from .keyvault import check_vault_host

            check_vault_host(ref, self.cloud)
        elif self.workspace_problem is not None:
            raise self.workspace_problem.copy()

    def describe(self) -> dict[str, dict[str, Any]]:
        """Return each setting's effective value and where it came from (JSON-ready)."""
        out: dict[str, dict[str, Any]] = {}
        for name in (
            "cloud",
            "arm_endpoint",
            "keyvault_endpoint",
            "workspace",
            "client_id",
            *_DURATIONS,
            *_ARGUMENTS_ONLY,
        ):
            value = getattr(self, name)
            if isinstance(value, Cloud):
                value = value.name
            elif isinstance(value, Workspace):
                value = value.resource_id
            out[name] = {"value": value, "source": self.sources.get(name, DEFAULT)}
        out["problems"] = {"value": [p.message for p in self.problems], "source": "validation"}
        if self.workspace_problem is not None:
            out["workspace"]["problem"] = self.workspace_problem.message
        return out


def _workspace(
    workspace: Workspace | str | None, env: Mapping[str, str], sources: dict[str, str]
) -> Workspace:
    if isinstance(workspace, Workspace):
        return workspace
    if isinstance(workspace, str):
        try:
            return Workspace.from_resource_id(workspace)
        except ValueError as ex:
            raise ConfigurationError(f"workspace is malformed: {ex}") from None
    found = workspace_from_environ(env)
    if found is None:
        raise ConfigurationError(UNKNOWN_WORKSPACE_HINT)
    sources["workspace"] = "environment (workspace variables)"
    return found


def _seconds(text: str, setting: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ConfigurationError(f"{setting} must be a number of seconds >= 0, got {text!r}")
    return value
