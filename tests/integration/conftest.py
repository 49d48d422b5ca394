from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import secretinj_runtime as sir
from secretinj_runtime.mock.testing import MockServer, run_mock
from secretinj_runtime.transport import RetryPolicy
from tests.fakes import FakeClock, connection_body
from tests.integration.fake_server import FakeAzure, serve

CONNECTIONS = {
    "aoai-conn": connection_body("aoai-conn", "ApiKey", {"key": "aoai-key-0123456789"}),
    "multi-conn": connection_body(
        "multi-conn",
        "CustomKeys",
        {"keys": {"OPENAI_API_KEY": "openai-key-abcdef", "OTHER_KEY": "other-key-987654"}},
        metadata={"OPENAI_API_VERSION": "2024-02-01"},
    ),
    "s3-conn": connection_body(
        "s3-conn",
        "AccessKey",
        {"accessKeyId": "AKIAEXAMPLE", "secretAccessKey": "s3-secret-xyz"},
        category="S3",
        target="https://s3.example.com",
    ),
}
VAULT_SECRETS = {
    ("demo-kv", "db-password"): "kv-db-password-42",
    ("demo-kv", "api-token"): "kv-api-token-77",
}


@pytest.fixture
def fake_azure(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAzure]:
    """The fake on a free port, with the process environment pointing at it."""
    with serve() as fake:
        fake.connections.update(CONNECTIONS)
        fake.secrets.update(VAULT_SECRETS)
        for var in ("IDENTITY_ENDPOINT", "AZURE_CLIENT_ID", "UAI_CLIENT_ID", "SECRETINJ_CLIENT_ID"):
            monkeypatch.delenv(var, raising=False)
        for key, value in fake.env().items():
            monkeypatch.setenv(key, value)
        yield fake


@pytest.fixture
def mock(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockServer]:
    """The real mock (uvicorn in a thread, free port), the environment pointing at it.

    No user-assigned identity and no proxy exceptions from the caller's environment.
    """
    with run_mock(throttle=None) as server:
        server.apply_env(monkeypatch)
        for var in ("AZURE_CLIENT_ID", "UAI_CLIENT_ID", "SECRETINJ_CLIENT_ID", "NO_PROXY"):
            monkeypatch.delenv(var, raising=False)
            monkeypatch.delenv(var.lower(), raising=False)
        yield server


@pytest.fixture
def real_resolver(fake_azure: FakeAzure) -> Callable[..., sir.SecretResolver]:
    """Build a resolver the way users do (config from the environment, default credential)."""

    def build(**kwargs: Any) -> sir.SecretResolver:
        clock = FakeClock()
        kwargs.setdefault("retry_policy", RetryPolicy(max_attempts=3, deadline_s=20))
        kwargs.setdefault("sleep", clock.sleep)  # retries never really sleep
        return sir.SecretResolver(**kwargs)

    return build
