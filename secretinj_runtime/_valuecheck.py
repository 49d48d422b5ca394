"""Check one value of ``environment_variables`` the way the runtime would read it (pure).

`check_value` checks the reference grammar, connection and secret names, versions, and that
a Key Vault host is a vault of a known cloud; `environ_problem` says why the process
environment cannot hold a name or value. `secretinj_runtime.lint` applies both to files.
"""

from __future__ import annotations

from .clouds import AZURE_PUBLIC_CLOUD, CLOUDS, Cloud
from .errors import ReferenceSyntaxError, UntrustedEndpointError
from .references import KeyVaultReference, is_reference, parse_reference

ERROR = "error"
WARNING = "warning"
CLOUD_VARIABLE = "SECRETINJ_CLOUD"

_BARE_REFERENCE = ("azureml://connections/", "keyvault:https://")


def check_value(value: str, cloud: Cloud | None = None) -> list[tuple[str, str]]:
    """Check one string value; return ``(level, message)`` pairs (empty when fine).

    ``cloud`` is the cloud the container runs in, None when it cannot be told (the runtime
    then uses AzureCloud unless ``SECRETINJ_CLOUD`` is set some other way).
    """
    if not is_reference(value):
        for marker in _BARE_REFERENCE:
            if marker in value:
                return [
                    (
                        WARNING,
                        f"mentions '{marker}' without '${{{{...}}}}': it is passed on as a "
                        "literal, not resolved",
                    )
                ]
        return []
    try:
        ref = parse_reference(value)
    except ReferenceSyntaxError as ex:
        return [(ERROR, ex.message)]
    if not isinstance(ref, KeyVaultReference):
        return []
    out = _check_vault_host(ref, cloud)
    if ref.version is None:
        out.append(
            (
                WARNING,
                "no secret version: the platform documents only the versioned form "
                "'.../secrets/<name>/<version>'; the runtime fetches the latest version",
            )
        )
    return out


def _check_vault_host(ref: KeyVaultReference, cloud: Cloud | None) -> list[tuple[str, str]]:
    host_cloud = _vault_cloud(ref)
    if cloud is not None:
        try:
            _check_host(ref, cloud)
        except UntrustedEndpointError as ex:
            also = ""
            if host_cloud is not None:
                also = f" (it is a vault of {host_cloud.name})"
            return [(ERROR, ex.message + also)]
        return []
    if host_cloud is None:
        for candidate in CLOUDS.values():
            if ref.host.lower().endswith(candidate.keyvault_suffix):
                try:  # a vault host of that cloud, but not a valid vault name
                    _check_host(ref, candidate)
                except UntrustedEndpointError as ex:
                    return [(ERROR, ex.message)]
        suffixes = ", ".join(f"'<vault>{c.keyvault_suffix}'" for c in CLOUDS.values())
        return [
            (
                ERROR,
                f"Key Vault host {ref.host!r} is not a vault of any Azure cloud ({suffixes}): "
                "the runtime refuses to send a token to it",
            )
        ]
    if host_cloud is not AZURE_PUBLIC_CLOUD:
        return [
            (
                WARNING,
                f"a vault of {host_cloud.name}: it resolves only where "
                f"{CLOUD_VARIABLE}={host_cloud.name} (the default, AzureCloud, refuses it); "
                f"set {CLOUD_VARIABLE} in environment_variables or use --cloud",
            )
        ]
    return []


def _check_host(ref: KeyVaultReference, cloud: Cloud) -> None:
    from .keyvault import check_vault_host

    check_vault_host(ref, cloud)


def _vault_cloud(ref: KeyVaultReference) -> Cloud | None:
    """Return the cloud whose vault ``ref`` points at, None if none."""
    for cloud in CLOUDS.values():
        try:
            _check_host(ref, cloud)
        except UntrustedEndpointError:
            continue
        return cloud
    return None


def environ_problem(name: str, value: str | None = None) -> str | None:
    """Say why the process environment cannot hold ``name`` (or ``value``); None if it can.

    The message never quotes a value, and of a name only the part before a ``=`` or NUL.
    """
    if not name:
        return "an empty variable name: the environment cannot hold it"
    for char, what in (("=", "'='"), ("\0", "a NUL character")):
        if char in name:
            shown = name.split("=", 1)[0].split("\0", 1)[0]
            return f"variable name {shown + '...'!r} holds {what}: the environment cannot hold it"
    if value is not None and "\0" in value:
        return f"{name}: the value holds a NUL character: the environment cannot hold it"
    return None
