"""ARM: workspace connection ListSecrets, with auth, RBAC and the write throttle."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from secretinj_runtime.mock.envelopes import arm_error, request_id
from secretinj_runtime.mock.hooks import mock_state, prelude, request_info
from secretinj_runtime.mock.tokens import ARM_AUDIENCE, TokenCheck, object_id

router = APIRouter()
LISTSECRETS_RE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
    r"Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)/connections/(?P<name>[^/]+)"
    r"/listsecrets/?$",
    re.IGNORECASE,
)
ACTION = "Microsoft.MachineLearningServices/workspaces/connections/listsecrets/action"
ALLOWED_AUDIENCES = (
    "'https://management.core.windows.net/','https://management.core.windows.net',"
    "'https://management.azure.com/','https://management.azure.com'"
)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


@router.post("/subscriptions/{rest:path}")
async def list_secrets(request: Request, rest: str) -> Response:
    """Answer ``POST .../workspaces/{ws}/connections/{name}/listsecrets?api-version=...``."""
    state = mock_state(request)
    correlation = request.headers.get("x-ms-correlation-request-id") or request_id()

    def headers(remaining: int | None = None) -> dict[str, str]:
        left = state.throttle.remaining() if remaining is None else remaining
        return {
            "x-ms-ratelimit-remaining-subscription-writes": str(left),
            "x-ms-request-id": request_id(),
            "x-ms-correlation-request-id": correlation,
        }

    match = LISTSECRETS_RE.match(request.url.path)
    if match is None:
        request_info(request).route = "arm"
        return arm_error(
            404, "InvalidResourceType", "The mock only serves connection listsecrets.", headers()
        )
    name = match["name"]
    early = await prelude(request, "listsecrets", name, headers)
    if early is not None:
        return early
    check = state.tokens.check(request.headers.get("authorization"), ARM_AUDIENCE)
    if check.status is not TokenCheck.OK:
        return unauthorized(check.status, check.token, state.now(), state.spec.tenant_id, headers())
    assert check.token is not None
    identity = check.token.identity
    request_info(request).identity = identity
    decision = state.throttle.take()
    if not decision.allowed:
        hdrs = headers(0) | {"Retry-After": str(decision.retry_after_s)}
        message = (
            f"Number of 'write' requests for subscription '{match['sub']}' actor "
            f"'{object_id(identity)}' exceeded. Please try again after "
            f"'{decision.retry_after_s}' seconds after the last request."
        )
        return arm_error(429, "SubscriptionRequestsThrottled", message, hdrs)
    hdrs = headers(decision.remaining)
    api_version = request.query_params.get("api-version")
    if not api_version:
        message = "The api-version query parameter (?api-version=) is required for all requests."
        return arm_error(400, "MissingApiVersionParameter", message, hdrs)
    if not state.api_versions.accepts("ml", api_version):
        message = state.api_versions.arm_invalid_message("ml", api_version)
        return arm_error(400, "InvalidApiVersionParameter", message, hdrs)
    if match["sub"].lower() != state.subscription.lower():
        message = f"The subscription '{match['sub']}' could not be found."
        return arm_error(404, "SubscriptionNotFound", message, hdrs)
    if match["rg"].lower() != state.resource_group.lower():
        message = f"Resource group '{match['rg']}' could not be found."
        return arm_error(404, "ResourceGroupNotFound", message, hdrs)
    if match["ws"].lower() != state.workspace_name.lower():
        message = (
            f"The Resource 'Microsoft.MachineLearningServices/workspaces/{match['ws']}' under "
            f"resource group '{match['rg']}' was not found."
        )
        return arm_error(404, "WorkspaceNotFound", message, hdrs)
    if not state.has_role(identity, "workspace"):
        message = (
            f"The client '{identity}' with object id '{object_id(identity)}' does not have "
            f"authorization to perform action '{ACTION}' over scope "
            f"'{state.spec.workspace}/connections/{name}' or the scope is invalid. "
            "If access was recently granted, please refresh your credentials."
        )
        return arm_error(403, "AuthorizationFailed", message, hdrs)
    conn = state.connection(name)
    if conn is None:
        return arm_error(
            404, "ResourceNotFound", f"Connection {name} can't be found in this workspace", hdrs
        )
    return JSONResponse(state.list_secrets_body(conn), 200, hdrs)


def unauthorized(
    status: TokenCheck, token: object, now: float, tenant: str, headers: dict[str, str]
) -> Response:
    """ARM's 401 for a missing, invalid, expired or wrong-audience token, with a challenge."""
    expires_on = getattr(token, "expires_on", None)
    audience = getattr(token, "audience", None)
    if status is TokenCheck.MISSING:
        code, message = (
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        )
    elif status is TokenCheck.EXPIRED and expires_on is not None:
        code = "ExpiredAuthenticationToken"
        message = (
            f"The access token expiry UTC time '{_iso(expires_on)}' is earlier than current "
            f"UTC time '{_iso(now)}'."
        )
    elif status is TokenCheck.WRONG_AUDIENCE:
        code = "InvalidAuthenticationTokenAudience"
        message = (
            f"The access token has been obtained for wrong audience or resource '{audience}'. "
            f"It should exactly match with one of the allowed audiences {ALLOWED_AUDIENCES}."
        )
    else:
        code, message = "InvalidAuthenticationToken", "The access token is invalid."
    challenge = (
        f'Bearer authorization_uri="https://login.windows.net/{tenant}", '
        f'error="invalid_token", error_description="{code}"'
    )
    return arm_error(401, code, message, headers | {"WWW-Authenticate": challenge})
