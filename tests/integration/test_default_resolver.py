"""The module-level functions' default resolver against the mock: identity configuration."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import secretinj_runtime as sir
from secretinj_runtime.mock.testing import MockServer, run_mock

REF = "${{azureml://connections/app-sp/credentials/clientId}}"


@pytest.fixture
def mock(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockServer]:
    with run_mock(throttle=None) as server:
        server.apply_env(monkeypatch)
        server.put_connection(
            "app-sp",
            {
                "authType": "ServicePrincipal",
                "category": "ApiKey",
                "target": "https://app.example.com",
                "credentials": {
                    "clientId": "sp-client-id-1",
                    "clientSecret": "sp-secret-0123456789",
                    "tenantId": "tenant-1",
                },
            },
        )
        for var in ("SECRETINJ_CLIENT_ID", "UAI_CLIENT_ID"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setattr(sir, "_default", None)
        yield server


def test_a_client_id_reference_is_resolved_not_used_as_the_identity(
    mock: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_CLIENT_ID", REF)
    before = sir.default_resolver()
    report = sir.resolve_environment()
    assert report.variables["AZURE_CLIENT_ID"].status is sir.Status.RESOLVED
    assert os.environ["AZURE_CLIENT_ID"] == "sp-client-id-1"
    assert sir.default_resolver() is before, "its own write-back is not a new configuration"
    assert before.client_id is None, "the system-assigned identity fetched it"
    assert [r["identity"] for r in mock.requests("msi")] == ["system"]


def test_a_real_configuration_change_rebuilds_and_closes_the_old_resolver(
    mock: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRETINJ_REFRESH_INTERVAL_S", "100")
    monkeypatch.setenv("APP_ID", REF)
    sir.resolve_environment(["APP_ID"])
    old = sir.default_resolver()
    refresher = old.engine.refresher
    assert refresher is not None
    assert refresher.is_alive()
    monkeypatch.setenv("SECRETINJ_CACHE_TTL_S", "60")
    new = sir.default_resolver()
    assert new is not old
    refresher.join(5)
    assert not refresher.is_alive(), "the old resolver's refresher was stopped"
    new.close()
