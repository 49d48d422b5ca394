"""Immutable model of a mock state (what a state file describes)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TENANT = "11111111-1111-1111-1111-111111111111"


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
    connections: dict[str, ConnectionSpec] = field(default_factory=dict)
    vaults: dict[str, dict[str, list[str]]] = field(default_factory=dict)
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
                "user_assigned": list(self.user_assigned),
            },
            "connections": {n: c.to_dict() for n, c in self.connections.items()},
            "vaults": {v: {s: list(vs) for s, vs in sec.items()} for v, sec in self.vaults.items()},
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


def _access_out(value: bool | tuple[str, ...]) -> bool | list[str]:
    return value if isinstance(value, bool) else list(value)
