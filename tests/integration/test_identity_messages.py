"""No identity: one error that says what was tried and what to do, no wall of warnings."""

from __future__ import annotations

import logging

import pytest

import secretinj_runtime as sir
from secretinj_runtime import Status
from tests.fakes import WORKSPACE_ID

REF = "${{azureml://connections/aoai/credentials/key}}"
KV_REF = "${{keyvault:https://kv1.vault.azure.net/secrets/pw}}"


@pytest.fixture
def no_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (
        "MSI_ENDPOINT",
        "MSI_SECRET",
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_FEDERATED_TOKEN_FILE",
        "UAI_CLIENT_ID",
        "SECRETINJ_CLIENT_ID",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9")
    monkeypatch.setenv("PATH", "/nonexistent")  # no az, pwsh or azd to ask
    monkeypatch.setenv("SECRETINJ_WORKSPACE_ID", WORKSPACE_ID)


def test_the_error_names_the_credential_and_the_next_steps(
    no_identity: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="secretinj_runtime"):
        report = sir.SecretResolver().resolve_environment(
            environ={"K": REF, "V": KV_REF}, required=False
        )
    status = report.variables["K"]
    assert status.status is Status.IDENTITY_UNAVAILABLE
    error = status.error or ""
    assert "DefaultAzureCredential (no MSI_ENDPOINT or IDENTITY_ENDPOINT is set)" in error
    assert 'eval "$(secretinj-mock env)"' in error
    assert "az login" in error
    assert "managed identity could not" not in error
    third_party = [
        r
        for r in caplog.records
        if r.name.startswith("azure.identity") and r.levelno >= logging.WARNING
    ]
    assert third_party == [], [r.getMessage()[:80] for r in third_party]
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 2, (
        "one line per variable, nothing else"
    )
