"""Run the mock with uvicorn: in a background thread (tests) or in the foreground (CLI)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Callable

import uvicorn

from secretinj_runtime.mock.app import create_app
from secretinj_runtime.mock.store import MockState

READY_TIMEOUT_S = 10.0


def is_loopback(host: str) -> bool:
    """Return whether ``host`` is a loopback name or address."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """Bind a listening-ready TCP socket (port 0 picks a free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when the
    # listening socket's proto is TCP; without it keep-alive responses stall ~40 ms (Nagle +
    # delayed ACK between the header and body writes).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def socket_url(sock: socket.socket) -> str:
    """Return ``http://host:port`` for a bound socket."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class MockUvicornServer(uvicorn.Server):
    """uvicorn server that reports readiness and stops promptly when asked."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None] | None = None) -> None:
        super().__init__(config)
        self._on_ready = on_ready
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start listening, then call ``on_ready``."""
        await super().startup(sockets=sockets)
        if self.started and self._on_ready is not None:
            self._on_ready()

    async def main_loop(self) -> None:
        """Tick like uvicorn, but wake up at once when :meth:`request_stop` is called."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)
            should_exit = await self.on_tick(counter)

    def request_stop(self) -> None:
        """Ask the server to shut down (thread-safe)."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)


def make_server(state: MockState, on_ready: Callable[[], None] | None = None) -> MockUvicornServer:
    """Build the uvicorn server for ``state`` (no uvicorn logging config, no access log)."""
    config = uvicorn.Config(
        create_app(state),
        log_config=None,
        access_log=False,
        lifespan="off",
        http="h11",
        ws="none",
        loop="asyncio",
        timeout_graceful_shutdown=2,
        timeout_keep_alive=5,
    )
    return MockUvicornServer(config, on_ready)


class ThreadedServer:
    """A mock server running in a daemon thread on a socket bound to port 0."""

    def __init__(self, state: MockState, host: str = "127.0.0.1") -> None:
        self.sock = bind_socket(host, 0)
        self.url = socket_url(self.sock)
        state.base_url = self.url
        self.state = state
        self.server = make_server(state)
        self._thread = threading.Thread(target=self._run, name="secretinj-mock", daemon=True)
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            self.server.run(sockets=[self.sock])
        except BaseException as exc:  # surfaced by start()
            self._error = exc

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Start the thread and wait until the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"secretinj-mock did not start: {self._error!r}")
            time.sleep(0.002)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the server and wait for the thread; idempotent."""
        self.server.request_stop()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self.sock.close()
