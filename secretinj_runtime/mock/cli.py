"""``secretinj-mock``: serve the mock, print its environment, print the default state.

``serve`` prints its URL, then the ``export`` lines that point the runtime at it, and records
them in an env file (see :mod:`secretinj_runtime.mock.envfile`); ``env`` without ``--url``
prints what the last ``serve`` recorded once it has checked that the mock still answers, and
exits 1 saying so when none does.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from secretinj_runtime.mock.authtypes import StateError
from secretinj_runtime.mock.defaults import DEFAULT_MSI_SECRET, dump_state_yaml, load_state
from secretinj_runtime.mock.envfile import (
    ENV_FILE_VARIABLE,
    TOKEN_SHAPES,
    client_id_of,
    default_env_file,
    export_lines,
    mock_answers,
    mock_env,
    read_record,
    remove_record,
    write_record,
)
from secretinj_runtime.mock.model import ThrottleSpec

CLIENT_ID_VARIABLE = "SECRETINJ_CLIENT_ID"
DEFAULT_PORT = 8731
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="secretinj-mock",
        description="Local mock of the managed identity, ARM ListSecrets and Key Vault.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the mock in the foreground")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (loopback only)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    serve.add_argument("--state", metavar="FILE", help="JSON or YAML state file")
    serve.add_argument("--msi-secret", default=DEFAULT_MSI_SECRET)
    serve.add_argument("--bucket-capacity", type=int, metavar="N")
    serve.add_argument("--bucket-refill-per-s", type=float, metavar="R")
    serve.add_argument("--no-throttle", action="store_true", help="disable the ARM write bucket")
    serve.add_argument("--latency-ms", type=float, default=0.0, help="added to every call")
    serve.add_argument("--allow-remote", action="store_true", help="allow a non-loopback host")
    serve.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    serve.add_argument(
        "--env-file",
        metavar="FILE",
        type=Path,
        help=f"where to record the export lines for `env` (default: ${ENV_FILE_VARIABLE}, "
        "else secretinj-mock/env under $XDG_RUNTIME_DIR or ~/.cache)",
    )
    serve.add_argument("--no-env-file", action="store_true", help="record nothing")
    env = sub.add_parser(
        "env",
        help="print export lines that point the runtime at a mock",
        description="Without --url: print what the last `serve` recorded, once a mock "
        "answers there (exit 1 when none does). With --url: print the lines for that URL.",
    )
    env.add_argument("--url", help=f"a mock's URL (e.g. {DEFAULT_URL}); no check is made")
    env.add_argument("--msi-secret", help=f"with --url (default {DEFAULT_MSI_SECRET})")
    env.add_argument("--state", metavar="FILE", help="take the workspace from this state")
    env.add_argument("--env-file", metavar="FILE", type=Path, help="read this record instead")
    env.add_argument(
        "--token-shape",
        choices=list(TOKEN_SHAPES),
        default=TOKEN_SHAPES[0],
        help="managed-identity variables: 2017-09-01 (MSI_ENDPOINT, MSI_SECRET; Azure ML, the "
        "default) or 2019-08-01 (IDENTITY_ENDPOINT, IDENTITY_HEADER; App Service)",
    )
    env.add_argument(
        "--as",
        dest="act_as",
        metavar="WHO",
        default="system",
        help="who the default credential is: system (the endpoint's identity, default), "
        "deployer (the person running `secretinj preflight`) or a user-assigned client id; "
        "sets SECRETINJ_CLIENT_ID",
    )
    sub.add_parser("state", help="print the built-in default state as YAML")
    return parser


def _fail(message: str) -> int:
    print(f"secretinj-mock: {message}", file=sys.stderr, flush=True)
    return 2


def _throttle(args: argparse.Namespace) -> ThrottleSpec | str | None:
    if args.no_throttle:
        if args.bucket_capacity is not None or args.bucket_refill_per_s is not None:
            raise ValueError("--no-throttle cannot be combined with --bucket-* options")
        return None
    if args.bucket_capacity is None and args.bucket_refill_per_s is None:
        return "state"
    capacity = args.bucket_capacity if args.bucket_capacity is not None else 200
    refill = args.bucket_refill_per_s if args.bucket_refill_per_s is not None else 10.0
    if capacity < 1 or refill <= 0:
        raise ValueError("--bucket-capacity must be >= 1 and --bucket-refill-per-s > 0")
    return ThrottleSpec(capacity, refill)


def _serve(args: argparse.Namespace) -> int:
    from secretinj_runtime.mock.server import bind_socket, is_loopback, make_server, socket_url
    from secretinj_runtime.mock.store import MockState

    if not is_loopback(args.host) and not args.allow_remote:
        return _fail(f"refusing non-loopback host {args.host!r} without --allow-remote")
    if not 0 <= args.port <= 65535:
        return _fail(f"--port: {args.port} is not a valid port")
    if args.latency_ms < 0:
        return _fail("--latency-ms: must be >= 0")
    try:
        throttle = _throttle(args)
        spec = load_state(args.state)
    except (StateError, ValueError) as exc:
        where = f"invalid state file {args.state}: " if isinstance(exc, StateError) else ""
        return _fail(f"{where}{exc}")
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        return _fail(f"cannot bind {args.host}:{args.port}: {exc.strerror}")
    url = socket_url(sock)
    env_file = None if args.no_env_file else (args.env_file or default_env_file())
    state = MockState(
        spec,
        msi_secret=args.msi_secret,
        throttle=throttle if not isinstance(throttle, str) else "state",
        latency_s=args.latency_ms / 1000.0,
        base_url=url,
    )
    exports = mock_env(url, args.msi_secret, spec.workspace)
    server = make_server(state, on_ready=lambda: _announce(url, exports, env_file))
    # uvicorn re-raises the signal it caught once shut down; make that a no-op so we exit 0
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        if env_file is not None:
            remove_record(env_file)
    return 0


def _announce(url: str, exports: dict[str, str], env_file: Path | None) -> None:
    """Print the URL line (first, alone: scripts wait for it), then the export lines."""
    print(f"secretinj-mock listening on {url}", flush=True)
    where = ""
    if env_file is not None:
        where = _record(env_file, url, exports)
    print(f'# in another shell: eval "$(secretinj-mock env)"{where}', flush=True)
    print("\n".join(export_lines(exports)), flush=True)


def _record(env_file: Path, url: str, exports: dict[str, str]) -> str:
    """Record the export lines, unless another live mock is recorded there; say what happened."""
    try:
        other = read_record(env_file)
    except (OSError, ValueError):
        other = None  # not readable or not ours: replace it
    if other is not None and other.url != url and mock_answers(other.url):
        return (
            f"; {env_file} records another running mock ({other.url}, pid {other.pid}), "
            "left as it is: give --env-file to record this one elsewhere"
        )
    try:
        write_record(env_file, url, exports)
    except OSError as exc:
        logging.getLogger(__name__).warning(
            "cannot record the environment in %s: %s", env_file, exc.strerror or exc
        )
        return ""
    return f"; recorded in {env_file}"


def _env(args: argparse.Namespace) -> int:
    try:
        spec = load_state(args.state) if args.state else None
    except StateError as exc:
        return _fail(f"invalid state file {args.state}: {exc}")
    if args.url:
        secret = args.msi_secret or DEFAULT_MSI_SECRET
        workspace = (spec or load_state(None)).workspace
        exports = mock_env(args.url, secret, workspace, args.token_shape)
    else:
        recorded = _recorded(args.env_file or default_env_file())
        if isinstance(recorded, int):
            return recorded
        secret = args.msi_secret or recorded.get("MSI_SECRET") or DEFAULT_MSI_SECRET
        workspace = spec.workspace if spec else recorded["SECRETINJ_WORKSPACE_ID"]
        known = mock_env(recorded["SECRETINJ_ARM_ENDPOINT"], secret, workspace)
        extra = {k: v for k, v in recorded.items() if k not in known}  # e.g. an --as identity
        url = recorded["SECRETINJ_ARM_ENDPOINT"]
        exports = mock_env(url, secret, workspace, args.token_shape) | extra
    if args.act_as.lower() != "system":
        base = exports["SECRETINJ_ARM_ENDPOINT"]
        client_id = client_id_of(base, args.act_as)
        if client_id is None:
            return _fail(
                f"--as {args.act_as}: the mock at {base} does not answer or knows no such "
                "identity (deployer, or a user-assigned client id)"
            )
        exports[CLIENT_ID_VARIABLE] = client_id
    print("\n".join(export_lines(exports)))
    return 0


def _recorded(path: Path) -> dict[str, str] | int:
    """Return the recorded exports of a live mock, or the exit status after saying why not."""
    start = "start one with `secretinj-mock serve` (or give --url)"
    try:
        record = read_record(path)
    except (OSError, ValueError) as exc:
        print(f"secretinj-mock: cannot read {path}: {exc}", file=sys.stderr, flush=True)
        return 2
    if record is None:
        print(
            f"secretinj-mock: no mock is running: nothing recorded in {path}; {start}",
            file=sys.stderr,
            flush=True,
        )
        return 1
    needed = ("SECRETINJ_ARM_ENDPOINT", "SECRETINJ_WORKSPACE_ID")
    if not mock_answers(record.url) or not all(record.env.get(n) for n in needed):
        print(
            f"secretinj-mock: no mock is running: none answers at {record.url} (recorded by "
            f"`serve`, pid {record.pid}, at {record.started}); {start}",
            file=sys.stderr,
            flush=True,
        )
        return 1
    return record.env


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``secretinj-mock`` command; return the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "env":
        return _env(args)
    sys.stdout.write(dump_state_yaml())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
