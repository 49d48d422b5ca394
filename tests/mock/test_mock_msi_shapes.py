"""Both managed-identity token shapes: Azure ML 2017-09-01 and App Service 2019-08-01,
with raw requests and with the real azure-identity ManagedIdentityCredential."""

from __future__ import annotations

import time

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ManagedIdentityCredential

from secretinj_runtime.mock.defaults import default_state_dict
from secretinj_runtime.mock.testing import APP_SERVICE_SHAPE, MockServer, mock_env, run_mock
from secretinj_runtime.mock.tokens import ARM_AUDIENCE, client_id_for, object_id
from tests.mock.mockhelp import list_secrets

UAI = "5e1f0c2a-0000-4000-8000-0000000000aa"
UAI_STATE = {
    **default_state_dict(),
    "identities": {
        "system": True,
        "user_assigned": [{"client_id": UAI, "name": "scorer-uai", "resource_group": "id-rg"}],
    },
}
ARM_SCOPE = "https://management.azure.com/.default"


def app_service_get(mock: MockServer, **params: str) -> requests.Response:
    return requests.get(
        f"{mock.url}/msi/token",
        params={"api-version": "2019-08-01", "resource": ARM_AUDIENCE, **params},
        headers={"X-IDENTITY-HEADER": mock.state.msi_secret},
        timeout=10,
    )


def test_env_for_each_shape(mock: MockServer) -> None:
    assert {"MSI_ENDPOINT", "MSI_SECRET"} <= set(mock.env)
    app = mock.env_for(APP_SERVICE_SHAPE)
    assert app["IDENTITY_ENDPOINT"] == f"{mock.url}/msi/token"
    assert app["IDENTITY_HEADER"] == mock.state.msi_secret
    assert "MSI_ENDPOINT" not in app
    with pytest.raises(ValueError, match="token_shape"):
        mock_env(mock.url, "s", mock.workspace, "2018-02-01")  # type: ignore[arg-type]


def test_app_service_response_shape(mock: MockServer, clock_now: float) -> None:
    resp = app_service_get(mock)
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"access_token", "expires_on", "resource", "token_type", "client_id"}
    assert body["expires_on"].isdigit()  # epoch seconds, as a string
    assert int(body["expires_on"]) == pytest.approx(clock_now + 3600, abs=5)
    assert body["client_id"] == client_id_for("system")
    assert list_secrets(mock, "aoai-conn", body["access_token"]).status_code == 200


def test_app_service_refusals(mock: MockServer) -> None:
    wrong = requests.get(
        f"{mock.url}/msi/token",
        params={"api-version": "2019-08-01", "resource": ARM_AUDIENCE},
        headers={"secret": mock.state.msi_secret},  # the 2017 header does not do
        timeout=10,
    )
    assert wrong.status_code == 400
    assert set(wrong.json()) == {"statusCode", "message", "correlationId"}
    assert "X-IDENTITY-HEADER" in wrong.json()["message"].upper()
    unknown = app_service_get(mock, client_id="00000000-dead-beef-0000-000000000000")
    assert unknown.status_code == 400
    assert "No managed identity found" in unknown.json()["message"]
    two = app_service_get(mock, client_id="a", mi_res_id="/b")
    assert "Only one identity selector" in two.json()["message"]
    assert app_service_get(mock, resource="https://graph.microsoft.com").status_code == 400
    # the 2017-09-01 shape does not take the 2019 selectors
    old = requests.get(
        f"{mock.url}/msi/token",
        params={"api-version": "2017-09-01", "resource": ARM_AUDIENCE, "mi_res_id": "/x"},
        headers={"secret": mock.state.msi_secret},
        timeout=10,
    )
    assert old.json()["error"] == "invalid_request"


def test_app_service_selects_a_user_assigned_identity_three_ways() -> None:
    with run_mock(UAI_STATE) as mock:
        res_id = mock.state.uai_resource_id(UAI)
        assert res_id.endswith(
            "/resourceGroups/id-rg/providers/Microsoft.ManagedIdentity/"
            "userAssignedIdentities/scorer-uai"
        )
        for params in (
            {"client_id": UAI.upper()},
            {"mi_res_id": res_id},
            {"object_id": object_id(UAI)},
        ):
            resp = app_service_get(mock, **params)
            assert resp.status_code == 200, (params, resp.text)
            assert resp.json()["client_id"] == UAI
        assert [e["identity"] for e in mock.requests("msi")] == [UAI] * 3


@pytest.mark.parametrize("shape", ["2017-09-01", "2019-08-01"])
def test_real_credential_system_assigned(
    mock: MockServer, monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    mock.apply_env(monkeypatch, shape)  # type: ignore[arg-type]
    with ManagedIdentityCredential() as credential:
        arm = credential.get_token(ARM_SCOPE)
        kv = credential.get_token("https://vault.azure.net/.default")
        again = credential.get_token(ARM_SCOPE)
    assert arm.token != kv.token
    assert again.token == arm.token  # cached by the credential
    assert arm.expires_on > time.time() + 3000
    assert mock.count("msi", "system") == 2
    assert list_secrets(mock, "aoai-conn", arm.token).status_code == 200
    assert mock.requests("msi")[0]["status"] == 200


@pytest.mark.parametrize("shape", ["2017-09-01", "2019-08-01"])
def test_real_credential_user_assigned_by_client_id(
    monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    with run_mock(UAI_STATE) as mock:
        mock.apply_env(monkeypatch, shape)  # type: ignore[arg-type]
        with ManagedIdentityCredential(client_id=UAI) as credential:
            token = credential.get_token(ARM_SCOPE).token
        assert [e["identity"] for e in mock.requests("msi")] == [UAI]
        assert list_secrets(mock, "aoai-conn", token).status_code == 200
        assert mock.requests("listsecrets")[0]["identity"] == UAI


def test_real_credential_user_assigned_by_resource_id(monkeypatch: pytest.MonkeyPatch) -> None:
    with run_mock(UAI_STATE) as mock:
        mock.apply_env(monkeypatch, APP_SERVICE_SHAPE)
        config = {"resource_id": mock.state.uai_resource_id(UAI)}
        with ManagedIdentityCredential(identity_config=config) as credential:
            credential.get_token(ARM_SCOPE)
        assert [e["identity"] for e in mock.requests("msi")] == [UAI]


def test_real_credential_unknown_client_id_fails_in_both_shapes(
    mock: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for shape in ("2017-09-01", "2019-08-01"):
        mock.apply_env(monkeypatch, shape)
        with (
            ManagedIdentityCredential(client_id="00000000-dead-beef-0000-000000000000") as cred,
            pytest.raises(ClientAuthenticationError),
        ):
            cred.get_token(ARM_SCOPE)
    assert [e["status"] for e in mock.requests("msi")] == [400, 400]


def test_real_credential_sees_a_refused_api_version(
    mock: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    mock.set_api_versions("msi", ["2017-09-01"])  # this endpoint no longer serves 2019-08-01
    mock.apply_env(monkeypatch, APP_SERVICE_SHAPE)
    with ManagedIdentityCredential() as cred, pytest.raises(ClientAuthenticationError):
        cred.get_token(ARM_SCOPE)
    assert mock.requests("msi")[0]["status"] == 400
