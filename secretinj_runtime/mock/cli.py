"""``secretinj-mock``: serve the mock, print its environment, print the default state."""

from __future__ import annotations

import argparse
import logging
import shlex
import signal
import sys
from collections.abc import Sequence

from secretinj_runtime.mock.authtypes import StateError
from secretinj_runtime.mock.defaults import DEFAULT_MSI_SECRET, dump_state_yaml
from secretinj_runtime.mock.model import ThrottleSpec
from secretinj_runtime.mock.state import load_state

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
    env = sub.add_parser("env", help="print export lines that point the runtime at a mock")
    env.add_argument("--url", default=DEFAULT_URL)
    env.add_argument("--msi-secret", default=DEFAULT_MSI_SECRET)
    env.add_argument("--state", metavar="FILE", help="take the workspace from this state")
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
    state = MockState(
        spec,
        msi_secret=args.msi_secret,
        throttle=throttle if not isinstance(throttle, str) else "state",
        latency_s=args.latency_ms / 1000.0,
        base_url=url,
    )
    server = make_server(
        state, on_ready=lambda: print(f"secretinj-mock listening on {url}", flush=True)
    )
    # uvicorn re-raises the signal it caught once shut down; make that a no-op so we exit 0
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0


def _env(args: argparse.Namespace) -> int:
    from secretinj_runtime.mock.testing import mock_env

    try:
        spec = load_state(args.state)
    except StateError as exc:
        return _fail(f"invalid state file {args.state}: {exc}")
    for name, value in mock_env(args.url, args.msi_secret, spec.workspace).items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


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
