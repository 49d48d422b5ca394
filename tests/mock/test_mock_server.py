"""The threaded uvicorn runner: port 0, readiness, clean stop."""

from __future__ import annotations

import pytest
import requests

from secretinj_runtime.mock.server import ThreadedServer, bind_socket, is_loopback, socket_url
from secretinj_runtime.mock.store import MockState


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),  # noqa: S104 - only checked, never bound
        ("10.0.0.1", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected


def test_bind_socket_port_zero() -> None:
    with bind_socket() as sock:
        url = socket_url(sock)
        assert url.startswith("http://127.0.0.1:")
        assert not url.endswith(":0")


def test_threaded_server_start_stop() -> None:
    state = MockState()
    server = ThreadedServer(state)
    server.start()
    try:
        assert state.base_url == server.url
        resp = requests.get(f"{server.url}/_mock/health", timeout=10)
        assert resp.json()["status"] == "ok"
        assert (
            state.list_secrets_body(state.connections["aoai-conn"])["properties"]["target"]
            == f"{server.url}/openai"
        )
    finally:
        server.stop()
    server.stop()  # idempotent
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/_mock/health", timeout=2)
