"""Bodies of the ARM reads of :mod:`secretinj_runtime.mock.arm_read` (None: 404).

The workspace, connections, endpoints, identities and vaults; ``arm_authz`` has the rest.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from secretinj_runtime.mock.defaults import substitute_url
from secretinj_runtime.mock.store import MockState
from secretinj_runtime.mock.tokens import object_id


def iso(epoch: float) -> str:
    """Return ``epoch`` in ARM's timestamp format."""
    return datetime.fromtimestamp(max(epoch, 0), UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def resource_groups(state: MockState) -> set[str]:
    """Return every resource group the mock knows (workspace, vaults, identities)."""
    groups = {state.resource_group}
    groups |= {
        v.settings.resource_group for v in state.vaults.values() if v.settings.resource_group
    }
    groups |= {u.resource_group for u in state.spec.uai_details.values() if u.resource_group}
    return groups


def not_found_message(path: str) -> str:
    """Return ARM's ResourceNotFound message for ``path``."""
    parts = path.strip("/").split("/")
    group = parts[3] if len(parts) > 3 else "?"
    kind = "/".join(parts[5:]) if len(parts) > 5 else path
    return (
        f"The Resource '{kind}' under resource group '{group}' was not found. For more "
        "details please go to https://aka.ms/ARMResourceNotFoundFix"
    )


def _same(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()


def _caller(request: Request) -> str:
    return str(request.state.identity)


# -- Microsoft.MachineLearningServices --------------------------------------------------


def _workspace_matches(state: MockState, m: re.Match[str]) -> bool:
    return _same(
        m.string.split("/connections")[0].split("/onlineEndpoints")[0], state.spec.workspace
    )


def workspace(state: MockState, m: re.Match[str], request: Request) -> Any:
    """Return the workspace, if it is the mock's."""
    if not _workspace_matches(state, m):
        return None
    return {
        "id": state.spec.workspace,
        "name": state.workspace_name,
        "type": "Microsoft.MachineLearningServices/workspaces",
        "location": "mock",
        "kind": "Default",
        "properties": {"provisioningState": "Succeeded", "friendlyName": state.workspace_name},
    }


def _connection_body(state: MockState, name: str) -> dict[str, Any] | None:
    conn = state.connection(name)
    if conn is None:
        return None
    body = state.list_secrets_body(conn)
    body["properties"].pop("credentials", None)  # a GET never returns credentials
    return body


def connections(state: MockState, m: re.Match[str], request: Request) -> Any:
    """List every connection, without credentials."""
    if not _workspace_matches(state, m):
        return None
    return {"value": [_connection_body(state, c.name) for c in state.connections.values()]}


def connection(state: MockState, m: re.Match[str], request: Request) -> Any:
    """Return one connection, without credentials."""
    return _connection_body(state, m["name"]) if _workspace_matches(state, m) else None


def endpoint(state: MockState, m: re.Match[str], request: Request) -> Any:
    """Return an online endpoint: its identity and property bag."""
    spec = next((e for n, e in state.endpoints.items() if n.lower() == m["name"].lower()), None)
    if spec is None or not _workspace_matches(state, m):
        return None
    tenant = state.spec.tenant_id
    identity: dict[str, Any]
    if spec.identity == "system_assigned":
        identity = {
            "type": "SystemAssigned",
            "principalId": object_id("system"),
            "tenantId": tenant,
        }
    else:
        identity = {
            "type": "UserAssigned",
            "userAssignedIdentities": {
                state.uai_resource_id(c): {"principalId": object_id(c), "clientId": c}
                for c in spec.user_assigned
            },
        }
    bag = {} if spec.enforce is None else {"enforce_access_to_default_secret_stores": spec.enforce}
    base = substitute_url("{mock_url}", state.base_url)
    return {
        "id": f"{state.spec.workspace}/onlineEndpoints/{spec.name}",
        "name": spec.name,
        "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
        "location": "mock",
        "kind": "Managed",
        "identity": identity,
        "properties": {
            "authMode": "Key",
            "properties": bag,
            "provisioningState": "Succeeded",
            "scoringUri": f"{base}/score",
            "traffic": {},
        },
    }


# -- identities and vaults --------------------------------------------------------------


def uai(state: MockState, m: re.Match[str], request: Request) -> Any:
    """Return a user-assigned identity by its ARM id."""
    path = m.string.rstrip("/")
    client_id = next(
        (c for c in state.spec.user_assigned if _same(state.uai_resource_id(c), path)), None
    )
    if client_id is None:
        return None
    return {
        "id": state.uai_resource_id(client_id),
        "name": state.uai_resource_id(client_id).rsplit("/", 1)[1],
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
        "location": "mock",
        "tags": {},
        "properties": {
            "tenantId": state.spec.tenant_id,
            "principalId": object_id(client_id),
            "clientId": client_id,
        },
    }


def _vault_body(state: MockState, name: str) -> dict[str, Any] | None:
    record = state.vault(name)
    if record is None:
        return None
    rbac = record.settings.rbac_authorization
    policies = (
        []
        if rbac
        else [
            {
                "tenantId": state.spec.tenant_id,
                "objectId": object_id(i),
                "permissions": {"secrets": ["get", "list"], "keys": [], "certificates": []},
            }
            for i in state.authz.access_policy_holders(record.name)
        ]
    )
    deny = record.settings.firewall == "deny"
    return {
        "id": state.authz.vault_id(record.name),
        "name": record.name,
        "type": "Microsoft.KeyVault/vaults",
        "location": "mock",
        "tags": {},
        "properties": {
            "tenantId": state.spec.tenant_id,
            "sku": {"family": "A", "name": "standard"},
            "accessPolicies": policies,
            "enableRbacAuthorization": rbac,
            "enableSoftDelete": True,
            "vaultUri": f"https://{record.name}.vault.azure.net/",
            "networkAcls": {
                "defaultAction": "Deny" if deny else "Allow",
                "bypass": "AzureServices",
                "ipRules": [],
                "virtualNetworkRules": [],
            },
            "provisioningState": "Succeeded",
        },
    }


def vaults(state: MockState, m: re.Match[str], request: Request) -> Any:
    """List the subscription's vaults the caller may read (a list never answers 403)."""
    caller = _caller(request)
    out = [
        _vault_body(state, v.name)
        for v in state.vaults.values()
        if state.authz.allowed(
            caller, "Microsoft.KeyVault/vaults/read", state.authz.vault_id(v.name)
        )
    ]
    return {"value": out, "nextLink": None}


def vault(state: MockState, m: re.Match[str], request: Request) -> Any:
    """Return a vault by its ARM id."""
    record = state.vault(m["name"])
    if record is None or not _same(state.authz.vault_id(record.name), m.string):
        return None
    return _vault_body(state, record.name)


def vault_secret(state: MockState, m: re.Match[str], request: Request) -> Any:
    """Return a secret's ARM resource: the current version's metadata, never a value."""
    record = state.vault(m["vault"])
    prefix = m.string.rsplit("/secrets/", 1)[0]
    if record is None or not _same(state.authz.vault_id(record.name), prefix):
        return None
    secret = record.secrets.get(m["name"].lower())
    current = None if secret is None or secret.deleted else secret.find(None)
    if secret is None or current is None:
        return None
    attributes = {
        k: v
        for k, v in current.attributes().items()
        if k in ("enabled", "nbf", "exp", "created", "updated")
    }
    properties: dict[str, Any] = {
        "attributes": attributes,
        "secretUri": record.secret_id(secret),
        "secretUriWithVersion": record.secret_id(secret, current),
    }
    if current.content_type is not None:
        properties["contentType"] = current.content_type
    return {
        "id": f"{state.authz.vault_id(record.name)}/secrets/{secret.name}",
        "name": secret.name,
        "type": "Microsoft.KeyVault/vaults/secrets",
        "location": "mock",
        "properties": properties,
    }
