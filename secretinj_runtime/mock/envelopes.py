"""Error bodies in the shape each emulated service uses, and fault responses."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from starlette.responses import JSONResponse, Response

from secretinj_runtime.mock.faults import Fault

HTML_BODY = (
    "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"
)
INVALID_JSON_BODY = '{"error": {"code": "Truncated", "message": "the body ends he'


def status_code_name(status: int) -> str:
    """Return a CamelCase code for an HTTP status, e.g. 503 -> ``ServiceUnavailable``."""
    try:
        return HTTPStatus(status).phrase.title().replace(" ", "").replace("-", "")
    except ValueError:
        return f"Status{status}"


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """Return ``{"error": {"code", "message", ...extra}}`` (the ARM and Key Vault shape)."""
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status, headers)


def arm_error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """Return the ARM error envelope."""
    return error_response(
        status,
        code,
        message,
        headers=headers,
        target=None,
        details=[],
        additionalInfo=[],
    )


def msi_error(status: int, error: str, description: str) -> JSONResponse:
    """Return an OAuth-style managed-identity error body."""
    return JSONResponse({"error": error, "error_description": description}, status)


def fault_response(fault: Fault, headers: Mapping[str, str] | None = None) -> Response:
    """Build the response of a queued ``status`` fault for its route kind."""
    status = fault.status or 500
    all_headers = dict(headers or {})
    if fault.retry_after_s is not None:
        all_headers["Retry-After"] = str(max(0, math.ceil(fault.retry_after_s)))
    if isinstance(fault.body, dict):
        return JSONResponse(fault.body, status, all_headers)
    if fault.body == "html":
        return Response(HTML_BODY, status, all_headers, media_type="text/html")
    if fault.body == "invalid_json":
        return Response(INVALID_JSON_BODY, status, all_headers, media_type="application/json")
    if fault.body == "empty":
        return Response(b"", status, all_headers)
    code = status_code_name(status)
    message = f"Injected fault: {status} {code}."
    if fault.kind == "msi":
        return JSONResponse({"error": code, "error_description": message}, status, all_headers)
    if fault.kind in ("listsecrets", "arm"):
        if status == 429:
            code = "SubscriptionRequestsThrottled"
        return arm_error(status, code, message, all_headers)
    if fault.kind in ("keyvault", "keyvault_versions") and status == 429:
        code = "Throttled"
    return error_response(status, code, message, headers=all_headers)


def request_id() -> str:
    """Return a fresh request id."""
    return str(uuid.uuid4())
