"""The fallback path over real HTTP with the real azure-identity ManagedIdentityCredential."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable

import pytest

import secretinj_runtime as sir
from secretinj_runtime import Status
from secretinj_runtime.transport import RetryPolicy
from tests.integration.fake_server import FakeAzure, Fault

Build = Callable[..., sir.SecretResolver]

TEN_VARIABLES = {
    "AOAI_API_KEY": "${{azureml://connections/aoai-conn/credentials/key}}",
    "AOAI_ENDPOINT": "${{azureml://connections/aoai-conn/target}}",
    "AOAI_API_VERSION": "${{azureml://connections/aoai-conn/metadata/ApiVersion}}",
    "OPENAI_KEY": "${{azureml://connections/multi-conn/credentials/OPENAI_API_KEY}}",
    "OTHER_KEY": "${{azureml://connections/multi-conn/credentials/OTHER_KEY}}",
    "OPENAI_VERSION": "${{azureml://connections/multi-conn/metadata/OPENAI_API_VERSION}}",
    "S3_CONNECTION": "${{azureml://connections/s3-conn}}",
    "S3_SECRET": "${{azureml://connections/s3-conn/credentials/secretAccessKey}}",
    "DB_PASSWORD": "${{keyvault:https://demo-kv.vault.azure.net/secrets/db-password}}",
    "API_TOKEN": "${{keyvault:https://demo-kv.vault.azure.net/secrets/api-token}}",
}


def test_ten_variables_three_connections_two_secrets(
    fake_azure: FakeAzure, real_resolver: Build
) -> None:
    env = dict(TEN_VARIABLES, INJECTED="already-injected")
    report = real_resolver().resolve_environment(environ=env)
    assert report.ok, str(report)
    assert len(report.variables) == 10
    assert env["AOAI_API_KEY"] == "aoai-key-0123456789"
    assert env["AOAI_ENDPOINT"] == "https://aoai.example.com/"
    assert env["AOAI_API_VERSION"] == "2024-02-01"
    assert env["OPENAI_KEY"] == "openai-key-abcdef"
    assert env["OPENAI_VERSION"] == "2024-02-01"
    assert json.loads(env["S3_CONNECTION"])["properties"]["category"] == "S3"
    assert env["S3_SECRET"] == "s3-secret-xyz"
    assert env["DB_PASSWORD"] == "kv-db-password-42"
    assert env["INJECTED"] == "already-injected"
    assert fake_azure.counts == {"msi": 2, "listsecrets": 3, "keyvault": 2}


def test_module_level_api_uses_the_environment(
    fake_azure: FakeAzure, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AOAI_API_KEY", TEN_VARIABLES["AOAI_API_KEY"])
    assert sir.get_secret("AOAI_API_KEY") == "aoai-key-0123456789"
    assert sir.resolve_reference(TEN_VARIABLES["DB_PASSWORD"]) == "kv-db-password-42"
    report = sir.resolve_environment(["AOAI_API_KEY"])
    assert report.variables["AOAI_API_KEY"].status is Status.RESOLVED
    import os

    assert os.environ["AOAI_API_KEY"] == "aoai-key-0123456789"
    assert fake_azure.counts["listsecrets"] == 1, "cached across the module-level calls"


def test_transient_faults_over_real_http(fake_azure: FakeAzure, real_resolver: Build) -> None:
    fake_azure.fault("listsecrets", Fault(503), Fault(drop=True))
    html = b"<html><body>502 Bad Gateway</body></html>"
    fake_azure.fault("keyvault", Fault(502, body=html, content_type="text/html"))
    env = {k: TEN_VARIABLES[k] for k in ("AOAI_API_KEY", "DB_PASSWORD")}
    report = real_resolver().resolve_environment(environ=env)
    assert report.ok
    assert fake_azure.counts["listsecrets"] == 3
    assert fake_azure.counts["keyvault"] == 2


def test_read_timeout_over_real_http(fake_azure: FakeAzure, real_resolver: Build) -> None:
    fake_azure.fault("listsecrets", *[Fault(200, hang_s=5)] * 3)
    resolver = real_resolver(
        read_timeout_s=0.2, retry_policy=RetryPolicy(max_attempts=2, deadline_s=5)
    )
    report = resolver.resolve_environment(
        environ={"K": TEN_VARIABLES["AOAI_API_KEY"]}, required=False
    )
    assert report.variables["K"].status is Status.TIMED_OUT
    assert report.variables["K"].elapsed_ms < 3000


def test_connection_refused(fake_azure: FakeAzure, real_resolver: Build) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    resolver = real_resolver(arm_endpoint=f"http://127.0.0.1:{port}")
    report = resolver.resolve_environment(
        environ={"K": TEN_VARIABLES["AOAI_API_KEY"]}, required=False
    )
    status = report.variables["K"]
    assert status.status is Status.SERVICE_ERROR
    assert f"could not connect to ARM ListSecrets at http://127.0.0.1:{port}" in (
        status.error or ""
    )


def test_malformed_json_and_not_found(fake_azure: FakeAzure, real_resolver: Build) -> None:
    fake_azure.fault("listsecrets", Fault(200, body=b"{oops"))
    report = real_resolver().resolve_environment(
        environ={"K": TEN_VARIABLES["AOAI_API_KEY"]}, required=False
    )
    assert report.variables["K"].status is Status.SERVICE_ERROR
    assert "not a JSON object" in (report.variables["K"].error or "")
    env = {
        "GONE": "${{azureml://connections/gone-conn/target}}",
        "NOKEY": "${{azureml://connections/multi-conn/credentials/MISSING}}",
    }
    report = real_resolver().resolve_environment(environ=env, required=False)
    assert report.variables["GONE"].status is Status.NOT_FOUND
    assert "[request id req-404]" in (report.variables["GONE"].error or "")
    assert report.variables["NOKEY"].status is Status.NOT_FOUND
    assert "keys there: OPENAI_API_KEY, OTHER_KEY" in (report.variables["NOKEY"].error or "")


def test_wrong_msi_secret_is_identity_unavailable(
    fake_azure: FakeAzure, real_resolver: Build, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MSI_SECRET", "wrong")
    report = real_resolver().resolve_environment(
        environ={"K": TEN_VARIABLES["AOAI_API_KEY"]}, required=False
    )
    assert report.variables["K"].status is Status.IDENTITY_UNAVAILABLE
    assert fake_azure.counts["listsecrets"] == 0


def test_user_assigned_identity_client_id(
    fake_azure: FakeAzure, real_resolver: Build, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UAI_CLIENT_ID", "11111111-2222-3333-4444-555555555555")
    resolver = real_resolver()
    assert resolver.client_id == "11111111-2222-3333-4444-555555555555"
    assert resolver.resolve(TEN_VARIABLES["AOAI_API_KEY"]) == "aoai-key-0123456789"
