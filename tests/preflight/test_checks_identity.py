"""Checks 3 and 4 against the mock: the deployer's permission, the endpoint's identity."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from secretinj_runtime.mock.testing import MockServer, run_mock
from secretinj_runtime.mock.tokens import object_id
from tests.preflight.conftest import (
    DEPLOYMENT,
    Runner,
    endpoint_yaml,
    make_runner,
    state,
)

UAI = "0a11ce00-0000-4000-8000-0000000000u1"
WS_ROLE = "Azure Machine Learning Workspace Connection Secrets Reader"


def drop_deployer_role(mock: MockServer, role: str) -> None:
    for a in mock.call("GET", "/role-assignments"):
        if a["origin"] == "state" and a["role"] == role:
            mock.call("DELETE", f"/role-assignments/{a['id']}")


def assign(
    mock: MockServer, principal: str, role: str, scope: str = "workspace", **extra: Any
) -> None:
    mock.call(
        "POST", "/role-assignments", {"principal": principal, "role": role, "scope": scope, **extra}
    )


def test_deployer_without_the_action_fails_then_the_fix_passes(
    preflight: Runner, demo_mock: MockServer
) -> None:
    drop_deployer_role(demo_mock, "AzureML Data Scientist")  # Reader at the group stays
    result = preflight()
    check = result.one("deployer-permission")
    assert check["status"] == "FAIL"
    assert "creating the endpoint and the deployment fails" in check["detail"]
    assert check["fix"] == (
        'az role assignment create --assignee-object-id "$(az ad signed-in-user show --query '
        'id -o tsv)" --assignee-principal-type User --role '
        f"'{WS_ROLE}' --scope {demo_mock.workspace}"
    )
    assert result.code == 1
    assign(demo_mock, "deployer", WS_ROLE)  # the fix, applied through the mock
    again = preflight()
    assert again.status("deployer-permission") == "PASS"
    assert again.code == 0


def test_not_needed_without_the_flag(
    preflight: Runner, demo_mock: MockServer, tmp_path: Path
) -> None:
    drop_deployer_role(demo_mock, "AzureML Data Scientist")
    result = preflight(endpoint=endpoint_yaml(tmp_path, name="new-ep", flag=None))
    check = result.one("deployer-permission")
    assert check["status"] == "PASS"
    assert "not needed" in check["detail"]


def test_permissions_api_403_is_unknown(
    preflight: Runner, demo_mock: MockServer, tmp_path: Path
) -> None:
    drop_deployer_role(demo_mock, "Reader")  # no Microsoft.Authorization/permissions/read
    result = preflight(endpoint=endpoint_yaml(tmp_path, name="new-ep"))
    check = result.one("deployer-permission")
    assert check["status"] == "UNKNOWN"
    assert "Microsoft.Authorization/permissions/read" in check["detail"]
    assert "AuthorizationFailed" in check["detail"]
    # the auto-grant depends on that permission: unknown as well, never a crash
    assert result.status("endpoint-connections") == "UNKNOWN"


def test_new_system_identity_with_the_flag(
    preflight: Runner, demo_mock: MockServer, tmp_path: Path
) -> None:
    endpoint = endpoint_yaml(tmp_path, name="new-ep")
    ok = preflight(endpoint=endpoint)
    granted = ok.one("endpoint-connections", "system-assigned identity")
    assert granted["status"] == "PASS"
    assert "automatically when the endpoint is created" in granted["detail"]
    assert "the endpoint YAML; the endpoint does not exist yet" in ok.one("endpoint")["detail"]
    drop_deployer_role(demo_mock, "AzureML Data Scientist")
    no = preflight(endpoint=endpoint)
    assert no.status("endpoint-connections") == "FAIL"
    assert "signed-in-user" in no.one("endpoint-connections")["fix"]


def test_new_system_identity_without_the_flag_warns_with_the_command(
    preflight: Runner, tmp_path: Path, demo_mock: MockServer
) -> None:
    result = preflight(endpoint=endpoint_yaml(tmp_path, name="new-ep", flag="disabled"))
    check = result.one("endpoint-connections")
    assert check["status"] == "WARN"
    assert "not granted automatically" in check["detail"]
    assert (
        '--assignee-object-id "$(az ml online-endpoint show --name new-ep --resource-group '
        'demo-rg --workspace-name demo-ws --query identity.principal_id -o tsv)"'
    ) in check["fix"]
    assert check["fix"].endswith(f"--scope {demo_mock.workspace}")
    assert result.code == 0


def test_existing_system_identity_without_the_role(
    preflight: Runner, demo_mock: MockServer
) -> None:
    demo_mock.revoke("system")
    result = preflight()
    check = result.one("endpoint-connections")
    assert check["status"] == "FAIL"
    principal = object_id("system")
    assert f"principal {principal}: no role grants" in check["detail"]
    assert (
        f"--assignee-object-id {principal} --assignee-principal-type ServicePrincipal"
        in check["fix"]
    )
    # a custom role with only one of the two actions is not enough
    demo_mock.call(
        "PUT",
        "/roles/half-reader",
        {
            "actions": [
                "Microsoft.MachineLearningServices/workspaces/connections/listsecrets/action"
            ]
        },
    )
    assign(demo_mock, "system", "half-reader")
    half = preflight().one("endpoint-connections")
    assert half["status"] == "FAIL"
    assert "metadata/secrets/read" in half["detail"]
    assign(demo_mock, "system", "AzureML Data Scientist", "resource_group", age_s=3600)
    assert preflight().status("endpoint-connections") == "PASS"


def test_recent_assignment_warns(preflight: Runner, demo_mock: MockServer) -> None:
    demo_mock.revoke("system")
    assign(demo_mock, "system", WS_ROLE, age_s=120)
    check = preflight().one("endpoint-connections")
    assert check["status"] == "WARN"
    assert "assigned 2 min ago" in check["detail"]
    assert "wait" in check["fix"]


@pytest.fixture
def uai_mock() -> Iterator[MockServer]:
    doc = state(
        identities={
            "system": True,
            "user_assigned": [{"client_id": UAI, "name": "scorer-uai"}],
        },
        access={"workspace": ["system"], "vaults": {"demo-kv": ["system"]}},
    )
    with run_mock(doc) as mock:
        yield mock


def uai_endpoint(tmp_path: Path, mock: MockServer, flag: str | None = None, uai: str = UAI) -> Path:
    resource = mock.state.uai_resource_id(uai)
    identity = f"type: user_assigned\n  user_assigned_identities:\n    - resource_id: {resource}"
    return endpoint_yaml(tmp_path, name="uai-ep", identity=identity, flag=flag)


def test_user_assigned_identity_without_the_role(
    uai_mock: MockServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    run = make_runner(uai_mock, monkeypatch, capsys)
    result = run(endpoint=uai_endpoint(tmp_path, uai_mock))
    assert result.status("endpoint") == "PASS"
    check = result.one("endpoint-connections", "user-assigned identity scorer-uai")
    assert check["status"] == "FAIL"
    principal = object_id(UAI)
    assert check["fix"] == (
        f"az role assignment create --assignee-object-id {principal} --assignee-principal-type "
        f"ServicePrincipal --role '{WS_ROLE}' --scope {uai_mock.workspace}"
    )
    vault = result.one("vault-access", "user-assigned identity scorer-uai")
    assert vault["status"] == "FAIL"
    assert "'Key Vault Secrets User'" in vault["fix"]
    assert result.code == 1
    uai_mock.grant(UAI)  # just now: it may not have propagated yet
    uai_mock.grant(UAI, vault="demo-kv")
    fresh = run(endpoint=uai_endpoint(tmp_path, uai_mock))
    assert fresh.status("endpoint-connections") == "WARN"
    assert "assigned 0 min ago" in fresh.one("endpoint-connections")["detail"]
    assert fresh.status("vault-access") == "WARN"
    assert fresh.code == 0
    assign(uai_mock, UAI, WS_ROLE, age_s=3600)  # held for an hour through another assignment
    later = run(endpoint=uai_endpoint(tmp_path, uai_mock))
    assert later.status("endpoint-connections") == "PASS"


def test_user_assigned_identity_with_the_flag_is_refused(
    uai_mock: MockServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    result = make_runner(uai_mock, monkeypatch, capsys)(
        endpoint=uai_endpoint(tmp_path, uai_mock, flag="enabled")
    )
    check = result.one("endpoint")
    assert check["status"] == "FAIL"
    assert "not allowed with a user-assigned identity" in check["detail"]
    assert "remove properties.enforce_access_to_default_secret_stores" in check["fix"]


def test_user_assigned_identity_that_does_not_exist(
    uai_mock: MockServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    ghost = uai_mock.state.uai_resource_id(UAI).replace("scorer-uai", "ghost-uai")
    identity = f"type: user_assigned\n  user_assigned_identities:\n    - resource_id: {ghost}"
    endpoint = endpoint_yaml(tmp_path, name="uai-ep", identity=identity, flag=None)
    result = make_runner(uai_mock, monkeypatch, capsys)(endpoint=endpoint)
    check = result.one("endpoint-identity")
    assert check["status"] == "FAIL"
    assert check["fix"] == "az identity create --name ghost-uai --resource-group demo-rg"
    assert not result.checks("endpoint-connections")


def test_existing_endpoint_wins_over_its_yaml(
    preflight: Runner, demo_mock: MockServer, tmp_path: Path
) -> None:
    # the YAML says user-assigned, ARM says the existing endpoint is system-assigned
    identity = (
        "type: user_assigned\n  user_assigned_identities:\n    - resource_id: /subscriptions/x/y"
    )
    endpoint = endpoint_yaml(tmp_path, name="secretinj-demo", identity=identity, flag=None)
    result = preflight(endpoint=endpoint)
    assert "system_assigned" in result.one("endpoint")["detail"]
    assert "(from the existing endpoint)" in result.one("endpoint")["detail"]


def test_no_endpoint_yaml_and_no_endpoint(preflight: Runner, tmp_path: Path) -> None:
    dep = tmp_path / "d.yml"
    dep.write_text(
        DEPLOYMENT.read_text().replace("endpoint_name: secretinj-demo", "endpoint_name: gone")
    )
    result = preflight(deployment=dep, endpoint=None)
    check = result.one("endpoint")
    assert check["status"] == "UNKNOWN"
    assert "--endpoint" in check["detail"]


def test_role_assignments_unreadable_is_unknown(preflight: Runner, demo_mock: MockServer) -> None:
    drop_deployer_role(demo_mock, "Reader")
    demo_mock.call(
        "PUT",
        "/roles/perm-reader",
        {"actions": ["*/read"], "not_actions": ["Microsoft.Authorization/roleAssignments/read"]},
    )
    assign(demo_mock, "deployer", "perm-reader", "resource_group")
    result = preflight()
    check = result.one("endpoint-connections")
    assert check["status"] == "UNKNOWN"
    assert "roleAssignments/read" in check["detail"]
    assert result.status("deployer-permission") == "PASS"
