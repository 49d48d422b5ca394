"""The live, mutable state of a running mock (built from a :class:`StateSpec`)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Literal

from secretinj_runtime.mock.access import AccessRule
from secretinj_runtime.mock.apiversions import ApiVersions
from secretinj_runtime.mock.authtypes import StateError
from secretinj_runtime.mock.authz import Authorization
from secretinj_runtime.mock.clock import Clock, OffsetClock
from secretinj_runtime.mock.defaults import DEFAULT_MSI_SECRET, load_state, substitute_url
from secretinj_runtime.mock.faults import FaultQueue
from secretinj_runtime.mock.model import (
    ConnectionSpec,
    DownstreamSpec,
    EndpointSpec,
    StateSpec,
    ThrottleSpec,
    VaultSettings,
    VersionSpec,
)
from secretinj_runtime.mock.requestlog import RequestLog
from secretinj_runtime.mock.state import (
    credential_value,
    parse_workspace,
    validate_connection,
)
from secretinj_runtime.mock.throttle import Throttle
from secretinj_runtime.mock.tokens import TokenIssuer, client_id_for
from secretinj_runtime.mock.tokens import object_id as principal_id
from secretinj_runtime.mock.vaultstore import (
    SecretVersion,
    VaultRecord,
    VaultStore,
    version_id,
)

__all__ = ["AccessRule", "MockState", "SecretVersion", "VaultRecord", "version_id"]


CONNECTION_TYPE = "Microsoft.MachineLearningServices/workspaces/connections"


class MockState:
    """Everything a running mock knows; reset() returns to the initial state."""

    def __init__(
        self,
        spec: StateSpec | Mapping[str, Any] | str | None = None,
        *,
        msi_secret: str = DEFAULT_MSI_SECRET,
        clock: Clock | None = None,
        throttle: ThrottleSpec | Literal["state"] | None = "state",
        latency_s: float = 0.0,
        base_url: str | None = None,
        token_lifetime_s: int = 3600,
    ) -> None:
        self.spec = load_state(spec)
        self.msi_secret = msi_secret
        self.base_url = base_url
        self.clock = OffsetClock(clock)
        self._throttle_spec = self.spec.throttle if throttle == "state" else throttle
        self._latency_s = latency_s
        self.tokens = TokenIssuer(self.clock, token_lifetime_s)
        self.log = RequestLog()
        self.faults = FaultQueue()
        self.throttle = Throttle(self.clock, None)
        self.subscription, self.resource_group, self.workspace_name = parse_workspace(
            self.spec.workspace
        )
        self.connections: dict[str, ConnectionSpec] = {}
        self.keyvault = VaultStore()
        self.api_versions = ApiVersions(self.spec.api_versions)
        self.authz = Authorization(self)
        self.downstream: DownstreamSpec | None = None
        self.endpoints: dict[str, EndpointSpec] = {}
        self.reset()

    def now(self) -> float:
        """Return the mock's current time (epoch seconds, injectable clock + offset)."""
        return self.clock()

    def reset(self) -> None:
        """Return to the initial state (issued tokens stay valid)."""
        self.clock.offset = 0.0
        spec = self.spec
        self.connections = {n.lower(): c for n, c in spec.connections.items()}
        self.keyvault = VaultStore()
        for vault, secret_map in spec.vaults.items():
            self.keyvault.ensure_vault(vault)
            for name, versions in secret_map.items():
                for version in versions:
                    self.keyvault.add_version(vault, name, version, self.now())
                if (vault.lower(), name.lower()) in spec.deleted_secrets:
                    self.keyvault.delete(vault, name)
        for vault, settings in spec.vault_settings.items():
            self.keyvault.configure(vault, settings)
        self.api_versions.reset()
        self.authz.reset()
        self.downstream = spec.downstream
        self.endpoints = dict(spec.endpoints)
        self.faults.clear()
        self.faults.latency_s.clear()
        self.faults.set_latency("all", self._latency_s)
        self.configure_throttle(self._throttle_spec)
        self.log.clear()

    # identities and roles -------------------------------------------------------------

    def identity_exists(self, identity: str) -> bool:
        """Return whether ``identity`` (``system``, a client id, the deployer's) gets tokens."""
        key = identity.lower()
        return key in self.spec.identities or (key == self.authz.deployer and key is not None)

    @property
    def access(self) -> dict[str, AccessRule]:
        """The data-role holdings per scope (``workspace``, ``vault:<name>``)."""
        return self.authz.rules

    def uai_resource_id(self, client_id: str) -> str:
        """Return the ARM id of a user-assigned identity (named in the state, or by default)."""
        spec = self.spec.uai_details.get(client_id.lower())
        name = (spec.name if spec else None) or f"uai-{client_id.lower()[:8]}"
        group = (spec.resource_group if spec else None) or self.resource_group
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{group}/providers/"
            f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
        )

    def client_id_of(self, identity: str) -> str:
        """Return the client id of an identity (a stable made-up one for ``system``)."""
        return client_id_for(identity)

    def find_identity(self, *, resource_id: str = "", object_id: str = "") -> str | None:
        """Return the identity with this ARM resource id or object (principal) id, if any."""
        deployer = (self.authz.deployer,) if self.authz.deployer else ()
        for identity in self.spec.identities + deployer:
            wanted = resource_id.strip().lower()
            if wanted and identity != "system" and self.uai_resource_id(identity).lower() == wanted:
                return identity
            if object_id and principal_id(identity) == object_id.strip().lower():
                return identity
        return None

    def has_role(self, identity: str, scope: str) -> bool:
        """Return whether ``identity`` may read secrets of ``workspace`` or ``vault:<name>``."""
        return self.authz.has_role(identity.lower(), scope)

    def grant(self, identity: str, scope: str, propagation_delay_s: float = 0.0) -> None:
        """Grant the data role; it answers 403 until ``propagation_delay_s`` has passed."""
        self.authz.grant(identity, scope, propagation_delay_s)

    def revoke(self, identity: str, scope: str) -> None:
        """Revoke the data role immediately (other role assignments stay)."""
        self.authz.revoke(identity, scope)

    # connections ------------------------------------------------------------------------

    def connection(self, name: str) -> ConnectionSpec | None:
        """Return a connection by (case-insensitive) name."""
        return self.connections.get(name.lower())

    def put_connection(self, name: str, raw: Mapping[str, Any]) -> bool:
        """Create or replace a connection (validated); return True when created."""
        existing = self.connection(name)
        conn = validate_connection(existing.name if existing else name, raw, "connection")
        self.connections[name.lower()] = conn
        return existing is None

    def delete_connection(self, name: str) -> bool:
        """Delete a connection; return False when there was none."""
        return self.connections.pop(name.lower(), None) is not None

    def rotate_credential(self, name: str, credential: str, value: str | None) -> str:
        """Replace one credential of a connection; return the new value."""
        conn = self.connection(name)
        if conn is None:
            raise KeyError(name)
        if credential_value(conn, credential) is None:
            raise StateError(
                f"credential: connection {conn.name!r} has no credential {credential!r}"
            )
        new_value = value if value is not None else f"mock-rotated-{secrets.token_hex(12)}"
        creds: dict[str, Any] = dict(conn.credentials or {})
        if conn.auth_type == "CustomKeys":
            creds["keys"] = {**creds["keys"], credential: new_value}
        else:
            creds[credential] = new_value
        self.connections[name.lower()] = replace(conn, credentials=creds)
        return new_value

    def connection_id(self, conn: ConnectionSpec) -> str:
        """Return the ARM id of a connection."""
        return f"{self.spec.workspace}/connections/{conn.name}"

    def list_secrets_body(self, conn: ConnectionSpec) -> dict[str, Any]:
        """Return the ListSecrets 200 body of a connection."""
        props: dict[str, Any] = {
            "authType": conn.auth_type,
            "category": conn.category,
            "target": substitute_url(conn.target, self.base_url),
            "metadata": {k: substitute_url(v, self.base_url) for k, v in conn.metadata.items()},
        }
        if conn.credentials is not None:
            props["credentials"] = conn.to_dict()["credentials"]
        props.update(conn.extra)
        return {
            "id": self.connection_id(conn),
            "name": conn.name,
            "type": CONNECTION_TYPE,
            "properties": props,
        }

    def downstream_key(self) -> str | None:
        """Return the credential value the downstream API accepts now, if configured."""
        if self.downstream is None:
            return None
        conn = self.connection(self.downstream.connection)
        return None if conn is None else credential_value(conn, self.downstream.credential)

    # vaults -------------------------------------------------------------------------------

    @property
    def vaults(self) -> dict[str, VaultRecord]:
        """Every vault, keyed by lower-cased name."""
        return self.keyvault.vaults

    def vault(self, name: str) -> VaultRecord | None:
        """Return a vault by (case-insensitive) name."""
        return self.keyvault.vault(name)

    def add_secret_version(self, vault: str, name: str, value: str | VersionSpec) -> SecretVersion:
        """Add a version (the new latest), creating the vault and secret when needed.

        Raises `ConflictError` while the secret is soft-deleted.
        """
        spec = value if isinstance(value, VersionSpec) else VersionSpec(value)
        _, created = self.keyvault.ensure_vault(vault)
        if created:
            self.authz.ensure_vault_rule(vault)
        return self.keyvault.add_version(vault, name, spec, self.now())

    def delete_secret(self, vault: str, name: str, *, purge: bool = False) -> bool:
        """Soft-delete (or purge) a secret; return False when there was none to delete."""
        return self.keyvault.delete(vault, name, purge=purge)

    def configure_vault(self, vault: str, changes: Mapping[str, Any]) -> VaultSettings:
        """Change a vault's settings (validated; KeyError when there is no such vault)."""
        from secretinj_runtime.mock.state_vaults import vault_settings

        record = self.vault(vault)
        if record is None:
            raise KeyError(vault)
        record.settings = vault_settings(changes, "settings", record.settings)
        return record.settings

    def describe(self) -> dict[str, Any]:
        """Return an overview without any credential or secret value."""
        now = self.now()
        return {
            "workspace": self.spec.workspace,
            "identities": list(self.spec.identities),
            "connections": {
                c.name: {"authType": c.auth_type, "category": c.category}
                for c in self.connections.values()
            },
            "vaults": self.keyvault.describe(),
            "access": self.authz.describe(),
            "deployer": self.authz.deployer,
            "throttle": self.throttle.describe(),
            "latency_s": dict(self.faults.latency_s),
            "api_versions": self.api_versions.describe(),
            "downstream": None
            if self.downstream is None
            else {
                "connection": self.downstream.connection,
                "credential": self.downstream.credential,
            },
            "now": now,
        }

    def configure_throttle(self, spec: ThrottleSpec | None) -> None:
        """Replace the throttle bucket (full); ``None`` disables throttling."""
        if spec is None:
            self.throttle.configure(None)
        else:
            self.throttle.configure(spec.capacity, spec.refill_per_s)
