"""A small fake of the Azure endpoints on a real loopback port (port 0).

It speaks just enough of the managed-identity (Azure ML flavour), ARM ListSecrets and Key
Vault protocols for the real azure-identity credential and the runtime's real transport.
Faults are queued per route kind. The full mock lives in ``secretinj_runtime.mock``.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MSI_SECRET = "fake-msi-header-value"


class Fault:
    def __init__(
        self,
        status: int = 500,
        *,
        body: bytes | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        hang_s: float = 0.0,
        drop: bool = False,
    ) -> None:
        self.status = status
        self.body = (
            body
            if body is not None
            else json.dumps({"error": {"code": "Fault", "message": f"injected {status}"}}).encode()
        )
        self.content_type = content_type
        self.headers = headers or {}
        self.hang_s = hang_s
        self.drop = drop


class FakeAzure:
    """State and counters of the fake; handlers read it under ``lock``."""

    def __init__(self, latency_s: float = 0.0) -> None:
        self.lock = threading.Lock()
        self.connections: dict[str, dict[str, Any]] = {}
        self.secrets: dict[tuple[str, str], str] = {}
        self.tokens: dict[str, str] = {}  # token -> resource
        self.counts: Counter[str] = Counter()
        self.faults: dict[str, list[Fault]] = {}
        self.latency_s = latency_s
        self.release = threading.Event()  # set at shutdown so hanging handlers return
        self.url = ""

    def fault(self, kind: str, *faults: Fault) -> None:
        with self.lock:
            self.faults.setdefault(kind, []).extend(faults)

    def issued_tokens(self) -> list[str]:
        with self.lock:
            return list(self.tokens)

    def env(self) -> dict[str, str]:
        return {
            "MSI_ENDPOINT": f"{self.url}/msi/token",
            "MSI_SECRET": MSI_SECRET,
            "SECRETINJ_ARM_ENDPOINT": self.url,
            "SECRETINJ_KEYVAULT_ENDPOINT": f"{self.url}/kv",
            "SECRETINJ_WORKSPACE_ID": (
                "/subscriptions/sub/resourceGroups/rg/providers/"
                "Microsoft.MachineLearningServices/workspaces/ws"
            ),
        }


def _handler(fake: FakeAzure) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._route()

        def do_POST(self) -> None:
            self._route()

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header(
                "Content-Type", (headers or {}).pop("Content-Type", "application/json")
            )
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _route(self) -> None:
            parts = urlsplit(self.path)
            path, query = parts.path, parse_qs(parts.query)
            if path == "/msi/token":
                kind = "msi"
            elif path.endswith("/listsecrets") and self.command == "POST":
                kind = "listsecrets"
            elif path.startswith("/kv/"):
                kind = "keyvault"
            else:
                self._send(404, {"error": {"code": "NoRoute"}})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            with fake.lock:
                fake.counts[kind] += 1
                queue = fake.faults.get(kind) or []
                fault = queue.pop(0) if queue else None
            if fake.latency_s:
                fake.release.wait(fake.latency_s)
            if fault is not None:
                if fault.hang_s:
                    fake.release.wait(fault.hang_s)
                if fault.drop:
                    self.close_connection = True
                    self.connection.close()
                    return
                self._send(
                    fault.status, fault.body, {"Content-Type": fault.content_type, **fault.headers}
                )
                return
            getattr(self, f"_{kind}")(path, query)

        def _msi(self, path: str, query: dict[str, list[str]]) -> None:
            if self.headers.get("secret") != MSI_SECRET:
                self._send(400, {"error": "invalid_request", "error_description": "bad secret"})
                return
            resource = query["resource"][0]
            token = secrets.token_urlsafe(24)
            with fake.lock:
                fake.tokens[token] = resource
            self._send(
                200,
                {
                    "access_token": token,
                    "expires_on": str(int(time.time()) + 3600),
                    "resource": resource,
                    "token_type": "Bearer",
                },
            )

        def _audience(self) -> str | None:
            auth = self.headers.get("Authorization", "")
            with fake.lock:
                return fake.tokens.get(auth.removeprefix("Bearer "))

        def _listsecrets(self, path: str, query: dict[str, list[str]]) -> None:
            if self._audience() != "https://management.azure.com":
                self._send(
                    401, {"error": {"code": "InvalidAuthenticationToken", "message": "bad token"}}
                )
                return
            name = path.split("/connections/")[1].split("/", maxsplit=1)[0]
            body = fake.connections.get(name)
            if body is None:
                self._send(
                    404,
                    {"error": {"code": "ResourceNotFound", "message": f"{name} not found"}},
                    {"x-ms-request-id": "req-404"},
                )
                return
            self._send(200, body, {"x-ms-ratelimit-remaining-subscription-writes": "199"})

        def _keyvault(self, path: str, query: dict[str, list[str]]) -> None:
            if self._audience() != "https://vault.azure.net":
                self._send(
                    401,
                    {"error": {"code": "Unauthorized", "message": "no"}},
                    {
                        "WWW-Authenticate": 'Bearer authorization="https://login.microsoftonline.com/t"'
                    },
                )
                return
            _, _, vault, _, name, *_version = path.split("/")
            value = fake.secrets.get((vault, name))
            if value is None:
                self._send(
                    404, {"error": {"code": "SecretNotFound", "message": f"{name} not found"}}
                )
                return
            self._send(
                200,
                {
                    "value": value,
                    "id": f"https://{vault}.vault.azure.net/secrets/{name}",
                    "attributes": {"enabled": True},
                },
            )

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # dropped connections are the point of some faults


@contextmanager
def serve(latency_s: float = 0.0) -> Iterator[FakeAzure]:
    """Run the fake on 127.0.0.1 port 0 in a thread; yield its state."""
    fake = FakeAzure(latency_s=latency_s)
    server = _QuietServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield fake
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
