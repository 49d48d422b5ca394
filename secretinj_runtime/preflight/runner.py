"""Run every check in order, with the deployer's credential and the runtime's transport."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from ..errors import IdentityUnavailableError
from .arm import ArmReader
from .check_identity import (
    check_deployer,
    check_endpoint,
    check_endpoint_connections,
    gather_endpoint,
)
from .check_refs import check_connections, check_references, check_workspace
from .check_vaults import check_vaults
from .context import Context
from .inputs import Inputs
from .keyvault import VaultVersions
from .model import Outcome, Report

TYPE_CHECKING = False
if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from ..transport import Transport

#: The whole run waits at most about this long for one call, retries included.
DEADLINE_S = 20.0
SIGN_IN = (
    "sign in with `az login` (or set AZURE_TENANT_ID, AZURE_CLIENT_ID and a secret or "
    'certificate for a service principal); against the mock: eval "$(secretinj-mock env '
    '--as deployer)"'
)


def run_preflight(
    inputs: Inputs,
    *,
    environ: Mapping[str, str],
    check_keys: bool = False,
    credential: TokenCredential | None = None,
    transport: Transport | None = None,
    clock: Callable[[], float] = time.time,
) -> Report:
    """Run the checks; the report says what passed, failed, or could not be told."""
    report = Report()
    ctx = Context(inputs, report, clock, check_keys)
    check_references(ctx)
    if inputs.workspace is None:
        fix = (
            "pass --workspace /subscriptions/<sub>/resourceGroups/<rg>/providers/"
            "Microsoft.MachineLearningServices/workspaces/<ws> (az ml workspace show --query id "
            "-o tsv), or set SECRETINJ_WORKSPACE_ID"
        )
        report.add("workspace", "(unknown)", Outcome.FAIL, "the workspace is unknown", fix)
        report.config_error = True
        return report
    if not _connect(ctx, environ, credential, transport):
        return report
    check_workspace(ctx)
    facts = gather_endpoint(ctx)
    if ctx.workspace_found is not False:
        if ctx.connection_refs:
            check_connections(ctx)
        check_deployer(ctx)
    check_endpoint(ctx, facts)
    if ctx.workspace_found is not False:
        check_endpoint_connections(ctx, facts)
    if ctx.vault_refs:
        check_vaults(ctx)
    return report


def _connect(
    ctx: Context,
    environ: Mapping[str, str],
    credential: TokenCredential | None,
    transport: Transport | None,
) -> bool:
    """Build the token source and readers; False (config error reported) without a token."""
    from ..identity import TokenCache, client_id_from_environ, default_credential
    from ..retry import RetryPolicy
    from ..transport import Transport

    inputs = ctx.inputs

    def factory() -> TokenCredential:
        if credential is not None:
            return credential
        return default_credential(client_id_from_environ(environ), environ)

    tokens = TokenCache(factory)
    arm_scope, vault_scope = inputs.cloud.arm_scope, inputs.cloud.keyvault_scope
    try:
        tokens.get(arm_scope)
    except IdentityUnavailableError as ex:
        ctx.report.add("credential", "deployer", Outcome.FAIL, ex.message, SIGN_IN)
        ctx.report.config_error = True
        return False
    ctx.transport = transport or Transport(policy=RetryPolicy(deadline_s=DEADLINE_S))
    ctx.arm_token = lambda: tokens.get(arm_scope)
    ctx.arm = ArmReader(ctx.transport, inputs.arm_endpoint, ctx.arm_token)
    ctx.versions = VaultVersions(
        ctx.transport, lambda: tokens.get(vault_scope), inputs.keyvault_endpoint
    )
    return True
