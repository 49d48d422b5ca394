"""Control API for Key Vault: secrets, versions and their attributes, vault settings.

No route returns a secret value.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from secretinj_runtime.mock.authtypes import StateError
from secretinj_runtime.mock.control import bad_request, not_found
from secretinj_runtime.mock.control_models import (
    ApiVersionsIn,
    SecretAttributesIn,
    SecretValueIn,
    VaultSettingsIn,
)
from secretinj_runtime.mock.envelopes import error_response
from secretinj_runtime.mock.hooks import mock_state
from secretinj_runtime.mock.model import VersionSpec
from secretinj_runtime.mock.state_vaults import SECRET_NAME_RE, VAULT_NAME_RE, parse_timestamp
from secretinj_runtime.mock.vaultstore import ConflictError

router = APIRouter(prefix="/_mock")


@router.get("/vaults")
async def list_vaults(request: Request) -> dict[str, Any]:
    """Vaults, their (not deleted) secrets and version ids (oldest first), no values."""
    return dict(mock_state(request).keyvault.describe())


def _version_spec(body: SecretValueIn) -> VersionSpec:
    return VersionSpec(
        body.value,
        body.enabled,
        parse_timestamp(body.exp, "exp"),
        parse_timestamp(body.nbf, "nbf"),
        body.content_type,
    )


def _add_version(request: Request, vault: str, name: str, body: SecretValueIn) -> Response:
    state = mock_state(request)
    try:
        version = state.add_secret_version(vault, name, _version_spec(body))
    except ConflictError as exc:
        return error_response(409, "Conflict", str(exc))
    except StateError as exc:
        return bad_request(str(exc))
    record = state.vault(vault)
    assert record is not None
    secret = record.secrets[name.lower()]
    return JSONResponse(
        {
            "vault": record.name,
            "name": secret.name,
            "version": version.version,
            "id": record.secret_id(secret, version),
        }
    )


@router.post("/vaults/{vault}/secrets/{name}")
async def set_secret(request: Request, vault: str, name: str, body: SecretValueIn) -> Response:
    """Add a version that becomes the latest (creates the vault and secret if needed)."""
    if not VAULT_NAME_RE.match(vault):
        return bad_request("vault: invalid vault name (3-24 letters, digits, dashes)")
    if not SECRET_NAME_RE.match(name):
        return bad_request("name: invalid secret name (1-127 letters, digits, dashes)")
    return _add_version(request, vault, name, body)


@router.post("/vaults/{vault}/secrets/{name}/rotate")
async def rotate_secret(request: Request, vault: str, name: str, body: SecretValueIn) -> Response:
    """Like set, but the secret must already exist (404 otherwise)."""
    secret = mock_state(request).keyvault.secret(vault, name)
    if secret is None:
        return not_found(f"secret {name!r} in vault {vault!r}")
    return _add_version(request, vault, name, body)


@router.get("/vaults/{vault}/secrets/{name}")
async def show_secret(request: Request, vault: str, name: str) -> Response:
    """Show a secret's state and its versions' attributes (never a value)."""
    secret = mock_state(request).keyvault.secret(vault, name)
    if secret is None:
        return not_found(f"secret {name!r} in vault {vault!r}")
    return JSONResponse(
        {
            "name": secret.name,
            "deleted": secret.deleted,
            "versions": [v.describe() for v in secret.versions],
        }
    )


@router.patch("/vaults/{vault}/secrets/{name}/{version}")
async def update_version(
    request: Request, vault: str, name: str, version: str, body: SecretAttributesIn
) -> Response:
    """Change a version's ``enabled``, ``exp``, ``nbf`` or ``content_type`` (``latest`` works)."""
    state = mock_state(request)
    changes: dict[str, Any] = {}
    try:
        for key in body.model_fields_set:
            value = getattr(body, key)
            if key in ("exp", "nbf"):
                value = parse_timestamp(value, key)
            elif key == "enabled" and value is None:
                raise StateError("enabled: must be true or false")
            changes[key] = value
        found = state.keyvault.update_version(vault, name, version, changes, state.now())
    except KeyError:
        return not_found(f"version {version!r} of secret {name!r} in vault {vault!r}")
    except StateError as exc:
        return bad_request(str(exc))
    return JSONResponse(found.describe())


@router.delete("/vaults/{vault}/secrets/{name}")
async def delete_secret(request: Request, vault: str, name: str, purge: bool = False) -> Response:
    """Soft-delete a secret (GET answers 404 until recovered); ``?purge=true`` removes it."""
    if not mock_state(request).delete_secret(vault, name, purge=purge):
        return not_found(f"secret {name!r} in vault {vault!r}")
    return JSONResponse({"vault": vault, "name": name, "deleted": True, "purged": purge})


@router.post("/vaults/{vault}/secrets/{name}/recover")
async def recover_secret(request: Request, vault: str, name: str) -> Response:
    """Undo a soft delete."""
    if not mock_state(request).keyvault.recover(vault, name):
        return not_found(f"deleted secret {name!r} in vault {vault!r}")
    return JSONResponse({"vault": vault, "name": name, "deleted": False})


@router.get("/vaults/{vault}/settings")
async def get_vault_settings(request: Request, vault: str) -> Response:
    """Show a vault's firewall, permission model and resource group."""
    record = mock_state(request).vault(vault)
    if record is None:
        return not_found(f"vault {vault!r}")
    return JSONResponse(record.settings.to_dict())


@router.patch("/vaults/{vault}/settings")
async def patch_vault_settings(request: Request, vault: str, body: VaultSettingsIn) -> Response:
    """Change a vault's settings: ``firewall`` (allow/deny), ``rbac_authorization``, ..."""
    changes = {k: getattr(body, k) for k in body.model_fields_set}
    try:
        settings = mock_state(request).configure_vault(vault, changes)
    except KeyError:
        return not_found(f"vault {vault!r}")
    except StateError as exc:
        return bad_request(str(exc))
    return JSONResponse(settings.to_dict())


@router.get("/api-versions")
async def get_api_versions(request: Request) -> dict[str, list[str]]:
    """Show the api-versions each emulated API accepts."""
    return mock_state(request).api_versions.describe()


@router.put("/api-versions")
async def put_api_versions(request: Request, body: ApiVersionsIn) -> Response:
    """Replace the api-versions one API accepts (``ml``, ``keyvault``, ``msi``)."""
    state = mock_state(request)
    try:
        state.api_versions.set(body.api, body.versions)
    except StateError as exc:
        return bad_request(str(exc))
    return JSONResponse(state.api_versions.describe())
