"""The mock's state file: model, loading (JSON or YAML) and validation.

Every validation error names the offending field with a dotted path, e.g.
``connections.aoai.authType: unknown auth type 'Foo'``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from secretinj_runtime.mock.apiversions import parse_api_versions
from secretinj_runtime.mock.authtypes import (
    CONNECTION_NAME_RE,
    StateError,
    validate_credentials,
    validate_metadata,
)
from secretinj_runtime.mock.model import (
    DEFAULT_TENANT,
    DEFAULT_WORKSPACE,
    ConnectionSpec,
    DownstreamSpec,
    StateSpec,
    ThrottleSpec,
)
from secretinj_runtime.mock.state_identities import parse_identities
from secretinj_runtime.mock.state_rbac import (
    parse_assignments,
    parse_deployer,
    parse_endpoints,
    parse_roles,
)
from secretinj_runtime.mock.state_vaults import (
    SECRET_NAME_RE,
    VAULT_NAME_RE,
    parse_vault_settings,
    parse_vaults,
)

WORKSPACE_RE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
    r"Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)$",
    re.IGNORECASE,
)
__all__ = [
    "SECRET_NAME_RE",
    "VAULT_NAME_RE",
    "StateError",
    "StateSpec",
    "parse_state",
    "read_state_file",
]
_CONNECTION_FIELDS = {"authType", "category", "target", "metadata", "credentials"} | {
    "expiryTime",
    "isSharedToAll",
}
_TOP_LEVEL = {
    "workspace",
    "tenant_id",
    "identities",
    "connections",
    "vaults",
    "vault_settings",
    "api_versions",
    "deployer",
    "roles",
    "role_assignments",
    "endpoints",
    "access",
    "throttle",
    "downstream",
}


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise StateError(f"{where}: must be a mapping, got {type(value).__name__}")
    for key in value:
        if not isinstance(key, str):
            raise StateError(f"{where}: keys must be strings, got {key!r}")
    return value


def _string(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        hint = " (quote it in YAML)" if value is not None and not isinstance(value, str) else ""
        raise StateError(f"{where}: must be a non-empty string{hint}")
    return value


def parse_workspace(workspace: str, where: str = "workspace") -> tuple[str, str, str]:
    """Split a workspace ARM id into (subscription, resource group, workspace name)."""
    match = WORKSPACE_RE.match(workspace)
    if match is None:
        raise StateError(
            f"{where}: expected /subscriptions/<sub>/resourceGroups/<rg>/providers/"
            f"Microsoft.MachineLearningServices/workspaces/<ws>, got {workspace!r}"
        )
    return match["sub"], match["rg"], match["ws"]


def validate_connection(name: str, raw: object, where: str) -> ConnectionSpec:
    """Validate one connection in the state-file shape (ListSecrets ``properties``)."""
    if not CONNECTION_NAME_RE.match(name):
        raise StateError(f"{where}: invalid connection name (3-33 letters, digits, _ or -)")
    data = _mapping(raw, where)
    for key in data:
        if key not in _CONNECTION_FIELDS:
            raise StateError(
                f"{where}.{key}: unknown field (expected {sorted(_CONNECTION_FIELDS)})"
            )
    auth_type = _string(data.get("authType"), f"{where}.authType")
    credentials = validate_credentials(auth_type, data.get("credentials"), where)
    extra: dict[str, Any] = {}
    if "expiryTime" in data:
        extra["expiryTime"] = _string(data["expiryTime"], f"{where}.expiryTime")
    if "isSharedToAll" in data:
        if not isinstance(data["isSharedToAll"], bool):
            raise StateError(f"{where}.isSharedToAll: must be true or false")
        extra["isSharedToAll"] = data["isSharedToAll"]
    return ConnectionSpec(
        name=name,
        auth_type=auth_type,
        category=_string(data.get("category"), f"{where}.category"),
        target=_string(data.get("target"), f"{where}.target"),
        metadata=validate_metadata(data.get("metadata"), f"{where}.metadata"),
        credentials=credentials,
        extra=extra,
    )


def _access_value(raw: object, where: str, identities: tuple[str, ...]) -> bool | tuple[str, ...]:
    if isinstance(raw, bool):
        return raw
    if not isinstance(raw, list):
        raise StateError(f"{where}: must be true, false or a list of identities")
    out = tuple(_string(x, f"{where}[{i}]").lower() for i, x in enumerate(raw))
    for ident in out:
        if ident not in identities:
            raise StateError(f"{where}: unknown identity {ident!r} (known: {list(identities)})")
    return out


def parse_state(raw: object) -> StateSpec:
    """Validate a decoded state document and return a :class:`StateSpec`."""
    data = _mapping(raw if raw is not None else {}, "state")
    for key in data:
        if key not in _TOP_LEVEL:
            raise StateError(
                f"{key}: unknown top-level field (expected one of {sorted(_TOP_LEVEL)})"
            )
    workspace = _string(data.get("workspace", DEFAULT_WORKSPACE), "workspace")
    parse_workspace(workspace)
    tenant = _string(data.get("tenant_id", DEFAULT_TENANT), "tenant_id")
    system, uai, uai_details = parse_identities(data.get("identities"))
    identities = (("system",) if system else ()) + uai
    connections: dict[str, ConnectionSpec] = {}
    for name, conn in _mapping(data.get("connections") or {}, "connections").items():
        if name.lower() in {n.lower() for n in connections}:
            raise StateError(f"connections.{name}: duplicate name (names are case-insensitive)")
        connections[name] = validate_connection(name, conn, f"connections.{name}")
    vaults, deleted = parse_vaults(data.get("vaults"))
    settings = parse_vault_settings(data.get("vault_settings"), vaults)
    access = _mapping(data.get("access") or {}, "access")
    for key in access:
        if key not in ("workspace", "vaults"):
            raise StateError(f"access.{key}: unknown field (expected workspace, vaults)")
    ws_access = _access_value(access.get("workspace", True), "access.workspace", identities)
    vault_access: dict[str, bool | tuple[str, ...]] = {}
    for vault, value in _mapping(access.get("vaults") or {}, "access.vaults").items():
        if vault.lower() not in {v.lower() for v in vaults}:
            raise StateError(f"access.vaults.{vault}: unknown vault")
        vault_access[vault] = _access_value(value, f"access.vaults.{vault}", identities)
    throttle = parse_throttle(data.get("throttle", {}), "throttle")
    downstream = _downstream(data, connections)
    deployer = parse_deployer(data.get("deployer", {}), identities)
    roles = parse_roles(data.get("roles"))
    principals = identities + (("deployer",) if deployer else ())
    assignments = parse_assignments(data.get("role_assignments"), principals, roles, vaults)
    return StateSpec(
        workspace=workspace,
        tenant_id=tenant,
        system_identity=system,
        user_assigned=uai,
        uai_details=uai_details,
        connections=connections,
        vaults=vaults,
        deleted_secrets=deleted,
        vault_settings=settings,
        api_versions=parse_api_versions(data.get("api_versions")),
        workspace_access=ws_access,
        vault_access=vault_access,
        throttle=throttle,
        downstream=downstream,
        deployer=deployer,
        custom_roles=roles,
        role_assignments=assignments,
        endpoints=parse_endpoints(data.get("endpoints"), system, uai),
    )


def parse_throttle(raw: object, where: str) -> ThrottleSpec | None:
    """Validate throttle settings; ``None`` disables throttling."""
    if raw is None:
        return None
    data = _mapping(raw, where)
    for key in data:
        if key not in ("capacity", "refill_per_s"):
            raise StateError(f"{where}.{key}: unknown field (expected capacity, refill_per_s)")
    capacity = data.get("capacity", 200)
    refill = data.get("refill_per_s", 10.0)
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
        raise StateError(f"{where}.capacity: must be an integer >= 1")
    if isinstance(refill, bool) or not isinstance(refill, int | float) or refill <= 0:
        raise StateError(f"{where}.refill_per_s: must be a number > 0")
    return ThrottleSpec(capacity=capacity, refill_per_s=float(refill))


def _downstream(data: Mapping[str, Any], conns: dict[str, ConnectionSpec]) -> DownstreamSpec | None:
    if "downstream" not in data:
        for candidate in conns.values():
            if candidate.category == "AzureOpenAI" and credential_value(candidate, "key"):
                return DownstreamSpec(candidate.name, "key")
        return None
    if data["downstream"] is None:
        return None
    raw = _mapping(data["downstream"], "downstream")
    for key in raw:
        if key not in ("connection", "credential"):
            raise StateError(f"downstream.{key}: unknown field (expected connection, credential)")
    name = _string(raw.get("connection"), "downstream.connection")
    cred = _string(raw.get("credential", "key"), "downstream.credential")
    conn = next((c for c in conns.values() if c.name.lower() == name.lower()), None)
    if conn is None:
        raise StateError(f"downstream.connection: unknown connection {name!r}")
    if credential_value(conn, cred) is None:
        raise StateError(f"downstream.credential: connection {name!r} has no credential {cred!r}")
    return DownstreamSpec(conn.name, cred)


def credential_value(conn: ConnectionSpec, credential: str) -> str | None:
    """Return a connection's credential by name (CustomKeys looks into ``keys``)."""
    creds = conn.credentials or {}
    if conn.auth_type == "CustomKeys":
        value = (creds.get("keys") or {}).get(credential)
    else:
        value = creds.get(credential)
    return value if isinstance(value, str) else None


def read_state_file(path: Path) -> StateSpec:
    """Read and validate a state file (JSON by its suffix, else YAML)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StateError(f"{path}: cannot read state file: {exc.strerror}") from exc
    try:
        raw = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
        raise StateError(f"{path}: not valid {kind}: {exc}") from exc
    return parse_state(raw)
