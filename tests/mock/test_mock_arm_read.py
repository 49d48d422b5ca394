"""ARM reads: the control plane preflight asks, with ARM's checks, never a secret value."""

from __future__ import annotations

import pytest
import requests

from secretinj_runtime.mock.defaults import AOAI_KEY, DB_PASSWORD_VERSIONS
from secretinj_runtime.mock.testing import MockServer
from secretinj_runtime.mock.tokens import object_id
from secretinj_runtime.preflight.roles import (
    AZUREML_DATA_SCIENTIST,
    CONNECTION_SECRETS_READER,
    KEYVAULT_SECRETS_OFFICER,
    OWNER,
    READER,
)
from tests.mock.armhelp import (
    AUTHZ,
    KV_ARM,
    ML,
    arm_get,
    deployer_token,
    error_code,
    ok,
)
from tests.mock.mockhelp import get_token

AUTHORIZATION = "/providers/Microsoft.Authorization"


def test_workspace_and_arm_checks_in_order(mock: MockServer) -> None:
    token = deployer_token(mock)
    assert ok(arm_get(mock, mock.workspace, ML, token))["name"] == "demo-ws"
    assert arm_get(mock, mock.workspace, ML, None).status_code == 401
    assert error_code(arm_get(mock, mock.workspace, None, token)) == "MissingApiVersionParameter"
    bad = arm_get(mock, mock.workspace, "2099-01-01", token)
    assert error_code(bad) == "InvalidApiVersionParameter"
    other_sub = mock.workspace.replace("00000000-0000-0000-0000-000000000000", "s2")
    assert error_code(arm_get(mock, other_sub, ML, token)) == "SubscriptionNotFound"
    other_rg = mock.workspace.replace("demo-rg", "nope-rg")
    assert error_code(arm_get(mock, other_rg, ML, token)) == "ResourceGroupNotFound"
    missing = arm_get(mock, mock.workspace + "x", ML, token)
    assert missing.status_code == 404
    assert error_code(missing) == "ResourceNotFound"
    # the endpoint identity holds only its data role: ARM refuses before it looks
    system = get_token(mock)
    for path in (mock.workspace, mock.workspace + "x"):
        denied = arm_get(mock, path, ML, system)
        assert denied.status_code == 403
        assert error_code(denied) == "AuthorizationFailed"
        assert (
            "Microsoft.MachineLearningServices/workspaces/read" in denied.json()["error"]["message"]
        )


def test_connections_never_carry_credentials(mock: MockServer) -> None:
    token = deployer_token(mock)
    one = ok(arm_get(mock, f"{mock.workspace}/connections/aoai-conn", ML, token))
    assert one["properties"]["authType"] == "ApiKey"
    assert one["properties"]["metadata"]["DeploymentName"] == "gpt-demo"
    assert "credentials" not in one["properties"]
    listed = ok(arm_get(mock, f"{mock.workspace}/connections", ML, token))
    assert {c["name"] for c in listed["value"]} == {"aoai-conn", "multi-conn"}
    assert AOAI_KEY not in str(listed) + str(one)
    assert error_code(arm_get(mock, f"{mock.workspace}/connections/nope-conn", ML, token)) == (
        "ResourceNotFound"
    )
    assert mock.count("arm") == 3
    assert mock.count("listsecrets") == 0


def test_permissions_of_the_caller(mock: MockServer) -> None:
    path = f"{mock.workspace}{AUTHORIZATION}/permissions"
    value = ok(arm_get(mock, path, AUTHZ, deployer_token(mock)))["value"]
    roles = {READER, AZUREML_DATA_SCIENTIST}  # the vault's role is not at the workspace
    assert sorted(map(str, value)) == sorted(str(p.to_json()) for r in roles for p in r.permissions)
    assert KEYVAULT_SECRETS_OFFICER.permissions[0].to_json() not in value
    denied = arm_get(mock, path, AUTHZ, get_token(mock))  # no permissions/read
    assert denied.status_code == 403
    assert "Microsoft.Authorization/permissions/read" in denied.json()["error"]["message"]


def test_role_assignments_and_filters(mock: MockServer) -> None:
    token = deployer_token(mock)
    path = f"{mock.workspace}{AUTHORIZATION}/roleAssignments"
    system = object_id("system")
    mine = ok(arm_get(mock, path, AUTHZ, token, **{"$filter": f"principalId eq '{system}'"}))
    [props] = [a["properties"] for a in mine["value"]]
    assert props["roleDefinitionId"].endswith(CONNECTION_SECRETS_READER.id)
    assert props["principalType"] == "ServicePrincipal"
    assert props["scope"] == mock.workspace
    assert props["createdOn"].endswith("Z")
    group = mock.workspace.split("/providers/")[0]
    everyone = ok(arm_get(mock, f"{group}{AUTHORIZATION}/roleAssignments", AUTHZ, token))["value"]
    scopes = {a["properties"]["scope"] for a in everyone}
    assert any(s.endswith("vaults/demo-kv") for s in scopes)  # below the group: listed too
    assert mock.workspace in scopes
    at = ok(arm_get(mock, path, AUTHZ, token, **{"$filter": "atScope()"}))["value"]
    assert all("vaults" not in a["properties"]["scope"] for a in at)
    assert {a["properties"]["principalType"] for a in at} == {"User", "ServicePrincipal"}
    bad = arm_get(mock, path, AUTHZ, token, **{"$filter": "roleName eq 'x'"})
    assert bad.status_code == 400


def test_pending_grant_is_listed_but_not_effective(mock: MockServer) -> None:
    mock.revoke("system")
    mock.grant("system", propagation_delay_s=60)
    listed = mock.call("GET", "/role-assignments")
    pending = [a for a in listed if a["principal"] == "system" and a["scope"] == mock.workspace]
    assert pending[0]["pending_s"] == pytest.approx(60, abs=1)
    path = f"{mock.workspace}{AUTHORIZATION}/roleAssignments"
    found = ok(
        arm_get(
            mock,
            path,
            AUTHZ,
            deployer_token(mock),
            **{"$filter": f"principalId eq '{object_id('system')}'"},
        )
    )
    assert len(found["value"]) == 1


@pytest.mark.parametrize("prefix", ["", "/subscriptions/00000000-0000-0000-0000-000000000000"])
def test_role_definitions(mock: MockServer, prefix: str) -> None:
    token = deployer_token(mock)
    body = ok(arm_get(mock, f"{prefix}{AUTHORIZATION}/roleDefinitions/{OWNER.id}", AUTHZ, token))
    assert body["properties"]["roleName"] == "Owner"
    assert body["properties"]["type"] == "BuiltInRole"
    assert body["properties"]["permissions"] == [
        {"actions": ["*"], "notActions": [], "dataActions": [], "notDataActions": []}
    ]
    missing = arm_get(
        mock,
        f"{prefix}{AUTHORIZATION}/roleDefinitions/{'0' * 8}-0000-0000-0000-{'0' * 12}",
        AUTHZ,
        token,
    )
    assert error_code(missing) == "RoleDefinitionDoesNotExist"


def test_endpoint_identity_and_vault(mock: MockServer) -> None:
    token = deployer_token(mock)
    endpoint = ok(arm_get(mock, f"{mock.workspace}/onlineEndpoints/secretinj-demo", ML, token))
    assert endpoint["identity"] == {
        "type": "SystemAssigned",
        "principalId": object_id("system"),
        "tenantId": mock.state.spec.tenant_id,
    }
    assert endpoint["properties"]["properties"] == {
        "enforce_access_to_default_secret_stores": "enabled"
    }
    assert arm_get(mock, f"{mock.workspace}/onlineEndpoints/nope", ML, token).status_code == 404
    vault_id = mock.state.authz.vault_id("demo-kv")
    vault = ok(arm_get(mock, vault_id, KV_ARM, token))
    assert vault["properties"]["enableRbacAuthorization"] is True
    assert vault["properties"]["networkAcls"]["defaultAction"] == "Allow"
    mock.configure_vault("demo-kv", rbac_authorization=False, firewall="deny")
    vault = ok(arm_get(mock, vault_id, KV_ARM, token))
    assert vault["properties"]["enableRbacAuthorization"] is False
    assert vault["properties"]["networkAcls"]["defaultAction"] == "Deny"
    assert [p["objectId"] for p in vault["properties"]["accessPolicies"]] == [object_id("system")]
    subscription = "/subscriptions/00000000-0000-0000-0000-000000000000"
    listed = ok(arm_get(mock, f"{subscription}/providers/Microsoft.KeyVault/vaults", KV_ARM, token))
    assert [v["name"] for v in listed["value"]] == ["demo-kv"]
    assert (
        ok(
            arm_get(
                mock, f"{subscription}/providers/Microsoft.KeyVault/vaults", KV_ARM, get_token(mock)
            )
        )["value"]
        == []
    )


def test_vault_secret_resource_shows_the_current_version_only(mock: MockServer) -> None:
    vault_id = mock.state.authz.vault_id("demo-kv")
    body = ok(arm_get(mock, f"{vault_id}/secrets/db-password", KV_ARM, deployer_token(mock)))
    props = body["properties"]
    assert props["secretUri"] == "https://demo-kv.vault.azure.net/secrets/db-password"
    assert props["secretUriWithVersion"].startswith(props["secretUri"] + "/")
    assert set(props["attributes"]) == {"enabled", "created", "updated"}
    for value in DB_PASSWORD_VERSIONS:
        assert value not in str(body)
    assert (
        arm_get(mock, f"{vault_id}/secrets/nope", KV_ARM, deployer_token(mock)).status_code == 404
    )


def test_unknown_arm_get_is_404(mock: MockServer) -> None:
    resp = arm_get(mock, f"{mock.workspace}/computes/x", ML, deployer_token(mock))
    assert error_code(resp) == "InvalidResourceType"
    assert requests.get(f"{mock.url}{AUTHORIZATION}/nothing", timeout=10).status_code == 401
