"""Helpers for the mock's ARM read tests."""

from __future__ import annotations

from typing import Any

import requests

from secretinj_runtime.mock.model import DEFAULT_DEPLOYER_CLIENT_ID
from secretinj_runtime.mock.testing import MockServer
from tests.mock.mockhelp import get_token

ML = "2025-09-01"
AUTHZ = "2022-04-01"
KV_ARM = "2024-11-01"
MSI_ARM = "2023-01-31"


def deployer_token(mock: MockServer, resource: str = "https://management.azure.com") -> str:
    return get_token(mock, resource, DEFAULT_DEPLOYER_CLIENT_ID)


def arm_get(
    mock: MockServer, path: str, api_version: str | None, token: str | None, **params: str
) -> requests.Response:
    query: dict[str, str] = dict(params)
    if api_version is not None:
        query["api-version"] = api_version
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{mock.url}{path}", params=query, headers=headers, timeout=10)


def ok(resp: requests.Response) -> Any:
    assert resp.status_code == 200, resp.text
    return resp.json()


def error_code(resp: requests.Response) -> str:
    return str(resp.json()["error"]["code"])
