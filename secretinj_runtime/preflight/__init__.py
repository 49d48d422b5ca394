"""``secretinj preflight``: predict, before deploying, whether secret injection will succeed.

It reads the deployment (and endpoint) YAML, then asks ARM and Key Vault, with the
deployer's own credential, what it can without reading a secret value: the workspace, each
referenced connection (no credentials), the deployer's effective permissions, the endpoint
identity's role assignments, each vault's permission model and each secret's versions. Each
check answers PASS, FAIL, WARN or UNKNOWN, with the fix for every FAIL and WARN. Only
``--check-keys`` calls ListSecrets (an ARM write), to confirm credential key names; the
values are dropped at once and never printed.

Modules: `model` (checks and the report), `rbac` and `roles` (Azure RBAC semantics),
`inputs` (YAML and configuration), `arm` and `keyvault` (reads), `principals` (role
assignments of one identity), `fixes` (``az`` commands), `check_refs`, `check_identity`,
`check_vaults` (the checks), `runner` (order and context) and `command` (the CLI).
Nothing here imports azure-identity, requests or PyYAML until a check runs.
"""

from __future__ import annotations

__all__ = ["add_parser"]


def add_parser(subparsers: object) -> None:
    """Register ``preflight`` on the ``secretinj`` command's subparsers."""
    from .command import add_parser as _add

    _add(subparsers)
