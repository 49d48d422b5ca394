"""The deployer, roles, role assignments and endpoints: state file, control API, decisions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from secretinj_runtime.mock.cli import main
from secretinj_runtime.mock.defaults import default_state_dict
from secretinj_runtime.mock.envfile import mock_env, write_record
from secretinj_runtime.mock.model import DEFAULT_DEPLOYER_CLIENT_ID
from secretinj_runtime.mock.state import StateError, parse_state
from secretinj_runtime.mock.testing import ControlError, MockServer, run_mock
from secretinj_runtime.mock.tokens import object_id
from tests.mock.armhelp import KV_ARM, ML, arm_get, deployer_token, ok
from tests.mock.mockhelp import kv_get, list_secrets

KV = "https://vault.azure.net"


def deployer_assignments(mock: MockServer) -> list[dict[str, Any]]:
    return [a for a in mock.call("GET", "/role-assignments") if a["origin"] == "state"]


def test_the_deployer_gets_tokens_and_its_roles_drive_the_data_plane(mock: MockServer) -> None:
    token = deployer_token(mock)
    assert list_secrets(mock, "aoai-conn", token).status_code == 200  # AzureML Data Scientist
    assert mock.requests("listsecrets")[0]["identity"] == DEFAULT_DEPLOYER_CLIENT_ID
    kv = deployer_token(mock, KV)
    assert kv_get(mock, "demo-kv", "db-password", kv).status_code == 200  # Secrets Officer
    for a in deployer_assignments(mock):
        mock.call("DELETE", f"/role-assignments/{a['id']}")
    assert list_secrets(mock, "aoai-conn", token).status_code == 403
    assert kv_get(mock, "demo-kv", "db-password", kv).status_code == 403
    # the data role of `access` is for the endpoint identities, not the deployer
    assert list_secrets(mock, "aoai-conn", deployer_token(mock)).status_code == 403


def test_assignments_through_the_control_api(mock: MockServer) -> None:
    made = mock.call(
        "POST",
        "/role-assignments",
        {"principal": "system", "role": "reader", "scope": "resource_group", "age_s": 120},
    )
    assert made["role"] == "Reader"
    assert made["principal_id"] == object_id("system")
    assert made["scope"].endswith("/resourceGroups/demo-rg")
    assert made["created"] == pytest.approx(mock.state.now() - 120, abs=2)
    assert ok(arm_get(mock, mock.workspace, ML, get_system_token(mock)))  # Reader: */read
    pending = mock.call(
        "POST",
        "/role-assignments",
        {
            "principal": "system",
            "role": "Owner",
            "scope": "subscription",
            "propagation_delay_s": 30,
        },
    )
    assert pending["pending_s"] == pytest.approx(30, abs=1)
    mock.call("DELETE", f"/role-assignments/{made['id']}")
    assert arm_get(mock, mock.workspace, ML, get_system_token(mock)).status_code == 403  # pending
    mock.advance_clock(31)
    assert arm_get(mock, mock.workspace, ML, get_system_token(mock)).status_code == 200
    for body, needle in (
        ({"principal": "bob", "role": "Owner"}, "principal: unknown principal 'bob'"),
        ({"principal": "system", "role": "Boss"}, "role: unknown role 'Boss'"),
        ({"principal": "system", "role": "Owner", "scope": "vault:nope-kv"}, "unknown vault"),
        ({"principal": "system", "role": "Owner", "scope": "everywhere"}, "scope: expected"),
    ):
        with pytest.raises(ControlError, match=needle):
            mock.call("POST", "/role-assignments", body)
    with pytest.raises(ControlError, match="404"):
        mock.call("DELETE", "/role-assignments/nope")


def get_system_token(mock: MockServer) -> str:
    from tests.mock.mockhelp import get_token

    return get_token(mock)


def test_custom_roles(mock: MockServer) -> None:
    listsecrets = "Microsoft.MachineLearningServices/workspaces/connections/listsecrets/action"
    made = mock.call("PUT", "/roles/lister", {"actions": [listsecrets.upper()]})
    roles = {r["name"]: r for r in mock.call("GET", "/roles")}
    assert roles["lister"]["builtin"] is False
    assert roles["Owner"]["builtin"] is True
    mock.revoke("system")
    assert list_secrets(mock, "aoai-conn", get_system_token(mock)).status_code == 403
    mock.call("POST", "/role-assignments", {"principal": "system", "role": made["id"]})
    assert list_secrets(mock, "aoai-conn", get_system_token(mock)).status_code == 200
    with pytest.raises(ControlError, match="actions"):
        mock.call("PUT", "/roles/bad", {"actions": [""]})


def test_endpoints_through_the_control_api(mock: MockServer) -> None:
    token = deployer_token(mock)
    mock.call("PUT", "/endpoints/other-ep", {"enforce_access_to_default_secret_stores": "disabled"})
    body = ok(arm_get(mock, f"{mock.workspace}/onlineEndpoints/other-ep", ML, token))
    assert body["properties"]["properties"] == {
        "enforce_access_to_default_secret_stores": "disabled"
    }
    assert set(mock.call("GET", "/endpoints")) == {"secretinj-demo", "other-ep"}
    with pytest.raises(ControlError, match="user_assigned_identities: required"):
        mock.call("PUT", "/endpoints/uai-ep", {"identity": "user_assigned"})
    mock.call("DELETE", "/endpoints/other-ep")
    assert arm_get(mock, f"{mock.workspace}/onlineEndpoints/other-ep", ML, token).status_code == 404


def test_identities(mock: MockServer) -> None:
    known = mock.call("GET", "/identities")
    assert known["system"]["principal_id"] == object_id("system")
    assert known["deployer"] == {
        "client_id": DEFAULT_DEPLOYER_CLIENT_ID,
        "principal_id": object_id(DEFAULT_DEPLOYER_CLIENT_ID),
        "principal_type": "User",
    }


def test_state_file_sections() -> None:
    doc = default_state_dict()
    doc["identities"] = {"system": True, "user_assigned": [{"client_id": "u-1", "name": "my-uai"}]}
    doc["roles"] = {"lister": {"actions": ["a/b"], "id": "11111111-2222-3333-4444-555555555555"}}
    doc["role_assignments"] = [
        {
            "principal": "u-1",
            "role": "lister",
            "scope": "workspace",
            "created": "2024-01-01T00:00:00Z",
        },
        {"principal": "deployer", "role": "Owner", "scope": "subscription", "age_s": 60},
    ]
    doc["endpoints"] = {
        "uai-ep": {"identity": "user_assigned", "user_assigned_identities": ["U-1"]}
    }
    spec = parse_state(doc)
    assert spec.role_assignments[0].role == "11111111-2222-3333-4444-555555555555"
    assert spec.endpoints["uai-ep"].user_assigned == ("u-1",)
    assert parse_state(spec.to_dict()) == spec
    with run_mock(spec) as mock:
        token = deployer_token(mock)
        uai = ok(arm_get(mock, mock.state.uai_resource_id("u-1"), "2023-01-31", token))
        assert uai["properties"]["principalId"] == object_id("u-1")
        assert uai["name"] == "my-uai"
        listed = [a for a in mock.call("GET", "/role-assignments") if a["principal"] == "u-1"]
        assert listed[0]["role"] == "lister"
        assert listed[0]["created"] == 1704067200


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"deployer": {"client_id": "system"}}, "deployer.client_id"),
        ({"deployer": {"principal_type": "Robot"}}, "deployer.principal_type"),
        ({"roles": {"Owner": {}}}, "roles.Owner: a built-in role"),
        ({"roles": {"r": {"id": "nope"}}}, "roles.r.id: must be a GUID"),
        (
            {"role_assignments": [{"principal": "bob", "role": "Owner", "scope": "workspace"}]},
            "principal",
        ),
        (
            {"role_assignments": [{"principal": "system", "role": "Boss", "scope": "workspace"}]},
            "unknown role",
        ),
        (
            {"role_assignments": [{"principal": "system", "role": "Owner", "scope": "vault:x"}]},
            "unknown vault",
        ),
        ({"endpoints": {"e": {"identity": "both"}}}, "endpoints.e.identity"),
        (
            {"endpoints": {"e": {"enforce_access_to_default_secret_stores": "on"}}},
            "enabled or disabled",
        ),
        (
            {"endpoints": {"e": {"identity": "user_assigned", "user_assigned_identities": ["x"]}}},
            "unknown 'x'",
        ),
    ],
)
def test_state_file_errors(changes: dict[str, Any], needle: str) -> None:
    with pytest.raises(StateError, match=needle):
        parse_state({**default_state_dict(), **changes})


def test_no_deployer() -> None:
    with run_mock({**default_state_dict(), "deployer": None, "role_assignments": []}) as mock:
        resp = requests.get(
            mock.env["MSI_ENDPOINT"],
            params={
                "api-version": "2017-09-01",
                "resource": KV,
                "clientid": DEFAULT_DEPLOYER_CLIENT_ID,
            },
            headers={"secret": mock.env["MSI_SECRET"]},
            timeout=10,
        )
        assert resp.status_code == 400
        assert mock.call("GET", "/identities")["deployer"] is None


def test_versions_list_has_attributes_and_no_value(mock: MockServer) -> None:
    for i in range(3):
        mock.set_secret("demo-kv", "many", f"value-{i}", enabled=i != 1)
    url = f"{mock.url}/keyvault/demo-kv/secrets/many/versions"
    headers = {"Authorization": f"Bearer {deployer_token(mock, KV)}"}
    first = requests.get(
        url, params={"api-version": "7.5", "maxresults": "2"}, headers=headers, timeout=10
    )
    body = first.json()
    assert [v["attributes"]["enabled"] for v in body["value"]] == [True, False]
    assert "value" not in body["value"][0]
    assert body["nextLink"].startswith(url)
    rest = requests.get(body["nextLink"], headers=headers, timeout=10).json()
    assert len(rest["value"]) == 1
    assert rest["nextLink"] is None
    assert "value-" not in first.text + str(rest)
    empty = requests.get(
        f"{mock.url}/keyvault/demo-kv/secrets/none/versions",
        params={"api-version": "7.5"},
        headers=headers,
        timeout=10,
    )
    assert empty.json() == {"value": [], "nextLink": None}
    mock.configure_vault("demo-kv", firewall="deny")
    blocked = requests.get(url, params={"api-version": "7.5"}, headers=headers, timeout=10)
    assert blocked.json()["error"]["innererror"]["code"] == "ForbiddenByFirewall"
    assert mock.count("keyvault_versions") == 4
    assert mock.count("keyvault") == 0


def test_env_as_deployer(
    mock: MockServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = tmp_path / "env"
    write_record(env_file, mock.url, mock_env(mock.url, mock.state.msi_secret, mock.workspace))
    assert main(["env", "--env-file", str(env_file), "--as", "deployer"]) == 0
    out = capsys.readouterr().out
    assert f"export SECRETINJ_CLIENT_ID={DEFAULT_DEPLOYER_CLIENT_ID}" in out
    assert main(["env", "--url", mock.url, "--as", "deployer"]) == 0
    assert DEFAULT_DEPLOYER_CLIENT_ID in capsys.readouterr().out
    assert main(["env", "--url", mock.url, "--as", "nobody"]) == 2
    assert "knows no such identity" in capsys.readouterr().err
    assert "SECRETINJ_CLIENT_ID" not in mock_env(mock.url, "s", mock.workspace)
    unused = KV_ARM  # the vault api-version is exercised in test_mock_arm_read
    assert unused
