"""Key Vault secret GET: versions, rotation, auth challenge, RBAC, propagation delay."""

from __future__ import annotations

import re

import requests

from secretinj_runtime.mock.clock import ManualClock
from secretinj_runtime.mock.defaults import DB_PASSWORD_VERSIONS
from secretinj_runtime.mock.store import version_id
from secretinj_runtime.mock.testing import MockServer
from tests.mock.mockhelp import KV_API, get_token, kv_get, kv_token

HEX32 = re.compile(r"^[0-9a-f]{32}$")


def test_latest_and_explicit_versions(mock: MockServer) -> None:
    token = kv_token(mock)
    latest = kv_get(mock, "demo-kv", "db-password", token)
    assert latest.status_code == 200
    body = latest.json()
    assert body["value"] == DB_PASSWORD_VERSIONS[-1]
    version = body["id"].rsplit("/", 1)[1]
    assert HEX32.match(version)
    assert body["id"] == f"https://demo-kv.vault.azure.net/secrets/db-password/{version}"
    attributes = body["attributes"]
    assert attributes["enabled"] is True
    assert attributes["recoveryLevel"] == "Recoverable+Purgeable"
    assert isinstance(attributes["created"], int)
    assert isinstance(attributes["updated"], int)
    first = version_id("demo-kv", "db-password", 0)
    old = kv_get(mock, "DEMO-KV", "DB-Password", token, first.upper())  # case-insensitive
    assert old.status_code == 200
    assert old.json()["value"] == DB_PASSWORD_VERSIONS[0]
    trailing = requests.get(
        f"{mock.url}/keyvault/demo-kv/secrets/db-password/",
        params=KV_API,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert trailing.json()["value"] == DB_PASSWORD_VERSIONS[-1]


def test_rotation_makes_a_new_latest(mock: MockServer) -> None:
    token = kv_token(mock)
    before = kv_get(mock, "demo-kv", "db-password", token).json()
    version = mock.rotate_secret("demo-kv", "db-password", "rotated-value")
    assert HEX32.match(version)
    after = kv_get(mock, "demo-kv", "db-password", token).json()
    assert after["value"] == "rotated-value"
    assert after["id"].endswith(version)
    pinned = kv_get(mock, "demo-kv", "db-password", token, before["id"].rsplit("/", 1)[1])
    assert pinned.json()["value"] == before["value"]
    new_vault = mock.set_secret("new-kv", "api-token", "v1")
    assert kv_get(mock, "new-kv", "api-token", token, new_vault).json()["value"] == "v1"


def test_unauthorized_challenge(mock: MockServer, clock: ManualClock) -> None:
    resp = kv_get(mock, "demo-kv", "db-password", None)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == (
        'Bearer authorization="https://login.microsoftonline.com/'
        '11111111-1111-1111-1111-111111111111", resource="https://vault.azure.net"'
    )
    assert resp.json()["error"]["code"] == "Unauthorized"
    wrong = kv_get(mock, "demo-kv", "db-password", get_token(mock))
    assert wrong.status_code == 401
    assert "AKV10022" in wrong.json()["error"]["message"]
    assert kv_get(mock, "demo-kv", "db-password", "junk").status_code == 401
    token = kv_token(mock)
    clock.advance(4000)
    expired = kv_get(mock, "demo-kv", "db-password", token)
    assert expired.status_code == 401
    assert "TokenExpired" in expired.json()["error"]["message"]


def test_forbidden_and_delayed_grant(mock: MockServer, clock: ManualClock) -> None:
    token = kv_token(mock)
    mock.revoke(vault="demo-kv")
    resp = kv_get(mock, "demo-kv", "db-password", token)
    assert resp.status_code == 403
    error = resp.json()["error"]
    assert error["code"] == "Forbidden"
    assert error["innererror"] == {"code": "ForbiddenByRbac"}
    mock.grant(vault="demo-kv", propagation_delay_s=30)
    assert kv_get(mock, "demo-kv", "db-password", token).status_code == 403
    clock.advance(29)
    assert kv_get(mock, "demo-kv", "db-password", token).status_code == 403
    clock.advance(1)
    assert kv_get(mock, "demo-kv", "db-password", token).status_code == 200


def test_not_found(mock: MockServer) -> None:
    token = kv_token(mock)
    missing = kv_get(mock, "demo-kv", "nope", token)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "SecretNotFound"
    assert "nope" in missing.json()["error"]["message"]
    bad_version = kv_get(mock, "demo-kv", "db-password", token, "0" * 32)
    assert bad_version.status_code == 404
    assert bad_version.json()["error"]["code"] == "SecretNotFound"
    vault = kv_get(mock, "no-such-kv", "db-password", token)
    assert vault.status_code == 404
    assert vault.json()["error"]["code"] == "VaultNotFound"


def test_api_version_required(mock: MockServer) -> None:
    resp = requests.get(
        f"{mock.env['SECRETINJ_KEYVAULT_ENDPOINT']}/demo-kv/secrets/db-password",
        headers={"Authorization": f"Bearer {kv_token(mock)}"},
        timeout=10,
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "BadParameter"


def test_state_access_denies_vault() -> None:
    from secretinj_runtime.mock.defaults import default_state_dict
    from secretinj_runtime.mock.testing import run_mock

    state = default_state_dict()
    state["access"] = {"workspace": False, "vaults": {"DEMO-KV": False}}
    with run_mock(state) as mock:
        assert kv_get(mock, "demo-kv", "db-password", kv_token(mock)).status_code == 403
        mock.grant(vault="demo-kv")
        assert kv_get(mock, "demo-kv", "db-password", kv_token(mock)).status_code == 200
