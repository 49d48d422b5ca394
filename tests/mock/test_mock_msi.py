"""Managed identity endpoint, Azure ML flavour, including the real azure-identity credential."""

from __future__ import annotations

import time

import pytest
import requests
from azure.identity import ManagedIdentityCredential

from secretinj_runtime.mock.defaults import default_state_dict
from secretinj_runtime.mock.testing import MockServer, run_mock
from secretinj_runtime.mock.tokens import ARM_AUDIENCE
from tests.mock.mockhelp import API, get_token, list_secrets

UAI = "7f3c1a52-0000-4000-8000-00000000abcd"
UAI_STATE = {**default_state_dict(), "identities": {"system": True, "user_assigned": [UAI]}}


def token_params(resource: str = ARM_AUDIENCE, **extra: str) -> dict[str, str]:
    return {"api-version": "2017-09-01", "resource": resource, **extra}


def test_real_credential_system_assigned(mock: MockServer, monkeypatch: pytest.MonkeyPatch) -> None:
    mock.apply_env(monkeypatch)
    with ManagedIdentityCredential() as credential:
        arm = credential.get_token("https://management.azure.com/.default")
        kv = credential.get_token("https://vault.azure.net/.default")
        again = credential.get_token("https://management.azure.com/.default")
    assert arm.token != kv.token
    assert again.token == arm.token  # cached by the credential
    assert arm.expires_on > time.time() + 3000
    assert mock.count("msi") == 2
    assert mock.count("msi", "system") == 2
    assert list_secrets(mock, "aoai-conn", arm.token).status_code == 200


def test_real_credential_user_assigned(monkeypatch: pytest.MonkeyPatch) -> None:
    with run_mock(UAI_STATE) as mock:
        mock.apply_env(monkeypatch)
        with ManagedIdentityCredential(client_id=UAI) as credential:
            token = credential.get_token("https://management.azure.com/.default").token
        entries = mock.requests("msi")
        assert [e["identity"] for e in entries] == [UAI]
        resp = list_secrets(mock, "aoai-conn", token)
        assert resp.status_code == 200
        assert mock.requests("listsecrets")[0]["identity"] == UAI


def test_real_credential_unknown_client_id_fails(
    mock: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from azure.core.exceptions import ClientAuthenticationError

    mock.apply_env(monkeypatch)
    with (
        ManagedIdentityCredential(client_id="00000000-dead-beef-0000-000000000000") as cred,
        pytest.raises(ClientAuthenticationError),  # its wording differs across versions
    ):
        cred.get_token("https://management.azure.com/.default")
    (refused,) = mock.requests("msi")
    assert refused["status"] == 400, "the mock refused the unknown client id"


def test_response_shape(mock: MockServer, clock_now: float) -> None:
    resp = requests.get(
        mock.env["MSI_ENDPOINT"],
        params=token_params("https://vault.azure.net/"),
        headers={"secret": mock.env["MSI_SECRET"]},
        timeout=10,
    )
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"access_token", "expires_on", "resource", "token_type"}
    assert body["resource"] == "https://vault.azure.net/"
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_on"], str)
    assert int(body["expires_on"]) == pytest.approx(clock_now + 3600, abs=5)


@pytest.mark.parametrize(
    ("params", "headers", "needle"),
    [
        (token_params(), {}, "secret"),
        (token_params(), {"secret": "wrong"}, "secret"),
        ({"resource": ARM_AUDIENCE}, None, "api-version"),
        ({"api-version": "2017-09-01"}, None, "resource"),
        (token_params("https://graph.microsoft.com"), None, "not supported"),
        (token_params(clientid="unknown-id"), None, "unknown-id"),
        (token_params(object_id="x"), None, "object_id"),
    ],
)
def test_errors_are_400_json(
    mock: MockServer, params: dict[str, str], headers: dict[str, str] | None, needle: str
) -> None:
    hdrs = {"secret": mock.env["MSI_SECRET"]} if headers is None else headers
    resp = requests.get(mock.env["MSI_ENDPOINT"], params=params, headers=hdrs, timeout=10)
    assert resp.status_code == 400
    body = resp.json()
    assert body["error"] in {"invalid_request", "invalid_resource"}
    assert needle in body["error_description"]


def test_system_identity_can_be_disabled() -> None:
    state = {"identities": {"system": False, "user_assigned": [UAI]}}
    with run_mock(state, msi_secret="s3") as mock:
        assert mock.env["MSI_SECRET"] == "s3"
        resp = requests.get(
            mock.env["MSI_ENDPOINT"], params=token_params(), headers={"secret": "s3"}, timeout=10
        )
        assert resp.status_code == 400
        assert "system-assigned" in resp.json()["error_description"]
        ok = requests.get(
            mock.env["MSI_ENDPOINT"],
            params=token_params(client_id=UAI.upper()),
            headers={"secret": "s3"},
            timeout=10,
        )
        assert ok.status_code == 200


def test_token_for_vault_rejected_by_arm(mock: MockServer) -> None:
    kv = get_token(mock, "https://vault.azure.net")
    resp = list_secrets(mock, "aoai-conn", kv, **API)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"
