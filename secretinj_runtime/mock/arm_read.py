"""ARM reads (GET): what ``secretinj preflight`` asks, answered with ARM's own checks.

The workspace, its connections (never their credentials), online endpoints, user-assigned
identities, vaults (and their secrets' metadata), the caller's permissions, role
assignments at a scope (``$filter``) and role definitions. Each call checks the token,
the api-version of its provider, the subscription and resource group, then the caller's
RBAC for the action at the requested scope (before whether the resource exists, as ARM
does), then answers or 404s. Reads are not throttled. Route kind ``arm`` in the request log.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from secretinj_runtime.mock import arm_authz
from secretinj_runtime.mock import arm_bodies as bodies
from secretinj_runtime.mock.arm import unauthorized
from secretinj_runtime.mock.envelopes import arm_error, request_id
from secretinj_runtime.mock.hooks import mock_state, prelude, request_info
from secretinj_runtime.mock.store import MockState
from secretinj_runtime.mock.tokens import ARM_AUDIENCE, TokenCheck, object_id

router = APIRouter()
_I = re.IGNORECASE
_SUB = r"^/subscriptions/(?P<sub>[^/]+)"
_RG = _SUB + r"/resourceGroups/(?P<rg>[^/]+)"
_WS = _RG + r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)"
_AUTHZ = r"^(?P<scope>/subscriptions/.+?|)/providers/Microsoft\.Authorization/"
_ML = "Microsoft.MachineLearningServices/workspaces"
_KV = "Microsoft.KeyVault/vaults"


class Route:
    """One kind of ARM read: its path, provider api list, action and body builder."""

    def __init__(
        self,
        kind: str,
        pattern: str,
        api: str,
        action: str | None,
        build: Callable[[MockState, re.Match[str], Request], Any | None],
    ) -> None:
        self.kind = kind
        self.regex = re.compile(pattern + "/?$", _I)
        self.api = api
        self.action = action  # None: any authenticated caller may read
        self.build = build


ROUTES = (
    Route("permissions", _AUTHZ + "permissions", "authorization",
          "Microsoft.Authorization/permissions/read", arm_authz.permissions),
    Route("role_assignments", _AUTHZ + "roleAssignments", "authorization",
          "Microsoft.Authorization/roleAssignments/read", arm_authz.role_assignments),
    Route("role_definition", _AUTHZ + r"roleDefinitions/(?P<name>[^/]+)", "authorization",
          None, arm_authz.role_definition),
    Route("workspace", _WS, "ml", f"{_ML}/read", bodies.workspace),
    Route("connections", _WS + "/connections", "ml", f"{_ML}/connections/read",
          bodies.connections),
    Route("connection", _WS + r"/connections/(?P<name>[^/]+)", "ml",
          f"{_ML}/connections/read", bodies.connection),
    Route("endpoint", _WS + r"/onlineEndpoints/(?P<name>[^/]+)", "ml",
          f"{_ML}/onlineEndpoints/read", bodies.endpoint),
    Route("uai", _RG + r"/providers/Microsoft\.ManagedIdentity/userAssignedIdentities/"
          r"(?P<name>[^/]+)", "managedidentity",
          "Microsoft.ManagedIdentity/userAssignedIdentities/read", bodies.uai),
    Route("vaults", _SUB + r"/providers/Microsoft\.KeyVault/vaults", "keyvault_arm",
          None, bodies.vaults),
    Route("vault", _RG + r"/providers/Microsoft\.KeyVault/vaults/(?P<name>[^/]+)",
          "keyvault_arm", f"{_KV}/read", bodies.vault),
    Route("vault_secret", _RG + r"/providers/Microsoft\.KeyVault/vaults/(?P<vault>[^/]+)"
          r"/secrets/(?P<name>[^/]+)", "keyvault_arm", f"{_KV}/secrets/read",
          bodies.vault_secret),
)  # fmt: skip


def _match(path: str) -> tuple[Route, re.Match[str]] | None:
    for route in ROUTES:
        found = route.regex.match(path)
        if found is not None:
            return route, found
    return None


def _scope_problem(
    state: MockState, found: re.Match[str], headers: dict[str, str]
) -> Response | None:
    groups = found.groupdict()
    sub = groups.get("sub") or _sub_of(groups.get("scope") or "")
    if sub and sub.lower() != state.subscription.lower():
        return arm_error(
            404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.", headers
        )
    rg = groups.get("rg") or _rg_of(groups.get("scope") or "")
    if rg and rg.lower() not in {g.lower() for g in bodies.resource_groups(state)}:
        return arm_error(
            404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.", headers
        )
    return None


def _sub_of(scope: str) -> str:
    parts = scope.split("/")
    return parts[2] if len(parts) > 2 and parts[1].lower() == "subscriptions" else ""


def _rg_of(scope: str) -> str:
    parts = scope.split("/")
    return parts[4] if len(parts) > 4 and parts[3].lower() == "resourcegroups" else ""


@router.get("/subscriptions/{rest:path}")
@router.get("/providers/Microsoft.Authorization/{rest:path}")
async def arm_read(request: Request, rest: str) -> Response:
    """Answer an ARM GET of the resources ``secretinj preflight`` reads."""
    state = mock_state(request)
    path = request.url.path
    headers = {
        "x-ms-request-id": request_id(),
        "x-ms-correlation-request-id": request.headers.get("x-ms-correlation-request-id")
        or request_id(),
        "x-ms-ratelimit-remaining-subscription-reads": "249",
    }
    matched = _match(path)
    name = matched[1].groupdict().get("name") if matched else None
    early = await prelude(request, "arm", name or (matched[0].kind if matched else None))
    if early is not None:
        return early
    check = state.tokens.check(request.headers.get("authorization"), ARM_AUDIENCE)
    if check.status is not TokenCheck.OK:
        return unauthorized(check.status, check.token, state.now(), state.spec.tenant_id, headers)
    assert check.token is not None
    identity = check.token.identity
    request_info(request).identity = identity
    if matched is None:
        return arm_error(
            404, "InvalidResourceType", f"The mock does not serve GET {path}.", headers
        )
    route, found = matched
    version = request.query_params.get("api-version")
    if not version:
        message = "The api-version query parameter (?api-version=) is required for all requests."
        return arm_error(400, "MissingApiVersionParameter", message, headers)
    if not state.api_versions.accepts(route.api, version):
        message = state.api_versions.arm_invalid_message(route.api, version)
        return arm_error(400, "InvalidApiVersionParameter", message, headers)
    problem = _scope_problem(state, found, headers)
    if problem is not None:
        return problem
    scope = path.rstrip("/")
    if route.kind in ("permissions", "role_assignments"):
        scope = found["scope"] or "/"
    if route.action and not state.authz.allowed(identity, route.action, scope):
        message = (
            f"The client '{identity}' with object id '{object_id(identity)}' does not have "
            f"authorization to perform action '{route.action}' over scope '{scope}' or the "
            "scope is invalid. If access was recently granted, please refresh your credentials."
        )
        return arm_error(403, "AuthorizationFailed", message, headers)
    request.state.identity = identity
    body = route.build(state, found, request)
    if isinstance(body, Response):
        return body
    if body is None:
        return arm_error(404, "ResourceNotFound", bodies.not_found_message(path), headers)
    return JSONResponse(body, 200, headers)
