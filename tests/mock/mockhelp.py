"""Plain-HTTP helpers shared by the mock's tests."""

from __future__ import annotations

from typing import Any

import requests

from secretinj_runtime.mock.testing import MockServer
from secretinj_runtime.mock.tokens import ARM_AUDIENCE, KEYVAULT_AUDIENCE

API = {"api-version": "2024-10-01"}
KV_API = {"api-version": "7.5"}

# valid credentials for every auth type (None: the type carries no credentials)
VALID: dict[str, dict[str, Any] | None] = {
    "ApiKey": {"key": "k"},
    "CustomKeys": {"keys": {"A": "1", "B": "2"}},
    "AccessKey": {"accessKeyId": "id", "secretAccessKey": "sk"},
    "AccountKey": {"key": "k"},
    "SAS": {"sas": "sv=1"},
    "PAT": {"pat": "p"},
    "UsernamePassword": {"username": "u", "password": "p", "securityToken": "t"},
    "ServicePrincipal": {"clientId": "c", "clientSecret": "s", "tenantId": "t"},
    "ManagedIdentity": {"resourceId": "/r", "clientId": "c"},
    "OAuth2": {
        "authUrl": "https://a",
        "clientId": "c",
        "clientSecret": "s",
        "developerToken": "d",
        "password": "p",
        "refreshToken": "r",
        "tenantId": "t",
        "username": "u",
    },
    "AAD": None,
    "None": None,
}


def get_token(mock: MockServer, resource: str = ARM_AUDIENCE, client_id: str | None = None) -> str:
    params = {"api-version": "2017-09-01", "resource": resource}
    if client_id:
        params["clientid"] = client_id
    resp = requests.get(
        mock.env["MSI_ENDPOINT"],
        params=params,
        headers={"secret": mock.env["MSI_SECRET"]},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    return str(resp.json()["access_token"])


def kv_token(mock: MockServer, client_id: str | None = None) -> str:
    return get_token(mock, KEYVAULT_AUDIENCE, client_id)


def listsecrets_url(mock: MockServer, name: str, workspace: str | None = None) -> str:
    return f"{mock.url}{workspace or mock.workspace}/connections/{name}/listsecrets"


def list_secrets(
    mock: MockServer, name: str, token: str | None, **params: str
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(
        listsecrets_url(mock, name), params=params or API, headers=headers, timeout=10
    )


def kv_get(
    mock: MockServer, vault: str, name: str, token: str | None, version: str = ""
) -> requests.Response:
    url = f"{mock.env['SECRETINJ_KEYVAULT_ENDPOINT']}/{vault}/secrets/{name}"
    if version:
        url += f"/{version}"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(url, params=KV_API, headers=headers, timeout=10)
