"""Immutable model of a mock state (what a state file describes)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from secretinj_runtime.preflight.roles import RoleDefinition

DEFAULT_TENANT = "11111111-1111-1111-1111-111111111111"
DEFAULT_WORKSPACE = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/demo-rg"
    "/providers/Microsoft.MachineLearningServices/workspaces/demo-ws"
)
DEFAULT_DEPLOYER_CLIENT_ID = "d0d0d0d0-0000-4000-8000-00000000de01"


class VersionSpec(NamedTuple):
    """One Key Vault secret version: its value and attributes (``exp``/``nbf`` epoch s)."""

    value: str
    enabled: bool = True
    exp: int | None = None
    nbf: int | None = None
    content_type: str | None = None

    def to_state(self) -> str | dict[str, Any]:
        """Return the state-file shape: the bare value, or a mapping when attributes are set."""
        if self == VersionSpec(self.value):
            return self.value
        out: dict[str, Any] = {"value": self.value, "enabled": self.enabled}
        for key in ("exp", "nbf", "content_type"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


class UaiSpec(NamedTuple):
    """A user-assigned identity given with the name (and group) of its ARM resource."""

    client_id: str
    name: str | None = None
    resource_group: str | None = None

    def to_state(self) -> dict[str, str]:
        """Return the state-file shape."""
        out = {"client_id": self.client_id}
        if self.name is not None:
            out["name"] = self.name
        if self.resource_group is not None:
            out["resource_group"] = self.resource_group
        return out


class DeployerSpec(NamedTuple):
    """The person (or pipeline) who deploys: gets tokens by client id, holds roles."""

    client_id: str = DEFAULT_DEPLOYER_CLIENT_ID
    principal_type: str = "User"

    def to_state(self) -> dict[str, str]:
        """Return the state-file shape."""
        return {"client_id": self.client_id, "principal_type": self.principal_type}


class RoleAssignmentSpec(NamedTuple):
    """A role assignment in the state file (scope as a keyword or an ARM id)."""

    principal: str  # "deployer", "system" or a user-assigned client id
    role: str  # the role definition's GUID
    scope: str  # workspace | resource_group | subscription | vault:<name> | an ARM id
    created: int | None = None  # epoch seconds; None: long before the mock started
    age_s: float | None = None  # or: this many seconds before the mock started

    def to_state(self) -> dict[str, Any]:
        """Return the state-file shape."""
        out: dict[str, Any] = {"principal": self.principal, "role": self.role, "scope": self.scope}
        if self.created is not None:
            out["created"] = self.created
        if self.age_s is not None:
            out["age_s"] = self.age_s
        return out


class EndpointSpec(NamedTuple):
    """An online endpoint that already exists: its identity and property bag flag."""

    name: str
    identity: str = "system_assigned"  # or "user_assigned"
    user_assigned: tuple[str, ...] = ()  # client ids, for "user_assigned"
    enforce: str | None = None  # enforce_access_to_default_secret_stores, if in the bag

    def to_state(self) -> dict[str, Any]:
        """Return the state-file shape."""
        out: dict[str, Any] = {"identity": self.identity}
        if self.user_assigned:
            out["user_assigned_identities"] = list(self.user_assigned)
        if self.enforce is not None:
            out["enforce_access_to_default_secret_stores"] = self.enforce
        return out


@dataclass(frozen=True)
class VaultSettings:
    """How a vault answers beyond its secrets: network firewall, permission model, place."""

    firewall: str = "allow"  # "deny": every data-plane call gets 403 ForbiddenByFirewall
    rbac_authorization: bool = True  # False: the access-policy permission model
    resource_group: str | None = None  # None: the workspace's resource group

    def to_dict(self) -> dict[str, Any]:
        """Return the state-file shape."""
        out: dict[str, Any] = {
            "firewall": self.firewall,
            "rbac_authorization": self.rbac_authorization,
        }
        if self.resource_group is not None:
            out["resource_group"] = self.resource_group
        return out


@dataclass(frozen=True)
class ConnectionSpec:
    """One workspace connection, in the ListSecrets ``properties`` vocabulary."""

    name: str
    auth_type: str
    category: str
    target: str
    metadata: dict[str, str] = field(default_factory=dict)
    credentials: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the state-file shape of this connection."""
        out: dict[str, Any] = {
            "authType": self.auth_type,
            "category": self.category,
            "target": self.target,
            "metadata": dict(self.metadata),
        }
        if self.credentials is not None:
            out["credentials"] = json.loads(json.dumps(self.credentials))
        out.update(self.extra)
        return out


@dataclass(frozen=True)
class ThrottleSpec:
    """ARM write token bucket settings."""

    capacity: int = 200
    refill_per_s: float = 10.0


@dataclass(frozen=True)
class DownstreamSpec:
    """Which connection credential the downstream chat API accepts as ``api-key``."""

    connection: str
    credential: str = "key"


@dataclass(frozen=True)
class StateSpec:
    """A validated mock state (immutable; the server copies it into a live store)."""

    workspace: str
    tenant_id: str = DEFAULT_TENANT
    system_identity: bool = True
    user_assigned: tuple[str, ...] = ()
    uai_details: dict[str, UaiSpec] = field(default_factory=dict)
    connections: dict[str, ConnectionSpec] = field(default_factory=dict)
    vaults: dict[str, dict[str, list[VersionSpec]]] = field(default_factory=dict)
    deleted_secrets: frozenset[tuple[str, str]] = frozenset()  # (vault, secret), lower case
    vault_settings: dict[str, VaultSettings] = field(default_factory=dict)
    api_versions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    deployer: DeployerSpec | None = field(default_factory=DeployerSpec)
    custom_roles: dict[str, RoleDefinition] = field(default_factory=dict)  # by name
    role_assignments: tuple[RoleAssignmentSpec, ...] = ()
    endpoints: dict[str, EndpointSpec] = field(default_factory=dict)
    workspace_access: bool | tuple[str, ...] = True
    vault_access: dict[str, bool | tuple[str, ...]] = field(default_factory=dict)
    throttle: ThrottleSpec | None = field(default_factory=ThrottleSpec)
    downstream: DownstreamSpec | None = None

    @property
    def identities(self) -> tuple[str, ...]:
        """Every identity that may get a token: ``system`` and the client ids."""
        return (("system",) if self.system_identity else ()) + self.user_assigned

    def to_dict(self) -> dict[str, Any]:
        """Return the state-file shape (what :func:`parse_state` accepts)."""
        out: dict[str, Any] = {
            "workspace": self.workspace,
            "tenant_id": self.tenant_id,
            "identities": {
                "system": self.system_identity,
                "user_assigned": [
                    self.uai_details[c].to_state() if c in self.uai_details else c
                    for c in self.user_assigned
                ],
            },
            "connections": {n: c.to_dict() for n, c in self.connections.items()},
            "vaults": {
                v: {s: self._secret_out(v, s, vs) for s, vs in sec.items()}
                for v, sec in self.vaults.items()
            },
            "vault_settings": {v: vs.to_dict() for v, vs in self.vault_settings.items()},
            "api_versions": {api: list(vs) for api, vs in self.api_versions.items()},
            "deployer": None if self.deployer is None else self.deployer.to_state(),
            "roles": {n: _role_out(r) for n, r in self.custom_roles.items()},
            "role_assignments": [a.to_state() for a in self.role_assignments],
            "endpoints": {n: e.to_state() for n, e in self.endpoints.items()},
            "access": {
                "workspace": _access_out(self.workspace_access),
                "vaults": {v: _access_out(a) for v, a in self.vault_access.items()},
            },
            "throttle": None
            if self.throttle is None
            else {"capacity": self.throttle.capacity, "refill_per_s": self.throttle.refill_per_s},
            "downstream": None
            if self.downstream is None
            else {
                "connection": self.downstream.connection,
                "credential": self.downstream.credential,
            },
        }
        return out

    def _secret_out(self, vault: str, name: str, versions: list[VersionSpec]) -> Any:
        listed = [v.to_state() for v in versions]
        if (vault.lower(), name.lower()) in self.deleted_secrets:
            return {"versions": listed, "deleted": True}
        return listed


def _role_out(role: RoleDefinition) -> dict[str, Any]:
    perm = role.permissions[0] if role.permissions else None
    out: dict[str, Any] = {"id": role.id}
    if perm is not None:
        out |= {
            "actions": list(perm.actions),
            "not_actions": list(perm.not_actions),
            "data_actions": list(perm.data_actions),
            "not_data_actions": list(perm.not_data_actions),
        }
    if role.description:
        out["description"] = role.description
    return out


def _access_out(value: bool | tuple[str, ...]) -> bool | list[str]:
    return value if isinstance(value, bool) else list(value)
