"""The ``identities`` section of the state file: who may get tokens from the mock.

``system`` is the endpoint's system-assigned identity. ``user_assigned`` lists user-assigned
identities by client id, or as ``{client_id, name, resource_group}`` to give the ARM
resource a name (default ``uai-<first 8 characters of the client id>`` in the workspace's
resource group); ``mi_res_id`` token requests and the ARM resource use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from secretinj_runtime.mock.authtypes import StateError
from secretinj_runtime.mock.model import UaiSpec

UAI_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$")
RESOURCE_GROUP_RE = re.compile(r"^[-\w._()]{1,90}$")
RESERVED = ("system",)


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise StateError(f"{where}: must be a non-empty string")
    return value.strip()


def _uai(raw: object, where: str) -> tuple[str, UaiSpec | None]:
    if not isinstance(raw, Mapping):
        return _text(raw, where).lower(), None
    data: Mapping[str, Any] = raw
    for key in data:
        if key not in ("client_id", "name", "resource_group"):
            raise StateError(
                f"{where}.{key}: unknown field (expected client_id, name, resource_group)"
            )
    client_id = _text(data.get("client_id"), f"{where}.client_id").lower()
    name = data.get("name")
    if name is not None and not UAI_NAME_RE.match(_text(name, f"{where}.name")):
        raise StateError(f"{where}.name: invalid identity name (3-128 letters, digits, _ or -)")
    group = data.get("resource_group")
    if group is not None and not RESOURCE_GROUP_RE.match(_text(group, f"{where}.resource_group")):
        raise StateError(f"{where}.resource_group: must be a resource group name")
    return client_id, UaiSpec(client_id, name, group)


def parse_identities(raw: object) -> tuple[bool, tuple[str, ...], dict[str, UaiSpec]]:
    """Return (system identity on?, user-assigned client ids, named user-assigned ones)."""
    if raw is None:
        return True, (), {}
    if not isinstance(raw, Mapping):
        raise StateError("identities: must be a mapping")
    for key in raw:
        if key not in ("system", "user_assigned"):
            raise StateError(f"identities.{key}: unknown field (expected system, user_assigned)")
    system = raw.get("system", True)
    if not isinstance(system, bool):
        raise StateError("identities.system: must be true or false")
    entries = raw.get("user_assigned") or []
    if not isinstance(entries, list):
        raise StateError("identities.user_assigned: must be a list of client ids")
    ids: list[str] = []
    details: dict[str, UaiSpec] = {}
    for i, entry in enumerate(entries):
        client_id, spec = _uai(entry, f"identities.user_assigned[{i}]")
        if client_id in RESERVED:
            raise StateError(f"identities.user_assigned: {client_id!r} is reserved")
        if client_id in ids:
            raise StateError(f"identities.user_assigned[{i}]: duplicate client id {client_id!r}")
        ids.append(client_id)
        if spec is not None:
            details[client_id] = spec
    return system, tuple(ids), details
