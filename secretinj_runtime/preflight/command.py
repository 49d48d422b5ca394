"""The ``secretinj preflight`` command: its argument parser and what it prints.

``secretinj preflight DEPLOYMENT_YML [--endpoint ENDPOINT_YML] [--workspace ARM_ID] [--json]
[--check-keys]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any

from .model import EXIT_CONFIG, Outcome, Report

EPILOG = """\
checks (each PASS, FAIL, WARN or UNKNOWN, with a fix for every FAIL and WARN):
  reference, workspace, connection, connection-expiry, reference-fit, check-keys,
  deployer-permission, endpoint, endpoint-identity, endpoint-connections, vault,
  vault-network, vault-access, secret (docs/preflight.md says what each reads)

exit codes:
  0    nothing FAILed
  1    a check FAILed
  2    usage or configuration error (unreadable file, unknown workspace, no credential)
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``preflight`` to the ``secretinj`` subcommands; return its parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "preflight",
        help="predict, before deploying, whether secret injection will succeed",
        description="Check, with your own credential and before you deploy, what secret "
        "injection needs: the references, the workspace, each connection, your ListSecrets "
        "permission, the endpoint identity's roles, each vault's permission model and each "
        "secret. Never reads a secret value (ListSecrets only with --check-keys).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("deployment", metavar="DEPLOYMENT_YML", help="the deployment YAML")
    parser.add_argument("--endpoint", metavar="ENDPOINT_YML", help="the endpoint YAML")
    parser.add_argument(
        "--workspace",
        metavar="ARM_ID",
        help="the workspace's ARM id (default: SECRETINJ_WORKSPACE_ID, then the deployment's "
        "environment_variables)",
    )
    parser.add_argument("--json", action="store_true", help='print {"ok", "checks": [...]}')
    parser.add_argument(
        "--check-keys",
        action="store_true",
        help="also call ListSecrets (an ARM write) with your rights to confirm that each "
        "referenced credential key exists; the values are discarded, never printed",
    )
    parser.set_defaults(func=run, parser=parser)
    return parser


def run(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> int:
    """Run the command; print the table (or JSON); return the exit code."""
    import os

    from .inputs import InputError, read_inputs

    env = os.environ if environ is None else environ
    try:
        inputs = read_inputs(
            args.deployment, endpoint=args.endpoint, workspace=args.workspace, environ=env
        )
    except InputError as ex:
        report = Report(config_error=True)
        report.add("input", args.deployment, Outcome.FAIL, str(ex), "correct the input and rerun")
        _print(report, args.json)
        return EXIT_CONFIG
    from .runner import run_preflight

    report = run_preflight(inputs, environ=env, check_keys=args.check_keys)
    _print(report, args.json)
    return report.exit_code()


def _print(report: Report, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.to_dict()))
        return
    print(report.render())
    verdict = "no check failed" if report.ok else "secret injection would fail"
    if report.config_error:
        verdict = "could not run: fix the configuration first"
    print(f"secretinj preflight: {report.summary()}: {verdict}", file=sys.stderr)
