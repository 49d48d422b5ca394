"""The managed-identity token endpoint, in both shapes azure-identity speaks.

* ``api-version=2017-09-01`` (Azure ML, ``MSI_ENDPOINT`` + ``MSI_SECRET``): header
  ``secret``, user-assigned identity by ``clientid``; answers
  ``{access_token, expires_on: "<epoch s>", resource, token_type}``; errors are OAuth-style
  ``{error, error_description}``.
* ``api-version=2019-08-01`` (App Service, ``IDENTITY_ENDPOINT`` + ``IDENTITY_HEADER``):
  header ``X-IDENTITY-HEADER``, user-assigned identity by ``client_id``, ``mi_res_id`` or
  ``object_id``/``principal_id``; answers the same plus ``client_id``; errors are
  ``{statusCode, message, correlationId}``.

Any other api-version, or one removed from the live list, answers 400.
"""

from __future__ import annotations

import secrets
import uuid

from fastapi import APIRouter
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from secretinj_runtime.mock.envelopes import msi_error
from secretinj_runtime.mock.hooks import mock_state, prelude, request_info
from secretinj_runtime.mock.store import MockState
from secretinj_runtime.mock.tokens import AUDIENCES, normalize_audience

router = APIRouter()
AZURE_ML_VERSION = "2017-09-01"
APP_SERVICE_VERSION = "2019-08-01"
APP_SERVICE_HEADER = "x-identity-header"
_SELECTORS_2017 = ("clientid", "client_id")
_UNSUPPORTED_2017 = ("object_id", "objectid", "mi_res_id", "msi_res_id", "principal_id")


class _RefusedError(Exception):
    def __init__(self, message: str, error: str = "invalid_request") -> None:
        super().__init__(message)
        self.message = message
        self.error = error


def _app_service_error(status: int, message: str) -> JSONResponse:
    body = {"statusCode": status, "message": message, "correlationId": str(uuid.uuid4())}
    return JSONResponse(body, status)


def _select_2019(state: MockState, query: QueryParams) -> tuple[str, str | None]:
    """Return (identity, the selector as given) for an App Service 2019-08-01 request."""
    given = [
        (k, query[k]) for k in ("client_id", "mi_res_id", "object_id", "principal_id") if k in query
    ]
    if len(given) > 1:
        raise _RefusedError(
            f"Only one identity selector may be given, got {[k for k, _ in given]}."
        )
    if not given:
        return "system", None
    key, value = given[0]
    if key == "client_id":
        identity: str | None = value.strip().lower()
    elif key == "mi_res_id":
        identity = state.find_identity(resource_id=value)
    else:
        identity = state.find_identity(object_id=value)
    if identity is None or not state.identity_exists(identity):
        raise _RefusedError(f"No managed identity found for specified {key} {value!r}.")
    return identity, f"{key}={value}"


def _identity(state: MockState, query: QueryParams, app_service: bool) -> tuple[str, str | None]:
    if app_service:
        return _select_2019(state, query)
    for selector in _UNSUPPORTED_2017:
        if selector in query:
            raise _RefusedError(f"Identity selector {selector!r} unsupported.")
    client_id = next((query[k] for k in _SELECTORS_2017 if query.get(k)), None)
    return (client_id.lower(), client_id) if client_id else ("system", None)


@router.get("/msi/token")
async def msi_token(request: Request) -> Response:
    """Issue a token for ``?api-version=...&resource=<aud>[&<identity selector>]``."""
    state = mock_state(request)
    query = request.query_params
    version = query.get("api-version", "")
    # the api-version picks the shape; without a known one, the header the caller sent does
    app_service = version == APP_SERVICE_VERSION or (
        version != AZURE_ML_VERSION and APP_SERVICE_HEADER in request.headers
    )

    def refuse(message: str, error: str = "invalid_request") -> Response:
        if app_service:
            return _app_service_error(400, message)
        return msi_error(400, error, message)

    hint = query.get("client_id") or query.get("clientid") or query.get("mi_res_id")
    early = await prelude(request, "msi", hint.lower() if hint else "system")
    if early is not None:
        return early
    header = APP_SERVICE_HEADER if app_service else "secret"
    presented = request.headers.get(header, "")
    if not secrets.compare_digest(presented.encode(), state.msi_secret.encode()):
        return refuse(f"The '{header}' header is missing or wrong.")
    if not version:
        return refuse("The api-version query parameter is required.")
    if version not in (AZURE_ML_VERSION, APP_SERVICE_VERSION) or not state.api_versions.accepts(
        "msi", version
    ):
        supported = ", ".join(state.api_versions.versions["msi"])
        return refuse(f"Invalid 'api-version' requested: {version!r} (supported: {supported}).")
    resource = query.get("resource")
    if not resource:
        return refuse("The resource query parameter is required.")
    audience = normalize_audience(resource)
    if audience is None:
        return refuse(
            f"Resource {resource!r} is not supported by the mock (use one of {list(AUDIENCES)}).",
            "invalid_resource",
        )
    try:
        identity, selector = _identity(state, query, app_service)
    except _RefusedError as exc:
        return refuse(exc.message, exc.error)
    if not state.identity_exists(identity):
        what = (
            f"No user-assigned identity with client id {selector!r} is assigned to this endpoint."
            if selector
            else "No system-assigned identity is enabled on this endpoint."
        )
        return refuse(f"Identity not found. {what}")
    info = request_info(request)
    info.identity = info.name = identity
    value, token = state.tokens.issue(identity, audience)
    body = {
        "access_token": value,
        "expires_on": str(token.expires_on),
        "resource": resource,
        "token_type": "Bearer",
    }
    if app_service:
        body["client_id"] = state.client_id_of(identity)
    return JSONResponse(body)
