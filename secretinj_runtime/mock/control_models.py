"""Request bodies of the control API (pydantic; errors name the offending field)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FaultKind = Literal["msi", "listsecrets", "keyvault", "keyvault_versions", "arm", "downstream"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RotateCredentialIn(_Strict):
    """Body of ``POST /_mock/connections/{name}/rotate``."""

    credential: str = "key"
    value: str | None = Field(default=None, min_length=1)


Timestamp = int | str | None  # epoch seconds or ISO 8601; parsed by state_vaults


class SecretValueIn(_Strict):
    """Body of ``POST /_mock/vaults/{vault}/secrets/{name}[/rotate]`` (``""`` is a value)."""

    value: str
    enabled: bool = True
    exp: Timestamp = None
    nbf: Timestamp = None
    content_type: str | None = None


class SecretAttributesIn(_Strict):
    """Body of ``PATCH /_mock/vaults/{vault}/secrets/{name}/{version}`` (only fields given)."""

    enabled: bool | None = None
    exp: Timestamp = None
    nbf: Timestamp = None
    content_type: str | None = None


class VaultSettingsIn(_Strict):
    """Body of ``PATCH /_mock/vaults/{vault}/settings`` (only fields given change)."""

    firewall: Literal["allow", "deny"] | None = None
    rbac_authorization: bool | None = None
    resource_group: str | None = None


class ApiVersionsIn(_Strict):
    """Body of ``PUT /_mock/api-versions``."""

    api: str
    versions: list[str] = Field(min_length=1)


class AccessIn(_Strict):
    """Body of ``POST /_mock/access/grant`` and ``/revoke``."""

    identity: str = Field(default="system", min_length=1)
    scope: Literal["workspace", "vault"] = "workspace"
    vault: str | None = None
    propagation_delay_s: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _vault_with_scope(self) -> AccessIn:
        if self.scope == "vault" and not self.vault:
            raise ValueError("vault: required when scope is 'vault'")
        if self.scope == "workspace" and self.vault:
            raise ValueError("vault: only allowed when scope is 'vault'")
        return self


class FaultIn(_Strict):
    """Body of ``POST /_mock/faults``."""

    kind: FaultKind
    status: int | None = Field(default=None, ge=100, le=599)
    count: int = Field(default=1, ge=1, le=1_000_000)
    name: str | None = None
    retry_after_s: float | None = Field(default=None, ge=0)
    latency_s: float | None = Field(default=None, ge=0, le=600)
    drop_connection: bool = False
    body: Literal["html", "invalid_json", "empty"] | dict[str, Any] | None = None

    @model_validator(mode="after")
    def _has_effect(self) -> FaultIn:
        if self.status is None and not self.drop_connection and self.latency_s is None:
            raise ValueError("status: required unless drop_connection or latency_s is given")
        if self.drop_connection and self.status is not None:
            raise ValueError("status: not allowed together with drop_connection")
        return self


class LatencyIn(_Strict):
    """Body of ``PUT /_mock/latency``."""

    kind: Literal[
        "all", "msi", "listsecrets", "keyvault", "keyvault_versions", "arm", "downstream"
    ] = "all"
    latency_s: float = Field(ge=0, le=600)


class ThrottleIn(_Strict):
    """Body of ``PUT /_mock/throttle``."""

    enabled: bool = True
    capacity: int | None = Field(default=None, ge=1)
    refill_per_s: float | None = Field(default=None, gt=0)


class ClockAdvanceIn(_Strict):
    """Body of ``POST /_mock/clock/advance``."""

    seconds: float = Field(ge=0)


class RoleAssignmentIn(_Strict):
    """Body of ``POST /_mock/role-assignments``."""

    principal: str = Field(min_length=1)  # deployer | system | a client id
    role: str = Field(min_length=1)  # a role name or GUID
    scope: str = Field(default="workspace", min_length=1)
    age_s: float | None = Field(default=None, ge=0)  # created this long ago
    propagation_delay_s: float = Field(default=0.0, ge=0)


class CustomRoleIn(_Strict):
    """Body of ``PUT /_mock/roles/{name}``."""

    id: str | None = None
    actions: list[str] = Field(default_factory=list)
    not_actions: list[str] = Field(default_factory=list)
    data_actions: list[str] = Field(default_factory=list)
    not_data_actions: list[str] = Field(default_factory=list)
    description: str = ""


class EndpointIn(_Strict):
    """Body of ``PUT /_mock/endpoints/{name}`` (the state file's endpoint shape)."""

    identity: Literal["system_assigned", "user_assigned"] = "system_assigned"
    user_assigned_identities: list[str] = Field(default_factory=list)
    enforce_access_to_default_secret_stores: Literal["enabled", "disabled"] | None = None
