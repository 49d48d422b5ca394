"""Bodies of the Microsoft.Authorization reads: permissions, role assignments, definitions."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request

from secretinj_runtime.mock.access import RoleAssignment
from secretinj_runtime.mock.arm_bodies import iso
from secretinj_runtime.mock.envelopes import arm_error
from secretinj_runtime.mock.store import MockState
from secretinj_runtime.mock.tokens import object_id
from secretinj_runtime.preflight.rbac import scope_covers
from secretinj_runtime.preflight.roles import RoleDefinition

_ROLE_ASSIGNMENT_TYPE = "Microsoft.Authorization/roleAssignments"
_FILTER_PART = re.compile(
    r"^(?:(?P<at>atScope\(\))|principalId\s+eq\s+'(?P<pid>[^']+)'|assignedTo\('(?P<to>[^']+)'\))$",
    re.IGNORECASE,
)


def _caller(request: Request) -> str:
    return str(request.state.identity)


def _role_definition_id(state: MockState, guid: str) -> str:
    sub = f"/subscriptions/{state.subscription}"
    return f"{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


def permissions(state: MockState, m: re.Match[str], request: Request) -> dict[str, Any]:
    """Return the caller's permission elements at the scope (effective, at or above)."""
    scope, caller, now = m["scope"] or "/", _caller(request), state.now()
    seen: dict[str, RoleDefinition] = {}
    for a in state.authz.assignments():
        if a.principal == caller and a.effective_from <= now and scope_covers(a.scope, scope):
            role = state.authz.book.roles.get(a.role_id)
            if role is not None:
                seen[role.id] = role
    return {"value": [p.to_json() for r in seen.values() for p in r.permissions], "nextLink": None}


def _assignment(state: MockState, a: RoleAssignment) -> dict[str, Any]:
    return {
        "id": f"{a.scope}/providers/{_ROLE_ASSIGNMENT_TYPE}/{a.id}",
        "name": a.id,
        "type": _ROLE_ASSIGNMENT_TYPE,
        "properties": {
            "roleDefinitionId": _role_definition_id(state, a.role_id),
            "principalId": object_id(a.principal),
            "principalType": state.authz.principal_type(a.principal),
            "scope": a.scope,
            "condition": None,
            "conditionVersion": None,
            "createdOn": iso(a.created),
            "updatedOn": iso(a.created),
            "createdBy": None,
            "updatedBy": None,
            "delegatedManagedIdentityResourceId": None,
            "description": None,
        },
    }


def role_assignments(state: MockState, m: re.Match[str], request: Request) -> Any:
    """List assignments at, above (and, with a principal filter or none, below) the scope."""
    scope = m["scope"] or "/"
    at_scope, principal = False, None
    text = request.query_params.get("$filter", "").strip()
    for part in re.split(r"\s+and\s+", text, flags=re.IGNORECASE) if text else []:
        found = _FILTER_PART.match(part.strip())
        if found is None:
            return arm_error(400, "InvalidFilterInQueryString", f"Unsupported $filter: {part!r}")
        at_scope = at_scope or bool(found["at"])
        principal = (found["pid"] or found["to"] or principal or "").lower() or None
    out = []
    for a in state.authz.assignments():
        if principal is not None and object_id(a.principal) != principal:
            continue
        above = scope_covers(a.scope, scope)
        if above or (not at_scope and scope_covers(scope, a.scope)):
            out.append(_assignment(state, a))
    return {"value": out, "nextLink": None}


def role_definition(state: MockState, m: re.Match[str], request: Request) -> Any:
    """Return a role definition by GUID (built-in or custom)."""
    role = state.authz.book.roles.get(m["name"].lower())
    if role is None:
        message = f"The specified role definition with ID '{m['name']}' does not exist."
        return arm_error(404, "RoleDefinitionDoesNotExist", message)
    return {
        "id": _role_definition_id(state, role.id),
        "name": role.id,
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {
            "roleName": role.name,
            "type": "BuiltInRole" if role.builtin else "CustomRole",
            "description": role.description,
            "assignableScopes": ["/"] if role.builtin else [f"/subscriptions/{state.subscription}"],
            "permissions": [p.to_json() for p in role.permissions],
        },
    }
