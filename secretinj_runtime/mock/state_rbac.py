"""The control-plane sections of the state file (what ``secretinj preflight`` reads).

The deployer, custom roles, role assignments and online endpoints that already exist::

    deployer: {client_id: "<id>", principal_type: User}   # null: no deployer
    roles:                          # custom role definitions; the built-ins always exist
      conn-reader: {actions: [".../connections/listsecrets/action"], not_actions: [],
                    data_actions: [], not_data_actions: [], id: "<guid>"}
    role_assignments:
      - {principal: deployer, role: Owner, scope: resource_group, age_s: 300}
      - {principal: system, role: Key Vault Secrets User, scope: "vault:demo-kv"}
    endpoints:
      my-endpoint: {identity: system_assigned,
                    enforce_access_to_default_secret_stores: enabled}
      uai-endpoint: {identity: user_assigned, user_assigned_identities: ["<client id>"]}
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from secretinj_runtime.mock.authtypes import StateError
from secretinj_runtime.mock.model import DeployerSpec, EndpointSpec, RoleAssignmentSpec
from secretinj_runtime.mock.state_vaults import parse_timestamp
from secretinj_runtime.preflight.rbac import Permission
from secretinj_runtime.preflight.roles import BUILTIN_ROLES, RoleDefinition, role_guid

SCOPE_KEYWORDS = ("workspace", "resource_group", "subscription")
_ROLE_FIELDS = ("id", "actions", "not_actions", "data_actions", "not_data_actions", "description")
_ASSIGNMENT_FIELDS = ("principal", "role", "scope", "created", "age_s")


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise StateError(f"{where}: must be a mapping with string keys")
    return value


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise StateError(f"{where}: must be a non-empty string")
    return value.strip()


def _strings(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise StateError(f"{where}: must be a list of strings")
    return tuple(_text(v, f"{where}[{i}]") for i, v in enumerate(value))


def parse_deployer(raw: object, identities: tuple[str, ...]) -> DeployerSpec | None:
    """Validate ``deployer`` (default: one with a fixed client id; null: none)."""
    if raw is None:
        return None
    data = _mapping(raw, "deployer")
    for key in data:
        if key not in ("client_id", "principal_type"):
            raise StateError(f"deployer.{key}: unknown field (expected client_id, principal_type)")
    default = DeployerSpec()
    client_id = _text(data.get("client_id", default.client_id), "deployer.client_id").lower()
    if client_id in identities or client_id == "system":
        raise StateError(f"deployer.client_id: {client_id!r} is already an endpoint identity")
    kind = data.get("principal_type", default.principal_type)
    if kind not in ("User", "ServicePrincipal", "Group"):
        raise StateError("deployer.principal_type: must be User, ServicePrincipal or Group")
    return DeployerSpec(client_id, kind)


def parse_roles(raw: object) -> dict[str, RoleDefinition]:
    """Validate custom role definitions (one permission element each)."""
    builtin = {r.name.lower() for r in BUILTIN_ROLES} | {r.id for r in BUILTIN_ROLES}
    out: dict[str, RoleDefinition] = {}
    for name, value in _mapping(raw or {}, "roles").items():
        where = f"roles.{name}"
        if name.lower() in builtin:
            raise StateError(f"{where}: a built-in role has this name")
        data = _mapping(value or {}, where)
        for key in data:
            if key not in _ROLE_FIELDS:
                raise StateError(f"{where}.{key}: unknown field (expected {list(_ROLE_FIELDS)})")
        guid = str(data.get("id") or uuid.uuid5(uuid.NAMESPACE_URL, f"secretinj-mock-role:{name}"))
        try:
            guid = str(uuid.UUID(guid))
        except ValueError:
            raise StateError(f"{where}.id: must be a GUID") from None
        permission = Permission(
            _strings(data.get("actions"), f"{where}.actions"),
            _strings(data.get("not_actions"), f"{where}.not_actions"),
            _strings(data.get("data_actions"), f"{where}.data_actions"),
            _strings(data.get("not_data_actions"), f"{where}.not_data_actions"),
        )
        description = data.get("description", "")
        out[name] = RoleDefinition(guid, name, (permission,), False, str(description or ""))
    return out


def resolve_role(text: str, custom: Mapping[str, RoleDefinition], where: str) -> str:
    """Return the GUID of a role given by name (built-in or custom) or GUID."""
    wanted = text.strip().lower()
    for role in (*BUILTIN_ROLES, *custom.values()):
        if wanted in (role.name.lower(), role.id.lower()) or role_guid(wanted) == role.id:
            return role.id
    known = [r.name for r in (*BUILTIN_ROLES, *custom.values())]
    raise StateError(f"{where}: unknown role {text!r} (known: {known})")


def check_scope(scope: str, vaults: Mapping[str, object], where: str) -> str:
    """Validate a scope keyword, ``vault:<name>`` or an ARM id."""
    if scope in SCOPE_KEYWORDS or scope.startswith("/"):
        return scope
    if scope.startswith("vault:"):
        if scope[6:].lower() not in {v.lower() for v in vaults}:
            raise StateError(f"{where}: unknown vault {scope[6:]!r}")
        return scope
    raise StateError(
        f"{where}: expected workspace, resource_group, subscription, vault:<name> or an ARM id"
    )


def parse_assignments(
    raw: object,
    principals: tuple[str, ...],
    custom: Mapping[str, RoleDefinition],
    vaults: Mapping[str, object],
) -> tuple[RoleAssignmentSpec, ...]:
    """Validate ``role_assignments`` (principals: deployer, system, client ids)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise StateError("role_assignments: must be a list")
    out: list[RoleAssignmentSpec] = []
    for i, item in enumerate(raw):
        where = f"role_assignments[{i}]"
        data = _mapping(item, where)
        for key in data:
            if key not in _ASSIGNMENT_FIELDS:
                raise StateError(f"{where}.{key}: unknown field (expected {_ASSIGNMENT_FIELDS})")
        principal = _text(data.get("principal"), f"{where}.principal").lower()
        if principal not in principals:
            raise StateError(f"{where}.principal: unknown principal {principal!r} ({principals})")
        role = resolve_role(_text(data.get("role"), f"{where}.role"), custom, f"{where}.role")
        scope = check_scope(_text(data.get("scope"), f"{where}.scope"), vaults, f"{where}.scope")
        age = data.get("age_s")
        if age is not None and (isinstance(age, bool) or not isinstance(age, int | float)):
            raise StateError(f"{where}.age_s: must be a number of seconds")
        created = parse_timestamp(data.get("created"), f"{where}.created")
        out.append(RoleAssignmentSpec(principal, role, scope, created, age))
    return tuple(out)


def parse_endpoints(
    raw: object, system: bool, user_assigned: tuple[str, ...]
) -> dict[str, EndpointSpec]:
    """Validate ``endpoints``: existing online endpoints, their identity and flag."""
    out: dict[str, EndpointSpec] = {}
    for name, value in _mapping(raw or {}, "endpoints").items():
        where = f"endpoints.{name}"
        data = _mapping(value or {}, where)
        allowed = (
            "identity",
            "user_assigned_identities",
            "enforce_access_to_default_secret_stores",
        )
        for key in data:
            if key not in allowed:
                raise StateError(f"{where}.{key}: unknown field (expected {list(allowed)})")
        kind = data.get("identity", "system_assigned")
        if kind not in ("system_assigned", "user_assigned"):
            raise StateError(f"{where}.identity: must be system_assigned or user_assigned")
        uais = tuple(
            c.lower()
            for c in _strings(
                data.get("user_assigned_identities"), f"{where}.user_assigned_identities"
            )
        )
        if kind == "system_assigned" and not system:
            raise StateError(f"{where}.identity: the state has no system-assigned identity")
        if kind == "user_assigned" and not uais:
            raise StateError(f"{where}.user_assigned_identities: required for user_assigned")
        for client_id in uais:
            if client_id not in user_assigned:
                raise StateError(f"{where}.user_assigned_identities: unknown {client_id!r}")
        flag = data.get("enforce_access_to_default_secret_stores")
        if flag is not None and flag not in ("enabled", "disabled"):
            raise StateError(
                f"{where}.enforce_access_to_default_secret_stores: must be enabled or disabled"
            )
        out[name] = EndpointSpec(name, kind, uais, flag)
    return out
