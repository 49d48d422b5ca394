"""The ``vaults`` and ``vault_settings`` sections of the state file.

A secret is a list of versions, oldest first (the last is the latest), or a mapping
``{versions: [...], deleted: true}`` for a soft-deleted one. A version is its value (``""``
is a valid value, as in Key Vault) or a mapping of the value and its attributes::

    vaults:
      my-kv:
        db-password: ["old", "current"]
        api-token:
          versions:
            - {value: "v1", enabled: false}
            - {value: "v2", exp: "2030-01-01T00:00:00Z", nbf: 1700000000}
          deleted: false
    vault_settings:
      my-kv: {firewall: deny, rbac_authorization: true, resource_group: other-rg}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from secretinj_runtime.mock.authtypes import StateError
from secretinj_runtime.mock.model import VaultSettings, VersionSpec

VAULT_NAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$")
SECRET_NAME_RE = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
RESOURCE_GROUP_RE = re.compile(r"^[-\w._()]{1,90}$")
_VERSION_FIELDS = ("value", "enabled", "exp", "nbf", "content_type")
_SETTINGS_FIELDS = ("firewall", "rbac_authorization", "resource_group")


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise StateError(f"{where}: must be a mapping with string keys")
    return value


def parse_timestamp(raw: object, where: str) -> int | None:
    """Read an epoch-seconds integer or an ISO 8601 time (``2030-01-01T00:00:00Z``)."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise StateError(f"{where}: must be epoch seconds or an ISO 8601 time")
    if isinstance(raw, int | float):
        return int(raw)
    if isinstance(raw, datetime):  # YAML reads an unquoted timestamp as a datetime
        return int((raw if raw.tzinfo else raw.replace(tzinfo=UTC)).timestamp())
    if isinstance(raw, date):
        return int(datetime(raw.year, raw.month, raw.day, tzinfo=UTC).timestamp())
    if isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return int((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp())
    raise StateError(f"{where}: must be epoch seconds or an ISO 8601 time, got {raw!r}")


def parse_version(raw: object, where: str) -> VersionSpec:
    """Read one version: a string value or ``{value, enabled, exp, nbf, content_type}``."""
    if isinstance(raw, str):
        return VersionSpec(raw)
    if not isinstance(raw, Mapping):
        raise StateError(f"{where}: must be a string value or a mapping with 'value'")
    data = _mapping(raw, where)
    for key in data:
        if key not in _VERSION_FIELDS:
            raise StateError(f"{where}.{key}: unknown field (expected {list(_VERSION_FIELDS)})")
    value = data.get("value")
    if not isinstance(value, str):
        raise StateError(f"{where}.value: must be a string (may be empty)")
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise StateError(f"{where}.enabled: must be true or false")
    content_type = data.get("content_type")
    if content_type is not None and not isinstance(content_type, str):
        raise StateError(f"{where}.content_type: must be a string")
    return VersionSpec(
        value,
        enabled,
        parse_timestamp(data.get("exp"), f"{where}.exp"),
        parse_timestamp(data.get("nbf"), f"{where}.nbf"),
        content_type,
    )


def _secret(raw: object, where: str) -> tuple[list[VersionSpec], bool]:
    deleted = False
    versions = raw
    if isinstance(raw, Mapping) and "versions" in raw:
        data = _mapping(raw, where)
        for key in data:
            if key not in ("versions", "deleted"):
                raise StateError(f"{where}.{key}: unknown field (expected versions, deleted)")
        versions = data["versions"]
        deleted = data.get("deleted", False)
        if not isinstance(deleted, bool):
            raise StateError(f"{where}.deleted: must be true or false")
    items = [versions] if isinstance(versions, str | Mapping) else versions
    if not isinstance(items, list) or not items:
        raise StateError(f"{where}: must be a version, a non-empty list of versions, or a mapping")
    return [parse_version(v, f"{where}[{i}]") for i, v in enumerate(items)], deleted


def parse_vaults(
    raw: object,
) -> tuple[dict[str, dict[str, list[VersionSpec]]], frozenset[tuple[str, str]]]:
    """Validate ``vaults``; return the secrets and the soft-deleted (vault, secret) pairs."""
    vaults: dict[str, dict[str, list[VersionSpec]]] = {}
    deleted: set[tuple[str, str]] = set()
    for vault, secrets in _mapping(raw or {}, "vaults").items():
        where = f"vaults.{vault}"
        if not VAULT_NAME_RE.match(vault):
            raise StateError(f"{where}: invalid vault name (3-24 letters, digits, dashes)")
        if vault.lower() in {v.lower() for v in vaults}:
            raise StateError(f"{where}: duplicate vault (names are case-insensitive)")
        out: dict[str, list[VersionSpec]] = {}
        for name, value in _mapping(secrets or {}, where).items():
            swhere = f"{where}.{name}"
            if not SECRET_NAME_RE.match(name):
                raise StateError(f"{swhere}: invalid secret name (1-127 letters, digits, dashes)")
            out[name], gone = _secret(value, swhere)
            if gone:
                deleted.add((vault.lower(), name.lower()))
        vaults[vault] = out
    return vaults, frozenset(deleted)


def parse_vault_settings(raw: object, vaults: Mapping[str, object]) -> dict[str, VaultSettings]:
    """Validate ``vault_settings``: ``{vault: {firewall, rbac_authorization, resource_group}}``."""
    known = {v.lower() for v in vaults}
    out: dict[str, VaultSettings] = {}
    for vault, settings in _mapping(raw or {}, "vault_settings").items():
        where = f"vault_settings.{vault}"
        if vault.lower() not in known:
            raise StateError(f"{where}: unknown vault")
        out[vault] = vault_settings(_mapping(settings or {}, where), where)
    return out


def vault_settings(
    data: Mapping[str, Any], where: str, base: VaultSettings | None = None
) -> VaultSettings:
    """Validate one vault's settings, on top of ``base`` (default: the defaults)."""
    base = base or VaultSettings()
    for key in data:
        if key not in _SETTINGS_FIELDS:
            raise StateError(f"{where}.{key}: unknown field (expected {list(_SETTINGS_FIELDS)})")
    firewall = data.get("firewall", base.firewall)
    if firewall not in ("allow", "deny"):
        raise StateError(f"{where}.firewall: must be 'allow' or 'deny'")
    rbac = data.get("rbac_authorization", base.rbac_authorization)
    if not isinstance(rbac, bool):
        raise StateError(f"{where}.rbac_authorization: must be true or false")
    group = data.get("resource_group", base.resource_group)
    if group is not None and (not isinstance(group, str) or not RESOURCE_GROUP_RE.match(group)):
        raise StateError(f"{where}.resource_group: must be a resource group name")
    return VaultSettings(firewall=firewall, rbac_authorization=rbac, resource_group=group)
