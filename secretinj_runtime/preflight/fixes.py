"""The ``az`` commands preflight prints as fixes, with the real ids filled in."""

from __future__ import annotations

import shlex

from ..workspace import Workspace

#: The signed-in user's object id, as ``az`` finds it.
SIGNED_IN_USER = '"$(az ad signed-in-user show --query id -o tsv)"'


def _arg(value: str) -> str:
    """Quote a value for the shell, unless it is a ``"$(...)"`` substitution already."""
    return value if value.startswith('"$(') else shlex.quote(value)


def grant(assignee: str, principal_type: str, role: str, scope: str) -> str:
    """``az role assignment create`` for an object id (or a ``$(...)`` that prints one)."""
    return (
        f"az role assignment create --assignee-object-id {_arg(assignee)} "
        f"--assignee-principal-type {principal_type} --role {shlex.quote(role)} "
        f"--scope {_arg(scope)}"
    )


def endpoint_principal(workspace: Workspace, endpoint: str) -> str:
    """Return a ``$(...)`` that prints an endpoint's system-assigned principal id once it exists."""
    return (
        f'"$(az ml online-endpoint show --name {shlex.quote(endpoint)} '
        f"--resource-group {shlex.quote(workspace.resource_group)} "
        f"--workspace-name {shlex.quote(workspace.name)} "
        '--query identity.principal_id -o tsv)"'
    )


def vault_id(vault: str) -> str:
    """Return a ``$(...)`` that prints a vault's ARM id."""
    return f'"$(az keyvault show --name {shlex.quote(vault)} --query id -o tsv)"'


def rbac_model(vault: str, resource_group: str | None) -> str:
    """Switch a vault to the Azure RBAC permission model."""
    group = f" --resource-group {shlex.quote(resource_group)}" if resource_group else ""
    return f"az keyvault update --name {shlex.quote(vault)}{group} --enable-rbac-authorization true"


def enable_version(vault: str, secret: str, version: str) -> str:
    """Enable a disabled secret version."""
    return (
        f"az keyvault secret set-attributes --vault-name {shlex.quote(vault)} "
        f"--name {shlex.quote(secret)} --version {shlex.quote(version)} --enabled true"
    )


def set_secret(vault: str, secret: str) -> str:
    """Create a secret (its version is printed; pin it in the deployment)."""
    return (
        f"az keyvault secret set --vault-name {shlex.quote(vault)} --name {shlex.quote(secret)} "
        '--value "<value>" --query id -o tsv'
    )
