"""Checks 5 and 6 for Key Vault: the vault, the identity's access, each secret.

The vault (RBAC permission model, firewall), the endpoint identity's ``getSecret`` data
action on it, and each secret (and version), read as metadata only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..errors import SecretInjectionError
from ..references import KeyVaultReference
from . import fixes
from .arm import json_object
from .check_identity import judge_holding
from .context import Context
from .inputs import SYSTEM_ASSIGNED
from .keyvault import version_of
from .model import Outcome
from .roles import GET_SECRET, KEYVAULT_SECRETS_USER, READ_SECRET_METADATA

SECRETS_USER = KEYVAULT_SECRETS_USER.name


def check_vaults(ctx: Context) -> None:
    """Check each referenced vault, the endpoint identity's access to it, and each secret."""
    groups: dict[str, list[tuple[str, KeyVaultReference]]] = {}
    for name, ref in ctx.vault_refs.items():
        groups.setdefault(ref.vault_name.lower(), []).append((name, ref))
    for items in groups.values():
        vault = items[0][1].vault_name
        resource = _find_vault(ctx, vault) if ctx.workspace_found is not False else None
        rbac = _vault(ctx, vault, resource)
        _vault_access(ctx, vault, resource, rbac)
        for name, ref in items:
            _secret(ctx, name, ref, resource)


def _find_vault(ctx: Context, vault: str) -> dict[str, Any] | None:
    ws = ctx.workspace
    try:
        return ctx.reader.vault(ws.subscription, ws.resource_group, vault)
    except SecretInjectionError:
        pass  # not in the workspace's resource group, or not readable there
    try:
        vaults = ctx.reader.vaults(ws.subscription)
    except SecretInjectionError:
        return None
    return next((v for v in vaults if str(v.get("name", "")).lower() == vault.lower()), None)


def _vault(ctx: Context, vault: str, resource: dict[str, Any] | None) -> bool | None:
    """Report the vault's permission model (and firewall); return True for RBAC."""
    if resource is None:
        detail = (
            f"no vault {vault!r} that you may read in subscription {ctx.workspace.subscription}"
            " (it may be in another subscription): its permission model is unchecked"
        )
        ctx.report.add("vault", vault, Outcome.UNKNOWN, detail)
        return None
    props = json_object(resource.get("properties"))
    parts = str(resource.get("id", "")).split("/")
    group = parts[4] if len(parts) > 4 else None
    if props.get("enableRbacAuthorization") is True:
        ctx.report.add("vault", vault, Outcome.PASS, "uses the Azure RBAC permission model")
        rbac = True
    else:
        detail = (
            "uses access policies: secret injection needs the Azure RBAC permission model "
            "(existing access policies stop applying once it is switched)"
        )
        ctx.report.add("vault", vault, Outcome.FAIL, detail, fixes.rbac_model(vault, group))
        rbac = False
    acls = json_object(props.get("networkAcls"))
    if str(acls.get("defaultAction", "")).lower() == "deny":
        detail = (
            "its firewall denies public access: Key Vault answers 403 ForbiddenByFirewall to "
            "callers it does not allow"
        )
        fix = (
            "allow the deployment's network in the vault firewall, or reach the vault "
            "through a private endpoint"
        )
        ctx.report.add("vault-network", vault, Outcome.WARN, detail, fix)
    return rbac


def _vault_access(
    ctx: Context, vault: str, resource: dict[str, Any] | None, rbac: bool | None
) -> None:
    facts = ctx.endpoint
    if facts is None or facts.kind in (None, "none"):
        return
    scope = str(resource["id"]) if resource else None
    for p in facts.principals:
        if p.principal_id is None:
            if p.kind != SYSTEM_ASSIGNED or p.problem:
                continue
            principal = fixes.endpoint_principal(ctx.workspace, facts.name or "<endpoint>")
            fix = fixes.grant(
                principal, "ServicePrincipal", SECRETS_USER, scope or fixes.vault_id(vault)
            )
            detail = (
                f"Key Vault access is never granted automatically: grant {SECRETS_USER} on "
                f"{vault} once the endpoint exists, before creating the deployment"
            )
            ctx.report.add("vault-access", p.label, Outcome.WARN, detail, fix)
        elif rbac is False:
            detail = f"not checked: vault {vault} uses access policies (see the vault check)"
            ctx.report.add("vault-access", p.label, Outcome.UNKNOWN, detail)
        elif scope is None:
            detail = f"not checked: the ARM resource of vault {vault} was not found"
            ctx.report.add("vault-access", p.label, Outcome.UNKNOWN, detail)
        else:
            fix = fixes.grant(p.principal_id, "ServicePrincipal", SECRETS_USER, scope)
            needed = [(GET_SECRET, True)]
            judge_holding(ctx, "vault-access", p, scope, needed, f"vault {vault}", fix)


def _when(epoch: Any) -> str:
    return datetime.fromtimestamp(float(epoch), UTC).strftime("%Y-%m-%d %H:%M UTC")


def _secret(
    ctx: Context, name: str, ref: KeyVaultReference, resource: dict[str, Any] | None
) -> None:
    add: Callable[..., Any] = ctx.report.add
    assert ctx.versions is not None
    try:
        items = ctx.versions.versions(ref)
    except SecretInjectionError as ex:
        no_vault = ex.code in ("NameResolutionFailed", "VaultNotFound")
        if no_vault or (ex.http_status == 404 and "VaultNotFound" in ex.message):
            fix = f"correct the vault name in the reference ({ref.host} does not exist)"
            detail = f"no vault {ref.vault_name!r} in {ctx.inputs.cloud.name}"
            add("secret", name, Outcome.FAIL, detail, fix)
        elif ex.http_status == 404:
            _not_found(ctx, name, ref)
        elif ex.http_status in (401, 403) and resource is not None:
            _secret_by_arm(ctx, name, ref, resource, ex.message)
        else:
            detail = (
                f"cannot list its versions ({ex.message}); that needs {READ_SECRET_METADATA} "
                "(e.g. Key Vault Reader) on the vault"
            )
            add("secret", name, Outcome.UNKNOWN, detail)
        return
    if not items:
        _not_found(ctx, name, ref)
        return
    if ref.version:
        found = next((i for i in items if version_of(i) == ref.version.lower()), None)
        if found is None:
            fix = (
                "pin an existing version: az keyvault secret list-versions "
                f"--vault-name {ref.vault_name} --name {ref.secret}"
            )
            detail = f"secret {ref.secret!r} has no version {ref.version}"
            add("secret", name, Outcome.FAIL, detail, fix)
            return
        _judge_version(ctx, name, ref, found, "its versions")
        return
    # the newest by creation time; a tie (same second) goes to the later one in the listing
    ranked = [
        (float(json_object(i.get("attributes")).get("created") or 0), n)
        for n, i in enumerate(items)
    ]
    latest = items[max(ranked)[1]]
    _judge_version(ctx, name, ref, latest, "its versions")


def _not_found(ctx: Context, name: str, ref: KeyVaultReference) -> None:
    detail = f"no secret {ref.secret!r} in vault {ref.vault_name!r}: the deployment would fail"
    ctx.report.add(
        "secret", name, Outcome.FAIL, detail, fixes.set_secret(ref.vault_name, ref.secret)
    )


def _judge_version(
    ctx: Context, name: str, ref: KeyVaultReference, item: dict[str, Any], how: str
) -> None:
    add = ctx.report.add
    version = version_of(item)
    attributes = json_object(item.get("attributes"))
    now = ctx.clock()
    if attributes.get("enabled") is False:
        detail = (
            f"version {version} is disabled: Key Vault answers 'Operation get is not allowed "
            "on a disabled secret'"
        )
        fix = fixes.enable_version(ref.vault_name, ref.secret, version)
        add("secret", name, Outcome.FAIL, detail, fix)
        return
    exp, nbf = attributes.get("exp"), attributes.get("nbf")
    if not ref.version:
        pinned = KeyVaultReference(ref.host, ref.secret, version)
        detail = (
            f"exists (latest version {version}, read from {how}); the reference pins no "
            "version, which the platform does not document"
        )
        add("secret", name, Outcome.WARN, detail, f"pin it: {pinned}")
    elif exp is not None and float(exp) <= now:
        detail = f"version {version} expired at {_when(exp)} (Key Vault still serves it)"
        add(
            "secret",
            name,
            Outcome.WARN,
            detail,
            f"rotate: {fixes.set_secret(ref.vault_name, ref.secret)}, then pin the new version",
        )
    elif nbf is not None and float(nbf) > now:
        detail = f"version {version} is not valid before {_when(nbf)} (Key Vault still serves it)"
        add("secret", name, Outcome.WARN, detail, "pin a version that is valid now")
    else:
        add(
            "secret",
            name,
            Outcome.PASS,
            f"version {version} exists and is enabled (read from {how})",
        )


def _secret_by_arm(
    ctx: Context, name: str, ref: KeyVaultReference, resource: dict[str, Any], why: str
) -> None:
    """Fall back to ARM's secret resource (current version only) when listing is refused."""
    add = ctx.report.add
    try:
        body = ctx.reader.vault_secret(str(resource["id"]), ref.secret)
    except SecretInjectionError as ex:
        if ex.http_status == 404:
            _not_found(ctx, name, ref)
        else:
            detail = f"cannot list its versions ({why}) nor read it through ARM ({ex.message})"
            add("secret", name, Outcome.UNKNOWN, detail)
        return
    props = json_object(body.get("properties"))
    current = str(props.get("secretUriWithVersion") or "").rstrip("/").rsplit("/", 1)[-1].lower()
    item = {"id": current, "attributes": props.get("attributes") or {}}
    if ref.version and ref.version.lower() != current:
        detail = (
            f"the reference pins version {ref.version}; ARM shows only the current one "
            f"({current}), and listing versions was refused ({why}): needs {READ_SECRET_METADATA}"
        )
        add("secret", name, Outcome.UNKNOWN, detail)
        return
    _judge_version(ctx, name, ref, item, "ARM, current version")
