"""Control API for the control plane: identities, roles, role assignments, endpoints.

Role assignments made here are listed by ARM at once and take effect after
``propagation_delay_s``; ``age_s`` back-dates their creation (the propagation warning of
``secretinj preflight`` reads it).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from secretinj_runtime.mock.access import RoleAssignment, assignment_id
from secretinj_runtime.mock.authtypes import StateError
from secretinj_runtime.mock.control import bad_request, not_found
from secretinj_runtime.mock.control_models import CustomRoleIn, EndpointIn, RoleAssignmentIn
from secretinj_runtime.mock.hooks import mock_state
from secretinj_runtime.mock.state_rbac import check_scope, parse_endpoints, parse_roles
from secretinj_runtime.mock.store import MockState
from secretinj_runtime.mock.tokens import object_id

router = APIRouter(prefix="/_mock")


@router.get("/identities")
async def identities(request: Request) -> dict[str, Any]:
    """Every identity with its client id, principal (object) id and ARM id; the deployer."""
    state = mock_state(request)
    deployer = state.spec.deployer
    return {
        "system": None
        if not state.spec.system_identity
        else {"principal_id": object_id("system"), "client_id": state.client_id_of("system")},
        "user_assigned": [
            {"client_id": c, "principal_id": object_id(c), "resource_id": state.uai_resource_id(c)}
            for c in state.spec.user_assigned
        ],
        "deployer": None
        if deployer is None
        else {
            "client_id": deployer.client_id,
            "principal_id": object_id(deployer.client_id),
            "principal_type": deployer.principal_type,
        },
    }


@router.get("/roles")
async def list_roles(request: Request) -> list[dict[str, Any]]:
    """Every role definition, built-in and custom."""
    return [
        {
            "id": r.id,
            "name": r.name,
            "builtin": r.builtin,
            "permissions": [p.to_json() for p in r.permissions],
        }
        for r in mock_state(request).authz.book.roles.values()
    ]


@router.put("/roles/{name}")
async def put_role(request: Request, name: str, body: CustomRoleIn) -> Response:
    """Create or replace a custom role."""
    try:
        role = parse_roles({name: body.model_dump()})[name]
    except StateError as exc:
        return bad_request(str(exc).removeprefix(f"roles.{name}."))
    mock_state(request).authz.book.roles[role.id] = role
    return JSONResponse({"id": role.id, "name": role.name})


def _describe(state: MockState, a: RoleAssignment) -> dict[str, Any]:
    role = state.authz.book.roles.get(a.role_id)
    now = state.now()
    return {
        "id": a.id,
        "principal": a.principal,
        "principal_id": object_id(a.principal),
        "role": role.name if role else a.role_id,
        "scope": a.scope,
        "created": a.created,
        "pending_s": round(max(0.0, a.effective_from - now), 3),
        "origin": a.origin,
    }


@router.get("/role-assignments")
async def list_assignments(request: Request) -> list[dict[str, Any]]:
    """Every role assignment, those of the ``access`` holdings included (origin ``access``)."""
    state = mock_state(request)
    return [_describe(state, a) for a in state.authz.assignments()]


@router.post("/role-assignments")
async def add_assignment(request: Request, body: RoleAssignmentIn) -> Response:
    """Assign a role to a principal at a scope (listed at once, effective after the delay)."""
    state = mock_state(request)
    authz = state.authz
    principal = authz.principal(body.principal)
    if not state.identity_exists(principal):
        return bad_request(f"principal: unknown principal {body.principal!r}")
    role = authz.book.role(body.role)
    if role is None:
        return bad_request(f"role: unknown role {body.role!r}")
    try:
        scope = authz.scope_id(check_scope(body.scope, state.vaults, "scope"))
    except StateError as exc:
        return bad_request(str(exc))
    now = state.now()
    created = now - (body.age_s or 0.0)
    ident = assignment_id("control", principal, role.id, scope.lower())
    assignment = RoleAssignment(
        ident, principal, role.id, scope, created, now + body.propagation_delay_s, "control"
    )
    authz.book.add(assignment)
    return JSONResponse(_describe(state, assignment), 201)


@router.delete("/role-assignments/{ident}")
async def delete_assignment(request: Request, ident: str) -> Response:
    """Remove a role assignment (those of ``access`` holdings: use ``/access/revoke``)."""
    if not mock_state(request).authz.book.remove(ident):
        return not_found(f"role assignment {ident!r}")
    return JSONResponse({"id": ident, "deleted": True})


@router.get("/endpoints")
async def list_endpoints(request: Request) -> dict[str, Any]:
    """Existing online endpoints in the state-file shape."""
    return {n: e.to_state() for n, e in mock_state(request).endpoints.items()}


@router.put("/endpoints/{name}")
async def put_endpoint(request: Request, name: str, body: EndpointIn) -> Response:
    """Create or replace an online endpoint (its identity and flag)."""
    state = mock_state(request)
    raw = {name: body.model_dump(exclude_none=True)}
    try:
        endpoint = parse_endpoints(raw, state.spec.system_identity, state.spec.user_assigned)[name]
    except StateError as exc:
        return bad_request(str(exc).removeprefix(f"endpoints.{name}."))
    created = name.lower() not in {n.lower() for n in state.endpoints}
    state.endpoints = {n: e for n, e in state.endpoints.items() if n.lower() != name.lower()}
    state.endpoints[name] = endpoint
    return JSONResponse({"name": name, **endpoint.to_state()}, 201 if created else 200)


@router.delete("/endpoints/{name}")
async def delete_endpoint(request: Request, name: str) -> Response:
    """Delete an online endpoint (ARM then answers 404 for it)."""
    state = mock_state(request)
    kept = {n: e for n, e in state.endpoints.items() if n.lower() != name.lower()}
    if len(kept) == len(state.endpoints):
        return not_found(f"endpoint {name!r}")
    state.endpoints = kept
    return JSONResponse({"name": name, "deleted": True})
