"""Checks 3 and 4: the deployer's permission, the endpoint's identity and its roles.

Whether the deployer holds the ListSecrets action at the workspace, whether the endpoint has
an identity the flag allows, and whether that identity may read connection secrets.
"""

from __future__ import annotations

from typing import Any

from ..errors import SecretInjectionError
from . import fixes
from .arm import json_object
from .context import Context, EndpointFacts, Principal
from .inputs import SYSTEM_ASSIGNED, USER_ASSIGNED, enforce_enabled
from .model import Outcome
from .principals import evaluate
from .rbac import permits
from .roles import CONNECTION_SECRETS_READER, LISTSECRETS, METADATA_SECRETS_READ

READER_ROLE = CONNECTION_SECRETS_READER.name
_KINDS = {"systemassigned": SYSTEM_ASSIGNED, "userassigned": USER_ASSIGNED, "none": "none"}


def deployer_fix(ctx: Context) -> str:
    """Give the signed-in deployer the ListSecrets action at the workspace."""
    scope = ctx.workspace.resource_id
    return fixes.grant(fixes.SIGNED_IN_USER, "User", READER_ROLE, scope)


def check_deployer(ctx: Context) -> None:
    """Check 3: the deployer's own ListSecrets action at the workspace (Permissions API)."""
    ws = ctx.workspace.resource_id
    facts = ctx.endpoint
    flag = facts is not None and enforce_enabled(facts.enforce)
    try:
        ctx.deployer = ctx.reader.permissions(ws)
    except SecretInjectionError as ex:
        detail = (
            f"cannot read your permissions at the workspace ({ex.message}); the Permissions "
            "API needs Microsoft.Authorization/permissions/read (e.g. Reader)"
        )
        ctx.report.add("deployer-permission", "deployer", Outcome.UNKNOWN, detail)
        return
    if permits(ctx.deployer, LISTSECRETS):
        why = " (needed: the endpoint enforces access to default secret stores)" if flag else ""
        detail = f"you hold {LISTSECRETS} at the workspace{why}"
        ctx.report.add("deployer-permission", "deployer", Outcome.PASS, detail)
    elif flag:
        detail = (
            f"you lack {LISTSECRETS} at the workspace: with enforce_access_to_default_secret_"
            "stores enabled, creating the endpoint and the deployment fails"
        )
        ctx.report.add("deployer-permission", "deployer", Outcome.FAIL, detail, deployer_fix(ctx))
    else:
        detail = (
            f"you lack {LISTSECRETS}; not needed, as the endpoint does not enforce access to "
            "default secret stores"
        )
        ctx.report.add("deployer-permission", "deployer", Outcome.PASS, detail)


def gather_endpoint(ctx: Context) -> EndpointFacts:
    """Find the endpoint's identity and flag: the existing endpoint first, then its YAML."""
    inputs = ctx.inputs
    facts = EndpointFacts(inputs.endpoint_name)
    existing: dict[str, Any] | None = None
    if facts.name and ctx.workspace_found is not False:
        try:
            existing = ctx.reader.endpoint(ctx.workspace.resource_id, facts.name)
            facts.exists = True
        except SecretInjectionError as ex:
            facts.exists = False if ex.http_status == 404 else None
            if ex.http_status != 404:
                facts.problem = f"cannot read endpoint {facts.name!r}: {ex.message}"
    yaml_spec = inputs.endpoint
    if existing is not None:
        _from_existing(ctx, facts, existing)
        if facts.enforce is None and yaml_spec is not None:
            facts.enforce = yaml_spec.enforce  # whether GET echoes the flag is unconfirmed
    elif yaml_spec is not None:
        facts.kind, facts.enforce = yaml_spec.identity, yaml_spec.enforce
        facts.source = "the endpoint YAML; the endpoint does not exist yet"
        if facts.exists is None:
            facts.source = "the endpoint YAML"
        if facts.kind == SYSTEM_ASSIGNED:
            facts.principals.append(Principal("system-assigned identity", None, SYSTEM_ASSIGNED))
        for resource_id in yaml_spec.user_assigned:
            facts.principals.append(_uai(ctx, resource_id, None))
    ctx.endpoint = facts
    return facts


def _from_existing(ctx: Context, facts: EndpointFacts, body: dict[str, Any]) -> None:
    identity = json_object(body.get("identity"))
    raw = str(identity.get("type", "none")).replace(" ", "").lower()
    kinds = [_KINDS.get(k, k) for k in raw.split(",")]
    facts.kind = USER_ASSIGNED if kinds == [USER_ASSIGNED] else kinds[0]
    facts.source = "the existing endpoint"
    props = json_object(body.get("properties"))
    bag = json_object(props.get("properties"))
    if bag.get("enforce_access_to_default_secret_stores") is not None:
        facts.enforce = str(bag["enforce_access_to_default_secret_stores"])
    if SYSTEM_ASSIGNED in kinds:
        pid = identity.get("principalId")
        facts.principals.append(
            Principal("system-assigned identity", str(pid) if pid else None, SYSTEM_ASSIGNED)
        )
    uais = identity.get("userAssignedIdentities")
    for resource_id, value in uais.items() if isinstance(uais, dict) else []:
        pid = value.get("principalId") if isinstance(value, dict) else None
        facts.principals.append(_uai(ctx, str(resource_id), str(pid) if pid else None))


def _uai(ctx: Context, resource_id: str, principal_id: str | None) -> Principal:
    label = f"user-assigned identity {resource_id.rstrip('/').rsplit('/', 1)[-1]}"
    if principal_id:
        return Principal(label, principal_id, USER_ASSIGNED)
    try:
        body = ctx.reader.user_assigned_identity(resource_id)
    except SecretInjectionError as ex:
        missing = ex.http_status == 404
        problem = (
            f"{resource_id} not found" if missing else f"cannot read {resource_id}: {ex.message}"
        )
        return Principal(label, None, USER_ASSIGNED, problem, missing)
    props = json_object(body.get("properties"))
    pid = props.get("principalId")
    return Principal(
        label, str(pid) if pid else None, USER_ASSIGNED, None if pid else "no principalId"
    )


def check_endpoint(ctx: Context, facts: EndpointFacts) -> None:
    """Check 4a: the endpoint has an identity, and the flag is allowed with it."""
    subject = facts.name or "(endpoint)"
    flag = enforce_enabled(facts.enforce)
    if facts.kind is None:
        why = facts.problem or (
            f"no endpoint named {facts.name!r} exists" if facts.name else "no endpoint name"
        )
        detail = f"{why}; give the endpoint YAML with --endpoint to check its identity"
        ctx.report.add("endpoint", subject, Outcome.UNKNOWN, detail)
        return
    if facts.kind == "none":
        fix = "set identity: {type: system_assigned} in the endpoint YAML"
        detail = "the endpoint has no managed identity: secret injection needs one"
        ctx.report.add("endpoint", subject, Outcome.FAIL, detail, fix)
    elif facts.kind == USER_ASSIGNED and flag:
        fix = (
            "remove properties.enforce_access_to_default_secret_stores from the endpoint "
            "YAML and grant the identity its roles yourself"
        )
        detail = (
            "enforce_access_to_default_secret_stores is not allowed with a user-assigned identity"
        )
        ctx.report.add("endpoint", subject, Outcome.FAIL, detail, fix)
    else:
        state = "enabled" if flag else f"not enabled ({facts.enforce or 'absent'})"
        detail = (
            f"{facts.kind}; enforce_access_to_default_secret_stores {state} (from {facts.source})"
        )
        ctx.report.add("endpoint", subject, Outcome.PASS, detail)
    for p in facts.principals:
        if p.missing:
            group, name = _rg_and_name(p.problem or "")
            fix = f"az identity create --name {name} --resource-group {group}"
            ctx.report.add("endpoint-identity", p.label, Outcome.FAIL, p.problem or "", fix)
        elif p.problem:
            ctx.report.add("endpoint-identity", p.label, Outcome.UNKNOWN, p.problem)


def _rg_and_name(text: str) -> tuple[str, str]:
    parts = text.split(maxsplit=1)[0].split("/") if text else []
    group = parts[4] if len(parts) > 4 else "<resource group>"
    return group, parts[-1] if parts else "<name>"


def check_endpoint_connections(ctx: Context, facts: EndpointFacts) -> None:
    """Check 4b: the endpoint identity may read connection secrets at the workspace."""
    if not ctx.connection_refs or facts.kind in (None, "none"):
        return
    ws = ctx.workspace.resource_id
    flag = enforce_enabled(facts.enforce)
    needed = [(LISTSECRETS, False), (METADATA_SECRETS_READ, False)]
    for p in facts.principals:
        if p.principal_id is not None:
            fix = fixes.grant(p.principal_id, "ServicePrincipal", READER_ROLE, ws)
            judge_holding(ctx, "endpoint-connections", p, ws, needed, "the workspace", fix)
        elif p.kind == SYSTEM_ASSIGNED and not p.problem:
            _not_created_yet(ctx, facts, p, flag)


def _not_created_yet(ctx: Context, facts: EndpointFacts, p: Principal, flag: bool) -> None:
    """Say whether the system identity, not created yet, will get the role."""
    add = ctx.report.add
    if not flag:
        principal = fixes.endpoint_principal(ctx.workspace, facts.name or "<endpoint>")
        fix = fixes.grant(principal, "ServicePrincipal", READER_ROLE, ctx.workspace.resource_id)
        detail = (
            f"{READER_ROLE} is not granted automatically (the endpoint does not enforce access "
            "to default secret stores): grant it once the endpoint exists, before creating the "
            "deployment"
        )
        add("endpoint-connections", p.label, Outcome.WARN, detail, fix)
        return
    deployer_ok = None if ctx.deployer is None else permits(ctx.deployer, LISTSECRETS)
    if deployer_ok:
        detail = (
            f"granted {READER_ROLE} automatically when the endpoint is created (you hold the "
            "ListSecrets action)"
        )
        add("endpoint-connections", p.label, Outcome.PASS, detail)
    elif deployer_ok is None:
        detail = (
            "granted automatically only if you hold the ListSecrets action, which could not be read"
        )
        add("endpoint-connections", p.label, Outcome.UNKNOWN, detail)
    else:
        detail = "not granted automatically: you lack the ListSecrets action at the workspace"
        add("endpoint-connections", p.label, Outcome.FAIL, detail, deployer_fix(ctx))


def judge_holding(
    ctx: Context,
    check: str,
    principal: Principal,
    scope: str,
    needed: list[tuple[str, bool]],
    where: str,
    fix: str,
) -> None:
    """Add PASS (WARN if granted minutes ago), FAIL or UNKNOWN for a principal's actions."""
    assert principal.principal_id is not None
    subject = principal.label
    who = f"principal {principal.principal_id}"
    try:
        holding = evaluate(ctx.reader, scope, principal.principal_id, needed)
    except SecretInjectionError as ex:
        detail = (
            f"{who}: cannot list its role assignments ({ex.message}); that needs "
            "Microsoft.Authorization/roleAssignments/read"
        )
        ctx.report.add(check, subject, Outcome.UNKNOWN, detail)
        return
    if holding.all:
        minutes = holding.recent(ctx.clock())
        roles = ", ".join(sorted(set(holding.roles)))
        if minutes is not None:
            detail = (
                f"{who} holds {roles} at {where}, assigned {minutes:.0f} min ago: role "
                "assignments can take 15 minutes or more to take effect"
            )
            wait = "wait before creating the deployment (or it may fail with SecretsInjectionError)"
            ctx.report.add(check, subject, Outcome.WARN, detail, wait)
        else:
            detail = f"{who} holds {roles} at {where} or above"
            ctx.report.add(check, subject, Outcome.PASS, detail)
        return
    if holding.unreadable:
        unreadable = ", ".join(holding.unreadable)
        detail = f"{who}: no readable role grants it; unreadable role definitions: {unreadable}"
        ctx.report.add(check, subject, Outcome.UNKNOWN, detail)
        return
    missing = " and ".join(holding.missing())
    detail = f"{who}: no role grants {missing} at {where} or above"
    ctx.report.add(check, subject, Outcome.FAIL, detail, fix)
