"""Key Vault secret GET under ``/keyvault/<vault>/secrets/<name>[/<version>]``."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from secretinj_runtime.mock.envelopes import error_response, request_id
from secretinj_runtime.mock.hooks import mock_state, prelude, request_info
from secretinj_runtime.mock.tokens import KEYVAULT_AUDIENCE, TokenCheck, object_id

router = APIRouter()
NOT_FOUND_HINT = (
    "was not found in this key vault. If you recently deleted this secret you may be able to "
    "recover it using the correct recovery command. For help resolving this issue, please see "
    "https://go.microsoft.com/fwlink/?linkid=2125182"
)


@router.get("/keyvault/{vault}/secrets/{name}")
@router.get("/keyvault/{vault}/secrets/{name}/")
@router.get("/keyvault/{vault}/secrets/{name}/{version}")
async def get_secret(request: Request, vault: str, name: str, version: str = "") -> Response:
    """Answer a Key Vault ``GET secrets/{name}[/{version}]?api-version=...``."""
    state = mock_state(request)
    headers = {"x-ms-request-id": request_id(), "x-ms-keyvault-service-version": "mock"}
    early = await prelude(request, "keyvault", name, lambda: headers)
    if early is not None:
        return early
    if not request.query_params.get("api-version"):
        return error_response(
            400, "BadParameter", "The api-version query parameter is required.", headers=headers
        )
    check = state.tokens.check(request.headers.get("authorization"), KEYVAULT_AUDIENCE)
    if check.status is not TokenCheck.OK:
        challenge = (
            f'Bearer authorization="https://login.microsoftonline.com/{state.spec.tenant_id}", '
            f'resource="{KEYVAULT_AUDIENCE}"'
        )
        messages = {
            TokenCheck.MISSING: "AKV10000: Request is missing a Bearer or PoP token.",
            TokenCheck.INVALID: "AKV10032: Invalid token: the access token is not recognised.",
            TokenCheck.EXPIRED: "[TokenExpired] Error validating token: 'S2S12086'.",
            TokenCheck.WRONG_AUDIENCE: (
                f"AKV10022: Invalid audience. Expected {KEYVAULT_AUDIENCE}, found: "
                f"{check.token.audience if check.token else '?'}."
            ),
        }
        return error_response(
            401,
            "Unauthorized",
            messages[check.status],
            headers=headers | {"WWW-Authenticate": challenge},
        )
    assert check.token is not None
    identity = check.token.identity
    request_info(request).identity = identity
    record = state.vault(vault)
    if record is None:
        message = f"Vault {vault!r} does not exist in the mock (no such host)."
        return error_response(404, "VaultNotFound", message, headers=headers)
    if not state.has_role(identity, f"vault:{vault}"):
        message = (
            "Caller is not authorized to perform action on resource.\r\n"
            "If role assignments, deny assignments or role definitions were changed recently, "
            "please observe propagation time.\r\n"
            f"Caller: appid={identity};oid={object_id(identity)}\r\n"
            "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\n"
            f"Resource: '{record.name}/secrets/{name}'\r\nAssignment: (not found)\r\n"
            f"Vault: {record.name};location=mock\r\n"
        )
        return error_response(
            403, "Forbidden", message, headers=headers, innererror={"code": "ForbiddenByRbac"}
        )
    secret = record.secrets.get(name.lower())
    found = None
    if secret is not None and secret.versions:
        if not version:
            found = secret.versions[-1]
        else:
            found = next((v for v in secret.versions if v.version == version.lower()), None)
    if secret is None or found is None:
        ident = f"{name}/{version}" if version else name
        message = f"A secret with (name/id) {ident} {NOT_FOUND_HINT}"
        return error_response(404, "SecretNotFound", message, headers=headers)
    body = {
        "value": found.value,
        "id": f"https://{record.name}.vault.azure.net/secrets/{secret.name}/{found.version}",
        "attributes": {
            "enabled": True,
            "created": found.created,
            "updated": found.created,
            "recoveryLevel": "Recoverable+Purgeable",
            "recoverableDays": 90,
        },
        "tags": {},
    }
    return JSONResponse(body, 200, headers)
