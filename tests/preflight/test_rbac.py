"""RBAC semantics as PREFLIGHT.md states them: wildcards, notActions, data actions, scopes."""

from __future__ import annotations

import pytest

from secretinj_runtime.preflight.rbac import Permission, action_matches, permits, scope_covers
from secretinj_runtime.preflight.roles import (
    AZUREML_DATA_SCIENTIST,
    BUILTIN_ROLES,
    CONNECTION_SECRETS_READER,
    CONTRIBUTOR,
    GET_SECRET,
    KEYVAULT_SECRETS_OFFICER,
    KEYVAULT_SECRETS_USER,
    LISTSECRETS,
    METADATA_SECRETS_READ,
    OWNER,
    READ_SECRET_METADATA,
    READER,
    ROLE_ASSIGNMENTS_WRITE,
    role_guid,
)

ML = "Microsoft.MachineLearningServices/workspaces"


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("*", LISTSECRETS, True),
        ("*/read", METADATA_SECRETS_READ, True),
        ("*/read", LISTSECRETS, False),
        (f"{ML}/*/action", LISTSECRETS, True),  # * spans several segments
        (f"{ML}/*/read", METADATA_SECRETS_READ, True),
        (
            "Microsoft.Compute/virtualMachines/*",
            "Microsoft.Compute/virtualMachines/extensions/read",
            True,
        ),
        ("Microsoft.Network/*/read", "Microsoft.Network/virtualNetworks/read", True),
        ("Microsoft.Network/*/read", "Microsoft.Network/virtualNetworks/write", False),
        (
            "microsoft.authorization/*/delete",
            "Microsoft.Authorization/roleAssignments/Delete",
            True,
        ),
        (LISTSECRETS, LISTSECRETS.upper(), True),  # case-insensitive
        (LISTSECRETS, LISTSECRETS + "x", False),
        (f"{ML}/connections/listsecrets/action", f"{ML}/connections.listsecrets/action", False),
    ],
)
def test_action_matches(pattern: str, action: str, expected: bool) -> None:
    assert action_matches(pattern, action) is expected


def test_builtin_roles_grant_what_preflight_md_says() -> None:
    both = (LISTSECRETS, METADATA_SECRETS_READ)
    for role in (CONNECTION_SECRETS_READER, AZUREML_DATA_SCIENTIST, CONTRIBUTOR, OWNER):
        assert all(permits(role.permissions, a) for a in both), role.name
    assert permits(READER.permissions, METADATA_SECRETS_READ)
    assert not permits(READER.permissions, LISTSECRETS)
    assert not permits(CONTRIBUTOR.permissions, ROLE_ASSIGNMENTS_WRITE)  # notActions
    assert permits(OWNER.permissions, ROLE_ASSIGNMENTS_WRITE)
    assert not permits(AZUREML_DATA_SCIENTIST.permissions, f"{ML}/write")  # notActions
    assert not permits(AZUREML_DATA_SCIENTIST.permissions, ROLE_ASSIGNMENTS_WRITE)
    for role in (KEYVAULT_SECRETS_USER, KEYVAULT_SECRETS_OFFICER):
        assert permits(role.permissions, GET_SECRET, data=True)
        assert permits(role.permissions, READ_SECRET_METADATA, data=True)
    # `*` in actions grants no data action; data actions grant no control-plane action
    for role in (OWNER, CONTRIBUTOR, AZUREML_DATA_SCIENTIST, CONNECTION_SECRETS_READER):
        assert not permits(role.permissions, GET_SECRET, data=True)
    assert not permits(KEYVAULT_SECRETS_USER.permissions, GET_SECRET)
    assert len({r.id for r in BUILTIN_ROLES}) == len(BUILTIN_ROLES)


def test_not_actions_are_not_a_deny_across_elements() -> None:
    excluded = Permission(actions=("*",), not_actions=(LISTSECRETS,))
    assert not permits([excluded], LISTSECRETS)
    other = Permission(actions=(LISTSECRETS,))
    assert permits([excluded, other], LISTSECRETS)
    data = Permission(
        data_actions=("Microsoft.KeyVault/vaults/secrets/*",), not_data_actions=(GET_SECRET,)
    )
    assert not permits([data], GET_SECRET, data=True)
    assert permits([data], READ_SECRET_METADATA, data=True)


def test_permission_json_round_trip() -> None:
    raw = {"actions": ["a"], "notActions": ["b"], "dataActions": ["c"], "notDataActions": []}
    assert Permission.from_json(raw).to_json() == raw
    assert Permission.from_json({}) == Permission()
    assert Permission.from_json({"actions": "not-a-list"}) == Permission()


@pytest.mark.parametrize(
    ("assigned", "target", "expected"),
    [
        ("/subscriptions/s", "/subscriptions/s/resourceGroups/r", True),
        (
            "/subscriptions/S/resourceGroups/R",
            "/subscriptions/s/resourcegroups/r/providers/x/y/z",
            True,
        ),
        ("/subscriptions/s/resourceGroups/r", "/subscriptions/s/resourceGroups/r2", False),
        ("/subscriptions/s/resourceGroups/r/", "/subscriptions/s/resourceGroups/r", True),
        ("/subscriptions/s/resourceGroups/r/x", "/subscriptions/s/resourceGroups/r", False),
        ("/", "/subscriptions/s", True),
    ],
)
def test_scope_covers(assigned: str, target: str, expected: bool) -> None:
    assert scope_covers(assigned, target) is expected


def test_role_guid() -> None:
    rid = f"/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/{OWNER.id.upper()}"
    assert role_guid(rid) == OWNER.id
    assert role_guid(OWNER.id) == OWNER.id
