"""Control API under ``/_mock/``: change the state, queue faults, read the request log.

Responses never contain a token; secret and credential values appear only where the
caller asked for a generated one (``rotate`` without a value).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from secretinj_runtime.mock.authtypes import StateError
from secretinj_runtime.mock.control_models import (
    AccessIn,
    ClockAdvanceIn,
    FaultIn,
    LatencyIn,
    RotateCredentialIn,
    ThrottleIn,
)
from secretinj_runtime.mock.envelopes import error_response
from secretinj_runtime.mock.faults import Fault
from secretinj_runtime.mock.hooks import mock_state
from secretinj_runtime.mock.model import ThrottleSpec

router = APIRouter(prefix="/_mock")
MASK = "***"


def not_found(what: str) -> JSONResponse:
    """404 of the control API."""
    return error_response(404, "NotFound", f"{what} not found")


def bad_request(message: str) -> JSONResponse:
    """400 of the control API (the message names the field)."""
    return error_response(400, "InvalidRequest", message)


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    """Readiness probe."""
    return {"status": "ok", "url": mock_state(request).base_url}


@router.get("/state")
async def describe(request: Request) -> dict[str, Any]:
    """Overview of the live state (names, versions, roles; no values)."""
    return mock_state(request).describe()


@router.post("/reset")
async def reset(request: Request) -> dict[str, str]:
    """Return to the initial state (issued tokens stay valid)."""
    mock_state(request).reset()
    return {"status": "reset"}


@router.get("/connections")
async def list_connections(request: Request) -> dict[str, Any]:
    """List connection names with their auth type and category."""
    return mock_state(request).describe()["connections"]  # type: ignore[no-any-return]


@router.get("/connections/{name}")
async def get_connection(request: Request, name: str) -> Response:
    """One connection in the state-file shape, credential values masked."""
    conn = mock_state(request).connection(name)
    if conn is None:
        return not_found(f"connection {name!r}")
    data = conn.to_dict()
    creds = data.get("credentials")
    if isinstance(creds, dict):
        data["credentials"] = {
            k: (dict.fromkeys(v, MASK) if isinstance(v, dict) else MASK) for k, v in creds.items()
        }
    return JSONResponse({"name": conn.name, **data})


@router.put("/connections/{name}")
async def put_connection(
    request: Request, name: str, body: Annotated[dict[str, Any], Body()]
) -> Response:
    """Create or replace a connection; the body is the state-file connection shape."""
    state = mock_state(request)
    try:
        created = state.put_connection(name, body)
    except StateError as exc:
        return bad_request(str(exc))
    return JSONResponse({"name": name, "created": created}, 201 if created else 200)


@router.delete("/connections/{name}")
async def delete_connection(request: Request, name: str) -> Response:
    """Delete a connection (ListSecrets then answers 404)."""
    if not mock_state(request).delete_connection(name):
        return not_found(f"connection {name!r}")
    return JSONResponse({"name": name, "deleted": True})


@router.post("/connections/{name}/rotate")
async def rotate_connection(request: Request, name: str, body: RotateCredentialIn) -> Response:
    """Replace one credential (generated when no value is given); returns the new value."""
    try:
        value = mock_state(request).rotate_credential(name, body.credential, body.value)
    except KeyError:
        return not_found(f"connection {name!r}")
    except StateError as exc:
        return bad_request(str(exc))
    return JSONResponse({"name": name, "credential": body.credential, "value": value})


@router.get("/access")
async def get_access(request: Request) -> dict[str, Any]:
    """Role assignments per scope (``workspace``, ``vault:<name>``)."""
    return mock_state(request).describe()["access"]  # type: ignore[no-any-return]


def _scope(request: Request, body: AccessIn) -> str | JSONResponse:
    state = mock_state(request)
    if not state.identity_exists(state.authz.principal(body.identity)):
        known = list(state.spec.identities) + (["deployer"] if state.authz.deployer else [])
        return bad_request(f"identity: unknown identity {body.identity!r} (known: {known})")
    if body.scope == "vault":
        assert body.vault is not None
        if state.vault(body.vault) is None:
            return bad_request(f"vault: unknown vault {body.vault!r}")
        return f"vault:{body.vault}"
    return "workspace"


@router.post("/access/grant")
async def grant(request: Request, body: AccessIn) -> Response:
    """Grant the role; it still answers 403 for ``propagation_delay_s`` (mock clock)."""
    scope = _scope(request, body)
    if isinstance(scope, JSONResponse):
        return scope
    mock_state(request).grant(body.identity, scope, body.propagation_delay_s)
    return JSONResponse({"identity": body.identity, "scope": scope, "granted": True})


@router.post("/access/revoke")
async def revoke(request: Request, body: AccessIn) -> Response:
    """Revoke the role immediately."""
    scope = _scope(request, body)
    if isinstance(scope, JSONResponse):
        return scope
    mock_state(request).revoke(body.identity, scope)
    return JSONResponse({"identity": body.identity, "scope": scope, "granted": False})


@router.get("/faults")
async def list_faults(request: Request) -> list[dict[str, Any]]:
    """Queued faults."""
    return [f.to_dict() for f in mock_state(request).faults.pending()]


@router.post("/faults")
async def queue_fault(request: Request, body: FaultIn) -> dict[str, Any]:
    """Queue a fault for the next ``count`` requests of ``kind`` (and ``name``)."""
    fault = mock_state(request).faults.add(Fault(**body.model_dump()))
    return fault.to_dict()


@router.delete("/faults")
async def clear_faults(request: Request) -> dict[str, bool]:
    """Drop every queued fault."""
    mock_state(request).faults.clear()
    return {"cleared": True}


@router.get("/latency")
async def get_latency(request: Request) -> dict[str, float]:
    """Return the added latency per route kind, in seconds."""
    return dict(mock_state(request).faults.latency_s)


@router.put("/latency")
async def set_latency(request: Request, body: LatencyIn) -> dict[str, float]:
    """Set the added latency of one route kind (or ``all``); 0 removes it."""
    faults = mock_state(request).faults
    faults.set_latency(body.kind, body.latency_s)
    return dict(faults.latency_s)


@router.get("/throttle")
async def get_throttle(request: Request) -> dict[str, object]:
    """Throttle settings and the current bucket level."""
    return mock_state(request).throttle.describe()


@router.put("/throttle")
async def configure_throttle(request: Request, body: ThrottleIn) -> dict[str, object]:
    """Reconfigure (and refill) the ARM write bucket, or disable it."""
    state = mock_state(request)
    if not body.enabled:
        state.configure_throttle(None)
    else:
        current = state.throttle.bucket
        capacity = body.capacity or (current.capacity if current else 200)
        refill = body.refill_per_s or (current.refill_per_s if current else 10.0)
        state.configure_throttle(ThrottleSpec(capacity, refill))
    return state.throttle.describe()


@router.post("/throttle/reset")
async def refill_throttle(request: Request) -> dict[str, object]:
    """Refill the bucket to capacity."""
    state = mock_state(request)
    if state.throttle.bucket is not None:
        state.throttle.bucket.refill()
    return state.throttle.describe()


@router.get("/requests")
async def requests_log(request: Request, route: str | None = None) -> list[dict[str, Any]]:
    """Return the request log (control calls excluded), optionally for one route kind."""
    return mock_state(request).log.entries(route)


@router.delete("/requests")
async def clear_requests(request: Request) -> dict[str, bool]:
    """Clear the request log and the counters."""
    mock_state(request).log.clear()
    return {"cleared": True}


@router.get("/counters")
async def counters(request: Request) -> dict[str, Any]:
    """Request counts per route kind and per name."""
    return mock_state(request).log.counters()


@router.get("/clock")
async def get_clock(request: Request) -> dict[str, float]:
    """Return the mock's current time and the offset added by ``advance``."""
    state = mock_state(request)
    return {"now": state.now(), "offset_s": state.clock.offset}


@router.post("/clock/advance")
async def advance_clock(request: Request, body: ClockAdvanceIn) -> dict[str, float]:
    """Shift the mock's clock forward (token expiry, throttle refill, role propagation)."""
    state = mock_state(request)
    state.clock.advance(body.seconds)
    return {"now": state.now(), "offset_s": state.clock.offset}
