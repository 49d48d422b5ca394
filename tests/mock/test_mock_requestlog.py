"""Nothing secret reaches the request log or the server logs (checked at DEBUG)."""

from __future__ import annotations

import json
import logging

import pytest
import requests
from azure.identity import ManagedIdentityCredential

from secretinj_runtime.mock.defaults import (
    AOAI_KEY,
    DB_PASSWORD_VERSIONS,
    OPENAI_API_KEY,
    OTHER_KEY,
)
from secretinj_runtime.mock.requestlog import RequestInfo, RequestLog
from secretinj_runtime.mock.testing import MockServer
from tests.mock.mockhelp import KV_API, get_token, kv_get, kv_token, list_secrets


def test_log_is_bounded_and_counts() -> None:
    log = RequestLog()
    log.record(RequestInfo("GET", "/x", route="msi", name="System", status=200), 1.0, 5.0)
    assert log.count("msi") == 1
    assert log.count("msi", "system") == 1
    assert log.entries("keyvault") == []
    assert log.counters()["total"] == 1


def test_no_secret_or_token_in_logs(
    mock: MockServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    mock.apply_env(monkeypatch)
    secrets = [AOAI_KEY, OPENAI_API_KEY, OTHER_KEY, *DB_PASSWORD_VERSIONS, mock.env["MSI_SECRET"]]
    with ManagedIdentityCredential() as credential:
        tokens = [
            credential.get_token("https://management.azure.com/.default").token,
            credential.get_token("https://vault.azure.net/.default").token,
        ]
    tokens += [get_token(mock), kv_token(mock)]
    for name in ("aoai-conn", "multi-conn", "missing-conn"):
        assert list_secrets(mock, name, tokens[0]).status_code in (200, 404)
    list_secrets(mock, "aoai-conn", tokens[1])  # wrong audience
    assert kv_get(mock, "demo-kv", "db-password", tokens[1]).status_code == 200
    secrets.append(mock.rotate_connection_key("aoai-conn"))
    rotated = "rotated-db-password-value"
    mock.rotate_secret("demo-kv", "db-password", rotated)
    secrets.append(rotated)
    mock.put_connection(
        "sp-conn",
        {
            "authType": "ServicePrincipal",
            "category": "ADLSGen2",
            "target": "https://x",
            "credentials": {
                "clientId": "cid",
                "clientSecret": "sp-secret-value",
                "tenantId": "tid",
            },
        },
    )
    secrets.append("sp-secret-value")
    list_secrets(mock, "sp-conn", tokens[0])
    requests.post(
        f"{mock.url}/openai/deployments/gpt-demo/chat/completions",
        params={"api-version": "2024-02-01"},
        headers={"api-key": secrets[-3]},
        json={"messages": [{"role": "user", "content": "hi"}]},
        timeout=10,
    )
    requests.get(f"{mock.url}/keyvault/demo-kv/secrets/db-password", params=KV_API, timeout=10)
    mock.queue_fault("keyvault", 500)
    kv_get(mock, "demo-kv", "db-password", tokens[1])

    log_json = json.dumps(mock.requests()) + json.dumps(mock.call("GET", "/state"))
    server_logs = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith(("secretinj", "uvicorn"))
    )
    assert "listsecrets" in server_logs
    assert "/msi/token" in server_logs
    all_tokens = set(tokens) | set(mock.state.tokens.issued_values())
    assert len(all_tokens) >= 4
    for value in [*secrets, *all_tokens]:
        assert value not in log_json
        assert value not in server_logs
        assert value not in caplog.text
