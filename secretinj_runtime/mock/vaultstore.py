"""The live Key Vault side of the mock: vaults, secrets, versions and their attributes.

Soft delete works as in Key Vault: a deleted secret answers 404 ``SecretNotFound`` until it
is recovered or purged, and its name cannot be reused meanwhile (409 ``Conflict``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from secretinj_runtime.mock.authtypes import StateError
from secretinj_runtime.mock.model import VaultSettings, VersionSpec

RECOVERY_LEVEL = "Recoverable+Purgeable"
RECOVERABLE_DAYS = 90


def version_id(vault: str, name: str, index: int) -> str:
    """Return the deterministic 32-hex version id of version ``index`` of a secret."""
    digest = hashlib.sha256(f"{vault.lower()}/{name.lower()}/{index}".encode())
    return digest.hexdigest()[:32]


@dataclass
class SecretVersion:
    """One version of a Key Vault secret, with its attributes (times in epoch seconds)."""

    version: str
    value: str
    created: int
    updated: int = 0
    enabled: bool = True
    exp: int | None = None
    nbf: int | None = None
    content_type: str | None = None

    def attributes(self) -> dict[str, Any]:
        """Return the ``attributes`` object Key Vault sends (``exp``/``nbf`` only when set)."""
        out: dict[str, Any] = {"enabled": self.enabled}
        if self.nbf is not None:
            out["nbf"] = self.nbf
        if self.exp is not None:
            out["exp"] = self.exp
        out |= {
            "created": self.created,
            "updated": self.updated or self.created,
            "recoveryLevel": RECOVERY_LEVEL,
            "recoverableDays": RECOVERABLE_DAYS,
        }
        return out

    def describe(self) -> dict[str, Any]:
        """Return the version without its value (control API)."""
        return {"version": self.version, **self.attributes(), "contentType": self.content_type}


@dataclass
class SecretRecord:
    """A secret: its name as created, its versions (oldest first) and whether it is deleted."""

    name: str
    versions: list[SecretVersion] = field(default_factory=list)
    deleted: bool = False

    def find(self, version: str | None) -> SecretVersion | None:
        """Return a version by id (case-insensitive), or the latest for None/empty/latest."""
        if not self.versions:
            return None
        if not version or version.lower() == "latest":
            return self.versions[-1]
        return next((v for v in self.versions if v.version == version.lower()), None)


@dataclass
class VaultRecord:
    """A vault: its name as created, its secrets keyed by lower-cased name, its settings."""

    name: str
    secrets: dict[str, SecretRecord] = field(default_factory=dict)
    settings: VaultSettings = field(default_factory=VaultSettings)

    def secret_id(self, secret: SecretRecord, version: SecretVersion | None = None) -> str:
        """Return the secret's identifier URL (with a version when given)."""
        base = f"https://{self.name}.vault.azure.net/secrets/{secret.name}"
        return f"{base}/{version.version}" if version is not None else base


class VaultStore:
    """Every vault of the mock, keyed by lower-cased name."""

    def __init__(self) -> None:
        self.vaults: dict[str, VaultRecord] = {}

    def vault(self, name: str) -> VaultRecord | None:
        """Return a vault by (case-insensitive) name."""
        return self.vaults.get(name.lower())

    def secret(self, vault: str, name: str) -> SecretRecord | None:
        """Return a secret (deleted or not) by vault and name."""
        record = self.vault(vault)
        return None if record is None else record.secrets.get(name.lower())

    def ensure_vault(self, name: str) -> tuple[VaultRecord, bool]:
        """Return the vault, creating it when needed; the flag says whether it was created."""
        record = self.vault(name)
        if record is not None:
            return record, False
        record = self.vaults[name.lower()] = VaultRecord(name)
        return record, True

    def add_version(self, vault: str, name: str, spec: VersionSpec, now: float) -> SecretVersion:
        """Add a version (the new latest); 409-style `StateError` for a deleted secret."""
        record, _ = self.ensure_vault(vault)
        secret = record.secrets.setdefault(name.lower(), SecretRecord(name))
        if secret.deleted:
            raise ConflictError(
                f"Secret {secret.name} is currently in a deleted but recoverable state, and its "
                "name cannot be reused; in this state, the secret can only be recovered or purged."
            )
        stamp = int(now)
        version = SecretVersion(
            version_id(vault, name, len(secret.versions)),
            spec.value,
            created=stamp,
            updated=stamp,
            enabled=spec.enabled,
            exp=spec.exp,
            nbf=spec.nbf,
            content_type=spec.content_type,
        )
        secret.versions.append(version)
        return version

    def update_version(
        self, vault: str, name: str, version: str, changes: Mapping[str, Any], now: float
    ) -> SecretVersion:
        """Change ``enabled``/``exp``/``nbf``/``content_type`` of one version (KeyError: none)."""
        secret = self.secret(vault, name)
        found = None if secret is None or secret.deleted else secret.find(version)
        if found is None:
            raise KeyError(version)
        for key, value in changes.items():
            if key not in ("enabled", "exp", "nbf", "content_type"):
                raise StateError(f"{key}: not a secret attribute")
            setattr(found, key, value)
        found.updated = int(now)
        return found

    def delete(self, vault: str, name: str, *, purge: bool = False) -> bool:
        """Soft-delete (or purge) a secret; return False when there was nothing to delete."""
        record = self.vault(vault)
        secret = None if record is None else record.secrets.get(name.lower())
        if record is None or secret is None or (secret.deleted and not purge):
            return False
        if purge:
            del record.secrets[name.lower()]
        else:
            secret.deleted = True
        return True

    def recover(self, vault: str, name: str) -> bool:
        """Undo a soft delete; return False when the secret is not in the deleted state."""
        secret = self.secret(vault, name)
        if secret is None or not secret.deleted:
            return False
        secret.deleted = False
        return True

    def configure(self, vault: str, settings: VaultSettings) -> None:
        """Replace a vault's settings (KeyError when there is no such vault)."""
        record = self.vault(vault)
        if record is None:
            raise KeyError(vault)
        record.settings = replace(settings)

    def describe(self) -> dict[str, dict[str, list[str]]]:
        """Vaults, their live secrets and version ids (oldest first); no values."""
        return {
            v.name: {
                s.name: [x.version for x in s.versions] for s in v.secrets.values() if not s.deleted
            }
            for v in self.vaults.values()
        }


class ConflictError(StateError):
    """The change conflicts with the current state (Key Vault answers 409)."""
