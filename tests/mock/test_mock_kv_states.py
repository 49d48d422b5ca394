"""Key Vault as it really answers: attributes, disabled and deleted secrets, the firewall,
the access-policy model, empty values."""

from __future__ import annotations

from typing import Any

import pytest

from secretinj_runtime.mock.clock import ManualClock
from secretinj_runtime.mock.defaults import default_state_dict
from secretinj_runtime.mock.testing import ControlError, MockServer, run_mock
from tests.mock.mockhelp import kv_get, kv_token

EXP = 1893456000  # 2030-01-01T00:00:00Z
NBF = 1700000000


def error_of(resp: Any) -> dict[str, Any]:
    return dict(resp.json()["error"])


def test_attributes_carry_enabled_exp_nbf(mock: MockServer) -> None:
    version = mock.set_secret(
        "demo-kv", "api-token", "v1", exp="2030-01-01T00:00:00Z", nbf=NBF, content_type="text"
    )
    body = kv_get(mock, "demo-kv", "api-token", kv_token(mock), version).json()
    assert body["value"] == "v1"
    assert body["contentType"] == "text"
    attributes = body["attributes"]
    assert attributes["enabled"] is True
    assert attributes["exp"] == EXP
    assert attributes["nbf"] == NBF
    assert attributes["recoveryLevel"] == "Recoverable+Purgeable"
    plain = kv_get(mock, "demo-kv", "db-password", kv_token(mock)).json()
    assert "exp" not in plain["attributes"]
    assert "nbf" not in plain["attributes"]
    assert "contentType" not in plain


def test_expired_and_not_yet_valid_secrets_are_still_served(mock: MockServer) -> None:
    # Key Vault reports exp/nbf but does not enforce them on a secret GET
    version = mock.set_secret("demo-kv", "old-token", "v1", exp=1000, nbf=EXP)
    resp = kv_get(mock, "demo-kv", "old-token", kv_token(mock), version)
    assert resp.status_code == 200
    assert resp.json()["attributes"]["exp"] == 1000


def test_disabled_version_is_403_secret_disabled(mock: MockServer) -> None:
    token = kv_token(mock)
    shown = mock.update_secret("demo-kv", "db-password", enabled=False)  # the latest
    assert shown["enabled"] is False
    resp = kv_get(mock, "demo-kv", "db-password", token)
    assert resp.status_code == 403
    assert error_of(resp) == {
        "code": "Forbidden",
        "message": "Operation get is not allowed on a disabled secret.",
        "innererror": {"code": "SecretDisabled"},
    }
    pinned = kv_get(mock, "demo-kv", "db-password", token, shown["version"])
    assert error_of(pinned)["innererror"]["code"] == "SecretDisabled"
    versions = mock.call("GET", "/vaults/demo-kv/secrets/db-password")["versions"]
    older = versions[0]["version"]
    assert kv_get(mock, "demo-kv", "db-password", token, older).status_code == 200
    mock.update_secret("demo-kv", "db-password", shown["version"], enabled=True)
    assert kv_get(mock, "demo-kv", "db-password", token).status_code == 200


def test_disabled_from_the_state_file() -> None:
    state = default_state_dict()
    state["vaults"]["demo-kv"]["off"] = [{"value": "x", "enabled": False}]
    with run_mock(state) as mock:
        resp = kv_get(mock, "demo-kv", "off", kv_token(mock))
        assert error_of(resp)["innererror"] == {"code": "SecretDisabled"}
        assert "x" not in resp.text


def test_soft_delete_recover_purge(mock: MockServer) -> None:
    token = kv_token(mock)
    mock.delete_secret("demo-kv", "db-password")
    resp = kv_get(mock, "demo-kv", "db-password", token)
    assert resp.status_code == 404
    assert error_of(resp)["code"] == "SecretNotFound"
    assert mock.call("GET", "/vaults/demo-kv/secrets/db-password")["deleted"] is True
    with pytest.raises(ControlError) as conflict:
        mock.set_secret("demo-kv", "db-password", "again")
    assert conflict.value.status == 409
    assert "deleted but recoverable" in conflict.value.body
    with pytest.raises(ControlError, match="404"):
        mock.delete_secret("demo-kv", "db-password")  # already deleted
    mock.recover_secret("demo-kv", "db-password")
    assert kv_get(mock, "demo-kv", "db-password", token).status_code == 200
    mock.delete_secret("demo-kv", "db-password", purge=True)
    with pytest.raises(ControlError, match="404"):
        mock.recover_secret("demo-kv", "db-password")
    mock.set_secret("demo-kv", "db-password", "new")  # a purged name can be reused
    assert kv_get(mock, "demo-kv", "db-password", token).json()["value"] == "new"


def test_deleted_from_the_state_file() -> None:
    state = default_state_dict()
    state["vaults"]["demo-kv"]["db-password"] = {"versions": ["a", "b"], "deleted": True}
    with run_mock(state) as mock:
        assert kv_get(mock, "demo-kv", "db-password", kv_token(mock)).status_code == 404
        assert mock.call("GET", "/vaults") == {"demo-kv": {}}


def test_firewall_is_403_forbidden_by_firewall(mock: MockServer) -> None:
    token = kv_token(mock)
    assert mock.configure_vault("demo-kv", firewall="deny")["firewall"] == "deny"
    resp = kv_get(mock, "demo-kv", "db-password", token)
    assert resp.status_code == 403
    error = error_of(resp)
    assert error["code"] == "Forbidden"
    assert error["innererror"] == {"code": "ForbiddenByFirewall"}
    assert error["message"].startswith("Client address is not authorized")
    assert "mock-db-password" not in resp.text
    mock.configure_vault("demo-kv", firewall="allow")
    assert kv_get(mock, "demo-kv", "db-password", token).status_code == 200


def test_firewall_from_the_state_file_wins_over_a_role() -> None:
    state = {**default_state_dict(), "vault_settings": {"demo-kv": {"firewall": "deny"}}}
    with run_mock(state) as mock:
        resp = kv_get(mock, "demo-kv", "db-password", kv_token(mock))
        assert error_of(resp)["innererror"]["code"] == "ForbiddenByFirewall"


def test_missing_role_is_forbidden_by_rbac_and_access_policy_says_access_denied(
    mock: MockServer,
) -> None:
    token = kv_token(mock)
    mock.revoke(vault="demo-kv")
    rbac = kv_get(mock, "demo-kv", "db-password", token)
    assert error_of(rbac)["innererror"] == {"code": "ForbiddenByRbac"}
    assert "getSecret/action" in error_of(rbac)["message"]
    mock.configure_vault("demo-kv", rbac_authorization=False)
    policy = kv_get(mock, "demo-kv", "db-password", token)
    assert policy.status_code == 403
    assert error_of(policy)["innererror"] == {"code": "AccessDenied"}
    assert "does not have secrets get permission" in error_of(policy)["message"]


def test_empty_values_are_stored_and_served(mock: MockServer) -> None:
    version = mock.set_secret("demo-kv", "empty", "")
    resp = kv_get(mock, "demo-kv", "empty", kv_token(mock), version)
    assert resp.status_code == 200
    assert resp.json()["value"] == ""
    state = default_state_dict()
    state["vaults"]["demo-kv"]["blank"] = [""]
    with run_mock(state) as other:
        assert kv_get(other, "demo-kv", "blank", kv_token(other)).json()["value"] == ""


def test_attribute_updates_are_validated(mock: MockServer, clock: ManualClock) -> None:
    with pytest.raises(ControlError, match="exp: must be epoch seconds"):
        mock.update_secret("demo-kv", "db-password", exp="tomorrow")
    with pytest.raises(ControlError, match="enabled"):
        mock.update_secret("demo-kv", "db-password", enabled=None)
    with pytest.raises(ControlError, match="404"):
        mock.update_secret("demo-kv", "db-password", "0" * 32, enabled=False)
    with pytest.raises(ControlError, match="firewall"):
        mock.configure_vault("demo-kv", firewall="maybe")
    with pytest.raises(ControlError, match="404"):
        mock.configure_vault("no-such-kv", firewall="deny")
    clock.advance(60)
    shown = mock.update_secret("demo-kv", "db-password", exp=EXP)
    assert shown["exp"] == EXP
    assert shown["updated"] > shown["created"]
    assert "value" not in shown
    cleared = mock.update_secret("demo-kv", "db-password", exp=None)
    assert "exp" not in cleared
