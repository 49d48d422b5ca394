"""Checks 1 and 2: the references, the workspace, the connections and how each fits.

Every reference parses, the workspace exists, every connection exists and each reference
fits it (``--check-keys``: the key names, read with ListSecrets).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from .._constants import LISTSECRETS_API_VERSION
from ..errors import SecretInjectionError
from ..lint import ERROR, check_value
from ..references import ConnectionReference, KeyVaultReference, is_reference, parse_reference
from .arm import json_object
from .authtypes import CREDENTIAL_FIELDS, CUSTOM_KEYS, NO_CREDENTIALS
from .context import Context
from .model import Outcome
from .principals import parse_time

EXPIRY_WARNING_DAYS = 30
REFERENCE_FORMS = (
    "${{azureml://connections/<name>[/target|/credentials/<key>|/metadata/<key>]}} or "
    "${{keyvault:https://<vault>.vault.azure.net/secrets/<name>/<version>}}"
)


def describe(ref: ConnectionReference | KeyVaultReference) -> str:
    """Say what a reference points at, in words."""
    if isinstance(ref, KeyVaultReference):
        version = f"version {ref.version}" if ref.version else "latest version"
        return f"Key Vault {ref.vault_name}, secret {ref.secret}, {version}"
    part = {"connection": "the whole connection", "target": "its target"}.get(ref.part)
    return f"connection {ref.connection}, {part or f'{ref.part}/{ref.key}'}"


def check_references(ctx: Context) -> None:
    """Check 1a: parse every variable that holds (or mentions) a reference."""
    cloud = ctx.inputs.cloud
    for name, value in ctx.inputs.variables.items():
        findings = check_value(value, cloud)
        if not findings and not is_reference(value):
            continue  # a literal: nothing to resolve
        errors = [m for level, m in findings if level == ERROR]
        warnings = [m for level, m in findings if level != ERROR and "no secret version" not in m]
        if errors:
            ctx.report.add("reference", name, Outcome.FAIL, "; ".join(errors), REFERENCE_FORMS)
            continue
        if not is_reference(value):
            fix = f"write the whole value as {REFERENCE_FORMS}"
            ctx.report.add("reference", name, Outcome.WARN, "; ".join(warnings), fix)
            continue
        ref = parse_reference(value)
        if warnings:
            fix = "set SECRETINJ_CLOUD to the vault's cloud in environment_variables"
            ctx.report.add("reference", name, Outcome.WARN, "; ".join(warnings), fix)
        else:
            ctx.report.add("reference", name, Outcome.PASS, describe(ref))
        if isinstance(ref, ConnectionReference):
            ctx.connection_refs[name] = ref
        else:
            ctx.vault_refs[name] = ref


def check_workspace(ctx: Context) -> None:
    """Check 1b: the workspace is known and ARM finds it in the cloud."""
    inputs = ctx.inputs
    ws = ctx.workspace
    try:
        ctx.reader.workspace(ws.resource_id)
    except SecretInjectionError as ex:
        if ex.http_status == 404:
            ctx.workspace_found = False
            fix = (
                f"az ml workspace show --name {ws.name} --resource-group {ws.resource_group} "
                f"--subscription {ws.subscription} --query id -o tsv  # then --workspace <id>"
            )
            detail = f"{ws.resource_id} not found in {inputs.cloud.name}: {ex.message}"
            ctx.report.add("workspace", ws.name, Outcome.FAIL, detail, fix)
        else:
            detail = f"cannot read it ({_why(ex)})"
            ctx.report.add("workspace", ws.name, Outcome.UNKNOWN, detail)
        return
    ctx.workspace_found = True
    detail = f"found in {inputs.cloud.name} (from {inputs.workspace_source})"
    ctx.report.add("workspace", ws.name, Outcome.PASS, detail)


def _why(ex: SecretInjectionError) -> str:
    if ex.http_status in (401, 403):
        return f"you may not read it: {ex.message}"
    return ex.message


def _by_connection(ctx: Context) -> dict[str, list[tuple[str, ConnectionReference]]]:
    groups: dict[str, list[tuple[str, ConnectionReference]]] = {}
    for name, ref in ctx.connection_refs.items():
        groups.setdefault(ref.connection.lower(), []).append((name, ref))
    return groups


def check_connections(ctx: Context) -> None:
    """Check 2: each connection exists (GET, no secrets) and each reference fits it."""
    ws = ctx.workspace
    listed = 0
    for items in _by_connection(ctx).values():
        conn = items[0][1].connection
        try:
            body = ctx.reader.connection(ws.resource_id, conn)
        except SecretInjectionError as ex:
            if ex.http_status == 404:
                fix = f"create connection {conn!r} in the workspace, or correct the references"
                detail = f"no connection {conn!r} in workspace {ws.name}"
                ctx.report.add("connection", conn, Outcome.FAIL, detail, fix)
            else:
                ctx.report.add("connection", conn, Outcome.UNKNOWN, f"cannot read it ({_why(ex)})")
            continue
        props = json_object(body.get("properties"))
        auth, category = props.get("authType"), props.get("category")
        ctx.report.add("connection", conn, Outcome.PASS, f"authType {auth}, category {category}")
        _expiry(ctx, conn, props.get("expiryTime"))
        keys: set[str] | None = None
        wants_keys = any(r.part == "credentials" for _, r in items)
        if ctx.check_keys and wants_keys and auth not in NO_CREDENTIALS:
            keys = _key_names(ctx, conn, str(auth))
            listed += 1  # a refused POST is a write call all the same
        for name, ref in items:
            _fit(ctx, name, ref, props, keys)
    if ctx.check_keys:
        detail = (
            f"made {listed} ListSecrets call(s) (ARM POSTs: writes against the subscription's "
            "budget) with your credential to read key names; the values were discarded unread"
        )
        ctx.report.add("check-keys", "ListSecrets", Outcome.PASS, detail)


def _expiry(ctx: Context, conn: str, raw: object) -> None:
    when = parse_time(raw)
    if when is None:
        return
    now = ctx.clock()
    stamp = datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%d %H:%M UTC")
    fix = f"renew the credential of connection {conn!r} and update the connection"
    if when <= now:
        ctx.report.add("connection-expiry", conn, Outcome.WARN, f"expired at {stamp}", fix)
    elif when - now < EXPIRY_WARNING_DAYS * 86400:
        days = int((when - now) // 86400)
        detail = f"expires at {stamp} (in {days} days)"
        ctx.report.add("connection-expiry", conn, Outcome.WARN, detail, fix)


def _fit(
    ctx: Context, name: str, ref: ConnectionReference, props: dict[str, Any], keys: set[str] | None
) -> None:
    add = ctx.report.add
    conn = ref.connection
    if ref.part == "connection":
        add("reference-fit", name, Outcome.PASS, "the whole ListSecrets answer, as JSON")
    elif ref.part == "target":
        if props.get("target"):
            add("reference-fit", name, Outcome.PASS, "the connection has a target")
        else:
            fix = f"set a target on connection {conn!r}, or drop /target"
            add("reference-fit", name, Outcome.FAIL, f"connection {conn!r} has no target", fix)
    elif ref.part == "metadata":
        metadata = json_object(props.get("metadata"))
        if ref.key in metadata:
            add("reference-fit", name, Outcome.PASS, f"metadata has key {ref.key!r}")
        else:
            known = ", ".join(sorted(metadata)) or "none"
            fix = f"use one of its metadata keys ({known}), or add {ref.key!r} to the connection"
            detail = f"connection {conn!r} has no metadata key {ref.key!r}"
            add("reference-fit", name, Outcome.FAIL, detail, fix)
    else:
        for outcome, text, hint in _credential_fit(conn, str(ref.key), props, keys):
            add("reference-fit", name, outcome, text, hint)


def _credential_fit(
    conn: str, key: str, props: dict[str, Any], keys: set[str] | None
) -> Iterator[tuple[Outcome, str, str | None]]:
    auth = str(props.get("authType"))
    if keys is not None:  # read with --check-keys
        if key in keys:
            yield Outcome.PASS, f"credential {key!r} exists (read with --check-keys)", None
        else:
            fix = f"use one of its credential keys ({', '.join(sorted(keys)) or 'none'})"
            yield Outcome.FAIL, f"connection {conn!r} has no credential {key!r}", fix
        return
    if auth in NO_CREDENTIALS:
        fix = "reference the connection's target or metadata instead, or change its authType"
        yield Outcome.FAIL, f"authType {auth} carries no credentials", fix
    elif auth == CUSTOM_KEYS:
        detail = (
            "a CustomKeys connection's key names are only in its secrets: rerun with "
            "--check-keys to confirm it (an ARM write call; the values are never printed)"
        )
        yield Outcome.UNKNOWN, detail, None
    elif auth in CREDENTIAL_FIELDS:
        required, optional = CREDENTIAL_FIELDS[auth]
        if key in required:
            yield Outcome.PASS, f"authType {auth} always has credential {key!r}", None
        elif key in optional:
            fix = "make sure the connection sets it, or use --check-keys to confirm"
            yield Outcome.WARN, f"credential {key!r} is optional for authType {auth}", fix
        else:
            fix = f"use one of {sorted(required | optional)}"
            yield Outcome.FAIL, f"authType {auth} has no credential {key!r}", fix
    else:
        yield Outcome.UNKNOWN, f"unknown authType {auth!r}: cannot tell its credentials", None


def _key_names(ctx: Context, conn: str, auth: str) -> set[str] | None:
    """ListSecrets once; keep only the credential names, drop the body at once."""
    assert ctx.transport is not None
    assert ctx.arm_token is not None
    url = ctx.workspace.listsecrets_url(ctx.inputs.arm_endpoint, conn, LISTSECRETS_API_VERSION)
    try:
        body = ctx.transport.request_json(
            "POST", url, token=ctx.arm_token, service=f"ARM ListSecrets ({conn})"
        )
    except SecretInjectionError as ex:
        ctx.report.add("check-keys", conn, Outcome.UNKNOWN, f"ListSecrets failed ({_why(ex)})")
        return None
    props = body.get("properties")
    creds = props.get("credentials") if isinstance(props, dict) else None
    names = set(creds) if isinstance(creds, dict) else set()
    if auth == CUSTOM_KEYS and isinstance(creds, dict) and isinstance(creds.get("keys"), dict):
        names = (names - {"keys"}) | set(creds["keys"])  # the runtime looks in both
    del body, props, creds  # the values go out of scope here, unread
    return names
