"""ARM reads for preflight: never a secret value, only resources and role data.

Every method returns parsed JSON or raises the transport's typed `SecretInjectionError`
(``http_status`` 403 means the deployer may not read it, 404 that it does not exist).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from .rbac import Permission, scope_covers
from .roles import RoleDefinition, role_guid

#: api-versions preflight asks for (PREFLIGHT.md: 2025-09-01 is the safe ML one).
ML_API_VERSION = "2025-09-01"
AUTHORIZATION_API_VERSION = "2022-04-01"
MANAGED_IDENTITY_API_VERSION = "2023-01-31"
KEYVAULT_ARM_API_VERSION = "2024-11-01"
MAX_PAGES = 20

TYPE_CHECKING = False
if TYPE_CHECKING:  # requests loads only when a check runs
    from ..transport import Transport


def json_object(value: object) -> dict[str, Any]:
    """Return ``value`` if it is a JSON object, else an empty one (service answers vary)."""
    return value if isinstance(value, dict) else {}


def same_origin(url: str, base: str) -> bool:
    """Whether ``url`` has the scheme and host of ``base`` (never follow a link elsewhere)."""
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.netloc.lower()) == (b.scheme, b.netloc.lower())


class ArmReader:
    """GETs ARM resources with the deployer's token."""

    def __init__(self, transport: Transport, base: str, token: Callable[[], str]) -> None:
        self.transport = transport
        self.base = base.rstrip("/")
        self.token = token
        self._definitions: dict[str, RoleDefinition] = {}

    def get(self, path: str, api_version: str, service: str, **params: str) -> dict[str, Any]:
        """GET ``path`` (an ARM id, maybe with a suffix) and return the JSON object."""
        query = urlencode({"api-version": api_version, **params})
        url = f"{self.base}{path}?{query}"
        return self.transport.request_json("GET", url, token=self.token, service=service)

    def list_all(self, path: str, api_version: str, service: str, **params: str) -> list[Any]:
        """GET a list and follow ``nextLink`` (same origin only); return every item."""
        body = self.get(path, api_version, service, **params)
        items = list(body.get("value") or [])
        for _ in range(MAX_PAGES):
            link = body.get("nextLink")
            if not isinstance(link, str) or not link or not same_origin(link, self.base):
                break
            body = self.transport.request_json("GET", link, token=self.token, service=service)
            items += list(body.get("value") or [])
        return items

    def workspace(self, workspace_id: str) -> dict[str, Any]:
        """Return the workspace resource."""
        return self.get(workspace_id, ML_API_VERSION, "ARM (workspace)")

    def connection(self, workspace_id: str, name: str) -> dict[str, Any]:
        """Return a connection's resource, without credentials (a GET, not ListSecrets)."""
        path = f"{workspace_id}/connections/{name}"
        return self.get(path, ML_API_VERSION, f"ARM (connection {name})")

    def endpoint(self, workspace_id: str, name: str) -> dict[str, Any]:
        """Return an online endpoint (identity, property bag)."""
        path = f"{workspace_id}/onlineEndpoints/{name}"
        return self.get(path, ML_API_VERSION, f"ARM (endpoint {name})")

    def permissions(self, resource_id: str) -> list[Permission]:
        """Return the caller's own permission elements at ``resource_id`` (Permissions API)."""
        path = f"{resource_id}/providers/Microsoft.Authorization/permissions"
        items = self.list_all(path, AUTHORIZATION_API_VERSION, "ARM (permissions)")
        return [Permission.from_json(i) for i in items if isinstance(i, dict)]

    def role_assignments(self, scope: str, principal_id: str) -> list[dict[str, Any]]:
        """Return the principal's assignments that apply at ``scope`` (at it or above it)."""
        path = f"{scope}/providers/Microsoft.Authorization/roleAssignments"
        items = self.list_all(
            path,
            AUTHORIZATION_API_VERSION,
            "ARM (role assignments)",
            **{"$filter": f"principalId eq '{principal_id}'"},
        )
        out = []
        for item in items:
            props = item.get("properties") if isinstance(item, dict) else None
            if not isinstance(props, dict):
                continue
            same_principal = str(props.get("principalId", "")).lower() == principal_id.lower()
            if same_principal and scope_covers(str(props.get("scope") or "/"), scope):
                out.append(props)
        return out

    def role_definition(self, definition_id: str) -> RoleDefinition:
        """Return a role definition by its id (cached: built-ins never change during a run)."""
        key = role_guid(definition_id)
        if key not in self._definitions:
            path = (
                definition_id
                if definition_id.startswith("/")
                else (f"/providers/Microsoft.Authorization/roleDefinitions/{key}")
            )
            body = self.get(path, AUTHORIZATION_API_VERSION, "ARM (role definition)")
            props = json_object(body.get("properties"))
            perms = tuple(
                Permission.from_json(p)
                for p in props.get("permissions") or []
                if isinstance(p, dict)
            )
            self._definitions[key] = RoleDefinition(
                key,
                str(props.get("roleName") or key),
                perms,
                props.get("type") == "BuiltInRole",
            )
        return self._definitions[key]

    def user_assigned_identity(self, resource_id: str) -> dict[str, Any]:
        """Return a user-assigned identity (``properties.principalId``, ``clientId``)."""
        return self.get(resource_id, MANAGED_IDENTITY_API_VERSION, "ARM (managed identity)")

    def vault(self, subscription: str, resource_group: str, name: str) -> dict[str, Any]:
        """Return a vault in a resource group."""
        path = (
            f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
            f"/providers/Microsoft.KeyVault/vaults/{name}"
        )
        return self.get(path, KEYVAULT_ARM_API_VERSION, f"ARM (vault {name})")

    def vaults(self, subscription: str) -> list[dict[str, Any]]:
        """Return the subscription's vaults the caller may read."""
        path = f"/subscriptions/{subscription}/providers/Microsoft.KeyVault/vaults"
        return [
            v
            for v in self.list_all(path, KEYVAULT_ARM_API_VERSION, "ARM (vaults)")
            if isinstance(v, dict)
        ]

    def vault_secret(self, vault_id: str, name: str) -> dict[str, Any]:
        """Return a secret's ARM resource: its current version's metadata, never its value."""
        path = f"{vault_id}/secrets/{name}"
        return self.get(path, KEYVAULT_ARM_API_VERSION, f"ARM (secret {name})")
