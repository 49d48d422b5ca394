"""Azure ML flavour of the managed-identity token endpoint (``MSI_ENDPOINT``)."""

from __future__ import annotations

import secrets

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from secretinj_runtime.mock.envelopes import msi_error
from secretinj_runtime.mock.hooks import mock_state, prelude, request_info
from secretinj_runtime.mock.tokens import AUDIENCES, normalize_audience

router = APIRouter()
_UNSUPPORTED_SELECTORS = ("object_id", "objectid", "mi_res_id", "msi_res_id", "principal_id")


@router.get("/msi/token")
async def msi_token(request: Request) -> Response:
    """Issue a token: ``?api-version=2017-09-01&resource=<aud>[&clientid=<id>]``.

    Requires the ``secret`` header to equal the configured MSI secret.
    """
    state = mock_state(request)
    query = request.query_params
    client_id = query.get("clientid") or query.get("client_id")
    identity = client_id.lower() if client_id else "system"
    early = await prelude(request, "msi", identity)
    if early is not None:
        return early
    presented = request.headers.get("secret", "")
    if not secrets.compare_digest(presented.encode(), state.msi_secret.encode()):
        return msi_error(400, "invalid_request", "The 'secret' header is missing or wrong.")
    if not query.get("api-version"):
        return msi_error(400, "invalid_request", "The api-version query parameter is required.")
    resource = query.get("resource")
    if not resource:
        return msi_error(400, "invalid_request", "The resource query parameter is required.")
    audience = normalize_audience(resource)
    if audience is None:
        return msi_error(
            400,
            "invalid_resource",
            f"Resource {resource!r} is not supported by the mock (use one of {list(AUDIENCES)}).",
        )
    for selector in _UNSUPPORTED_SELECTORS:
        if selector in query:
            return msi_error(400, "invalid_request", f"Identity selector {selector!r} unsupported.")
    if not state.identity_exists(identity):
        what = (
            f"No user-assigned identity with client id {client_id!r} is assigned to this endpoint."
            if client_id
            else "No system-assigned identity is enabled on this endpoint."
        )
        return msi_error(400, "invalid_request", f"Identity not found. {what}")
    request_info(request).identity = identity
    value, token = state.tokens.issue(identity, audience)
    return JSONResponse(
        {
            "access_token": value,
            "expires_on": str(token.expires_on),
            "resource": resource,
            "token_type": "Bearer",
        }
    )
