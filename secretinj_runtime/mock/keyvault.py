"""Key Vault secret GET under ``/keyvault/<vault>/secrets/<name>[/<version>]``.

Answers as Key Vault does: 400 ``BadParameter`` for a missing or unknown api-version; 401
with a challenge; 403 ``Forbidden`` with ``innererror.code`` ``ForbiddenByFirewall`` (the
vault's firewall denies the caller), ``ForbiddenByRbac`` (no role, RBAC model),
``AccessDenied`` (no access policy) or ``SecretDisabled`` (the version is disabled); 404
``SecretNotFound`` (also for a soft-deleted secret). ``exp`` and ``nbf`` are reported in
``attributes`` but, as in Key Vault, a GET outside them still answers 200.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from secretinj_runtime.mock.envelopes import error_response, request_id
from secretinj_runtime.mock.hooks import mock_state, prelude, request_info
from secretinj_runtime.mock.store import MockState
from secretinj_runtime.mock.tokens import KEYVAULT_AUDIENCE, TokenCheck, object_id
from secretinj_runtime.mock.vaultstore import VaultRecord

router = APIRouter()
NOT_FOUND_HINT = (
    "was not found in this key vault. If you recently deleted this secret you may be able to "
    "recover it using the correct recovery command. For help resolving this issue, please see "
    "https://go.microsoft.com/fwlink/?linkid=2125182"
)
DISABLED_MESSAGE = "Operation get is not allowed on a disabled secret."


def _forbidden(inner: str, message: str, headers: dict[str, str]) -> JSONResponse:
    return error_response(403, "Forbidden", message, headers=headers, innererror={"code": inner})


def check_api_version(request: Request, headers: dict[str, str]) -> Response | None:
    """Return Key Vault's 400 for a missing or unsupported api-version, else None."""
    state = mock_state(request)
    version = request.query_params.get("api-version")
    if not version:
        message = "The api-version query parameter is required."
        return error_response(400, "BadParameter", message, headers=headers)
    if not state.api_versions.accepts("keyvault", version):
        message = state.api_versions.keyvault_invalid_message(version)
        return error_response(400, "BadParameter", message, headers=headers)
    return None


def authorize(
    request: Request, vault: str, action: str, resource: str, headers: dict[str, str]
) -> tuple[VaultRecord | None, Response | None]:
    """Check the token, the vault, its firewall and the caller's access to ``action``.

    Returns the vault and None, or None and the error response to send.
    """
    state = mock_state(request)
    check = state.tokens.check(request.headers.get("authorization"), KEYVAULT_AUDIENCE)
    if check.status is not TokenCheck.OK:
        return None, _unauthorized(state, check.status, check.token, headers)
    assert check.token is not None
    identity = check.token.identity
    request_info(request).identity = identity
    record = state.vault(vault)
    if record is None:
        message = f"Vault {vault!r} does not exist in the mock (no such host)."
        return None, error_response(404, "VaultNotFound", message, headers=headers)
    caller = f"appid={identity};oid={object_id(identity)}"
    if record.settings.firewall == "deny":
        client = request.client.host if request.client else "unknown"
        message = (
            "Client address is not authorized and caller is not a trusted service.\r\n"
            f"Client address: {client}\r\nCaller: {caller}\r\n"
            f"Vault: {record.name};location=mock"
        )
        return None, _forbidden("ForbiddenByFirewall", message, headers)
    if not state.has_role(identity, f"vault:{vault}"):
        if not record.settings.rbac_authorization:
            verb = "list" if "readMetadata" in action else "get"
            message = (
                f"The user, group or application '{caller}' does not have secrets {verb} "
                f"permission on key vault '{record.name};location=mock'. For help resolving "
                "this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287"
            )
            return None, _forbidden("AccessDenied", message, headers)
        message = (
            "Caller is not authorized to perform action on resource.\r\n"
            "If role assignments, deny assignments or role definitions were changed recently, "
            "please observe propagation time.\r\n"
            f"Caller: {caller}\r\nAction: '{action}'\r\n"
            f"Resource: '{record.name}/{resource}'\r\nAssignment: (not found)\r\n"
            f"Vault: {record.name};location=mock\r\n"
        )
        return None, _forbidden("ForbiddenByRbac", message, headers)
    return record, None


def _unauthorized(
    state: MockState, status: TokenCheck, token: object, headers: dict[str, str]
) -> Response:
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
            f"{getattr(token, 'audience', '?')}."
        ),
    }
    return error_response(
        401,
        "Unauthorized",
        messages[status],
        headers=headers | {"WWW-Authenticate": challenge},
    )


async def admitted(
    request: Request, route: str, vault: str, name: str, action: str, headers: dict[str, str]
) -> VaultRecord | Response:
    """Run a data-plane call's checks in Key Vault's order; return the vault or the answer.

    Faults and latency first (`prelude`), then the api-version, then the token, the vault,
    its firewall and the caller's access to ``action`` on secret ``name``.
    """
    early = await prelude(request, route, name, lambda: headers)
    if early is not None:
        return early
    bad = check_api_version(request, headers)
    if bad is not None:
        return bad
    record, denied = authorize(request, vault, action, f"secrets/{name}", headers)
    if denied is not None:
        return denied
    assert record is not None
    return record


def kv_headers() -> dict[str, str]:
    """Headers of every Key Vault answer."""
    return {"x-ms-request-id": request_id(), "x-ms-keyvault-service-version": "mock"}


@router.get("/keyvault/{vault}/secrets/{name}/versions")
async def list_versions(request: Request, vault: str, name: str) -> Response:
    """Answer ``GET secrets/{name}/versions``: ids and attributes, never a value.

    Needs ``secrets/readMetadata/action`` (RBAC) or the list permission (access policy).
    A secret that does not exist (or is deleted) lists no version. ``maxresults`` (1-25)
    pages the answer with a ``nextLink``.
    """
    headers = kv_headers()
    action = "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
    record = await admitted(request, "keyvault_versions", vault, name, action, headers)
    if isinstance(record, Response):
        return record
    try:
        page = min(max(int(request.query_params.get("maxresults", "25")), 1), 25)
        skip = max(int(request.query_params.get("$skiptoken", "0")), 0)
    except ValueError:
        message = "maxresults and $skiptoken must be integers."
        return error_response(400, "BadParameter", message, headers=headers)
    secret = record.secrets.get(name.lower())
    versions = [] if secret is None or secret.deleted else secret.versions
    items = []
    for version in versions[skip : skip + page]:
        assert secret is not None
        item: dict[str, object] = {
            "id": record.secret_id(secret, version),
            "attributes": version.attributes(),
            "tags": {},
        }
        if version.content_type is not None:
            item["contentType"] = version.content_type
        items.append(item)
    next_link = None
    if skip + page < len(versions):
        query = f"api-version={request.query_params['api-version']}&maxresults={page}"
        next_link = f"{request.url.remove_query_params(list(request.query_params))}?{query}"
        next_link += f"&$skiptoken={skip + page}"
    return JSONResponse({"value": items, "nextLink": next_link}, 200, headers)


@router.get("/keyvault/{vault}/secrets/{name}")
@router.get("/keyvault/{vault}/secrets/{name}/")
@router.get("/keyvault/{vault}/secrets/{name}/{version}")
async def get_secret(request: Request, vault: str, name: str, version: str = "") -> Response:
    """Answer a Key Vault ``GET secrets/{name}[/{version}]?api-version=...``."""
    headers = kv_headers()
    action = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
    record = await admitted(request, "keyvault", vault, name, action, headers)
    if isinstance(record, Response):
        return record
    secret = record.secrets.get(name.lower())
    found = None if secret is None or secret.deleted else secret.find(version)
    if secret is None or found is None:
        ident = f"{name}/{version}" if version else name
        message = f"A secret with (name/id) {ident} {NOT_FOUND_HINT}"
        return error_response(404, "SecretNotFound", message, headers=headers)
    if not found.enabled:
        return _forbidden("SecretDisabled", DISABLED_MESSAGE, headers)
    body: dict[str, object] = {
        "value": found.value,
        "id": record.secret_id(secret, found),
        "attributes": found.attributes(),
        "tags": {},
    }
    if found.content_type is not None:
        body["contentType"] = found.content_type
    return JSONResponse(body, 200, headers)
