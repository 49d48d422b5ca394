"""The ``secretinj`` command: ``check``, ``lint`` and ``run``.

* ``secretinj check [--json] [--names A,B]``: resolve the references of the current
  environment and print the report (never a value); a readiness probe and smoke test.
* ``secretinj lint FILE.yml ...``: check the references of deployment YAML files, offline.
* ``secretinj run [--deployment FILE.yml] [--env-file FILE] -- COMMAND ARGS...``: resolve
  once, then exec the command with the values in its environment.

Exit codes: 0 success; 1 a reference did not resolve or a lint error; 2 usage error or an
unreadable or invalid input file; 126/127 the command of ``run`` cannot be executed / is not
found; 130 / 143 interrupted by SIGINT / SIGTERM. Errors print ``secretinj: error: ...``,
never a traceback or a value. A closed stdout or stderr is not an error: the output is
dropped (``secretinj check | head -1`` exits with the check's own code).

Longer than 300 lines because the argument parser's help texts are the command's own
documentation (``secretinj COMMAND --help``); each command's work lives in its own module.
"""

from __future__ import annotations

import argparse
import io
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import typing
    from collections.abc import Callable

    from .clouds import Cloud

PROG = "secretinj"

_EXIT_CODES = """\
exit codes:
  0    success
  1    a reference did not resolve (check, run) or a lint error (lint)
  2    usage error, or an input file is unreadable or invalid
  126  (run) the command cannot be executed
  127  (run) the command is not found
  130  interrupted (SIGINT)
  143  terminated (SIGTERM) before the command of run started or check reported
"""


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``secretinj`` command."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Resolve and check Azure ML secret-injection references.",
        epilog=_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log what the runtime does (fetches, retries) to stderr; values stay masked",
    )
    sub = parser.add_subparsers(dest="command_name", metavar="COMMAND")

    check = sub.add_parser(
        "check",
        help="resolve the references of the current environment and report",
        description="Resolve every variable of the current environment that holds a "
        "reference (or the --names given: literals are PRESENT, unset ones MISSING) and "
        "print the report. Never prints a value. Exit 0 when all resolved, else 1.",
    )
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument(
        "--names",
        action="append",
        metavar="A,B",
        help="check these variables only (comma-separated; may be repeated)",
    )
    check.set_defaults(func=_check, parser=check)

    lint = sub.add_parser(
        "lint",
        help="check the references of deployment YAML files (no network)",
        description="Validate the references in the environment_variables of Azure ML "
        "deployment YAML files, without any network call. Prints 'file:line: level: "
        "VARIABLE: message' lines and a summary. Exit 1 on any error, 2 when a file is "
        "unreadable, not valid YAML or over a size limit, else 0 (warnings alone pass).",
    )
    lint.add_argument("files", nargs="+", metavar="FILE.yml")
    lint.add_argument(
        "--cloud",
        type=_cloud,
        metavar="NAME",
        help="the cloud the deployment runs in, where the file does not set "
        "SECRETINJ_CLOUD (AzureCloud, AzureChinaCloud, AzureUSGovernment)",
    )
    lint.set_defaults(func=_lint, parser=lint)

    run = sub.add_parser(
        "run",
        help="resolve the references once, then exec a command with the values",
        description="Build the environment (deployment environment_variables, overridden "
        "by --env-file, overridden by the current environment), resolve every reference "
        "once and exec COMMAND with the values in its environment. On failure print the "
        "report and exit 1 without running COMMAND.",
        usage=f"{PROG} run [-h] [--deployment FILE.yml] [--env-file FILE] -- COMMAND [ARGS...]",
    )
    run.add_argument(
        "--deployment",
        metavar="FILE.yml",
        help="an Azure ML deployment YAML: its environment_variables, as the platform sets them",
    )
    run.add_argument(
        "--env-file",
        metavar="FILE",
        help="a dotenv file (KEY=VALUE lines, # comments, quotes (multi-line too), 'export ')",
    )
    run.add_argument("command", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    run.set_defaults(func=_run, parser=run)

    from .preflight import add_parser as add_preflight

    add_preflight(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``secretinj`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    try:
        return _main(argv)
    finally:
        _flush_stdout()


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    verbose = False
    err = _stderr()
    try:
        args = parser.parse_args(argv)
        verbose = bool(args.verbose)
        func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
        if func is None:
            parser.print_usage(err)
            print(f"{PROG}: error: a command is required (check, lint or run)", file=err)
            return 2
        if func is not _lint:
            _configure_logging(verbose=args.verbose)
        return func(args)
    except SystemExit as ex:  # argparse: --help, --version, usage errors
        return ex.code if isinstance(ex.code, int) else (0 if ex.code is None else 2)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=err)
        return 130
    except Exception as ex:  # never a traceback: it could carry a value
        from .errors import SecretInjectionError

        if isinstance(ex, SecretInjectionError):
            print(f"{PROG}: error: {ex}", file=err)
            return 1
        if isinstance(ex, OSError):
            print(f"{PROG}: error: {ex.strerror or type(ex).__name__}", file=err)
            return 1
        if verbose:
            import logging  # the runtime's log filter masks every fetched value

            logging.getLogger(__name__).exception("unexpected error")
        hint = "" if verbose else " (-v logs the details)"
        print(f"{PROG}: error: unexpected {type(ex).__name__}{hint}", file=err)
        return 1


class _Discard(io.StringIO):
    """Where messages go when ``secretinj`` was started with stderr closed (``2>&-``)."""

    def write(self, s: str) -> int:
        return len(s)


def _stderr() -> typing.TextIO:
    """Return stderr, or a sink when it is closed (never fall back to stdout)."""
    return sys.stderr if sys.stderr is not None else _Discard()


def _out(text: str) -> None:
    """Print a line of results to stdout; a reader that went away ends the output quietly."""
    if sys.stdout is None:  # started with stdout closed (`>&-`)
        return
    try:
        print(text, flush=True)
    except BrokenPipeError:
        _drop_stdout()


def _flush_stdout() -> None:
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        _drop_stdout()


def _drop_stdout() -> None:
    """Point stdout at /dev/null: what is still buffered, and any later line, goes nowhere."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # pragma: no cover - no file descriptor
        sys.stdout = None


def _configure_logging(*, verbose: bool) -> None:
    import logging

    if verbose:
        logging.basicConfig(
            level=logging.INFO,
            stream=_stderr(),
            format=f"{PROG}: %(levelname)s %(name)s: %(message)s",
        )
    else:  # keep library warnings (already in the report) off stderr
        logging.getLogger().addHandler(logging.NullHandler())


def _cloud(name: str) -> Cloud:
    from .clouds import get_cloud
    from .errors import ConfigurationError

    try:
        return get_cloud(name)
    except ConfigurationError as ex:
        raise argparse.ArgumentTypeError(ex.message) from None


def _check(args: argparse.Namespace) -> int:
    import json

    import secretinj_runtime as sir

    from ._signals import exit_on_signals

    names: list[str] | None = None
    if args.names is not None:
        names = [n.strip() for group in args.names for n in group.split(",") if n.strip()]
        if not names:
            args.parser.error("--names needs at least one variable name")
    err = _stderr()
    with exit_on_signals(err, "nothing checked"):
        report = sir.resolve_environment(names, required=False, write_back=False)
    if args.json:  # the report, and each effective setting with where it came from
        settings = sir.default_resolver().describe_settings()
        _out(json.dumps({**report.to_dict(), "settings": settings}))
    elif not report.variables:
        print(
            f"{PROG}: no variable of the environment holds a reference ('${{{{azureml://"
            "connections/...}}' or '${{keyvault:https://...}}'): nothing to resolve. To "
            f"check variables by name, literals included: {PROG} check --names A,B",
            file=err,
        )
    else:
        _out(str(report))
        print(f"{PROG}: {report.summary()}", file=err)
    return 0 if report.ok else 1


def _lint(args: argparse.Namespace) -> int:
    from .deployment_yaml import YamlFileError
    from .lint import lint_file, summary_line

    err = _stderr()
    references = errors = warnings = unreadable = 0
    for path in args.files:
        try:
            result = lint_file(path, args.cloud)
        except YamlFileError as ex:
            print(f"{PROG}: error: {ex}", file=err)
            unreadable += 1
            continue
        except Exception as ex:  # that file's failure; the other files are still linted
            print(f"{PROG}: error: {path}: cannot lint: unexpected {type(ex).__name__}", file=err)
            unreadable += 1
            continue
        for finding in result.findings:
            _out(str(finding))
        references += result.references
        errors += result.errors
        warnings += result.warnings
    _out(summary_line(len(args.files), references, errors, warnings, unreadable))
    if unreadable:
        return 2
    return 1 if errors else 0


def _run(args: argparse.Namespace) -> int:
    from ._runcmd import run_command

    command: list[str] = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        args.parser.error("a command is required after '--'")
    return run_command(
        command,
        deployment=args.deployment,
        env_file=args.env_file,
        stderr=_stderr(),
    )


if __name__ == "__main__":
    raise SystemExit(main())
