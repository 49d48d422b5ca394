"""State file loading and validation: every error names the bad field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from secretinj_runtime.mock.authtypes import StateError
from secretinj_runtime.mock.defaults import (
    AOAI_KEY,
    default_state,
    default_state_dict,
    dump_state_yaml,
    load_state,
    substitute_url,
)
from secretinj_runtime.mock.model import DEFAULT_WORKSPACE, VaultSettings, VersionSpec
from secretinj_runtime.mock.state import credential_value, parse_state


def conn(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "authType": "ApiKey",
        "category": "AzureOpenAI",
        "target": "https://x/",
        "credentials": {"key": "k"},
    }
    base.update(overrides)
    return {"connections": {"aoai": base}}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (conn(authType="Foo"), "connections.aoai.authType: unknown auth type 'Foo'"),
        (conn(credentials={"kye": "v"}), "connections.aoai.credentials.kye: not a credential"),
        (conn(credentials={}), "connections.aoai.credentials.key: required for authType ApiKey"),
        (conn(credentials={"key": 5}), "connections.aoai.credentials.key: must be a string"),
        (conn(credentials=None), "connections.aoai.credentials: required for authType ApiKey"),
        (conn(category=""), "connections.aoai.category: must be a non-empty string"),
        (conn(metadata={"v": 2024}), "connections.aoai.metadata.v: must be a string"),
        (conn(colour="blue"), "connections.aoai.colour: unknown field"),
        (conn(authType="AAD", credentials={"key": "x"}), "connections.aoai.credentials: authType"),
        (
            conn(authType="CustomKeys", credentials={"keys": {}}),
            "connections.aoai.credentials.keys: must be a non-empty mapping",
        ),
        ({"connections": {"a!": {}}}, "connections.a!: invalid connection name"),
        ({"workspace": "/subscriptions/x"}, "workspace: expected /subscriptions/"),
        ({"vaults": {"kv": {"s": ["v"]}}}, "vaults.kv: invalid vault name"),
        ({"vaults": {"my-kv": {"s_1": ["v"]}}}, "vaults.my-kv.s_1: invalid secret name"),
        ({"vaults": {"my-kv": {"s": []}}}, "vaults.my-kv.s: must be a version, a non-empty list"),
        ({"vaults": {"my-kv": {"s": [1]}}}, "vaults.my-kv.s[0]: must be a string value or a map"),
        ({"vaults": {"my-kv": {"s": [{"value": 1}]}}}, "vaults.my-kv.s[0].value: must be a str"),
        (
            {"vaults": {"my-kv": {"s": [{"value": "v", "enabled": "no"}]}}},
            "vaults.my-kv.s[0].enabled: must be true or false",
        ),
        (
            {"vaults": {"my-kv": {"s": [{"value": "v", "exp": "soon"}]}}},
            "vaults.my-kv.s[0].exp: must be epoch seconds or an ISO 8601 time",
        ),
        (
            {"vaults": {"my-kv": {"s": [{"value": "v", "tag": 1}]}}},
            "vaults.my-kv.s[0].tag: unknown",
        ),
        (
            {"vaults": {"my-kv": {"s": {"versions": ["v"], "deleted": "x"}}}},
            "vaults.my-kv.s.deleted: must be true or false",
        ),
        ({"vaults": {"my-kv": {}, "MY-KV": {}}}, "vaults.MY-KV: duplicate vault"),
        ({"vault_settings": {"no-kv": {}}}, "vault_settings.no-kv: unknown vault"),
        (
            {"vaults": {"my-kv": {}}, "vault_settings": {"my-kv": {"firewall": "off"}}},
            "vault_settings.my-kv.firewall: must be 'allow' or 'deny'",
        ),
        (
            {"vaults": {"my-kv": {}}, "vault_settings": {"my-kv": {"rbac_authorization": 1}}},
            "vault_settings.my-kv.rbac_authorization: must be true or false",
        ),
        ({"api_versions": {"graph": ["1.0"]}}, "api_versions.graph: unknown api"),
        ({"api_versions": {"ml": []}}, "api_versions.ml: must be a non-empty list"),
        ({"api_versions": {"keyvault": [7.5]}}, "api_versions.keyvault[0]: must be a non-empty"),
        (
            {"identities": {"user_assigned": [{"client_id": "c1", "colour": 1}]}},
            "identities.user_assigned[0].colour: unknown field",
        ),
        (
            {"identities": {"user_assigned": ["c1", "C1"]}},
            "identities.user_assigned[1]: duplicate client id 'c1'",
        ),
        ({"access": {"vaults": {"other": False}}}, "access.vaults.other: unknown vault"),
        ({"access": {"workspace": ["bob"]}}, "access.workspace: unknown identity 'bob'"),
        ({"access": {"workspace": "yes"}}, "access.workspace: must be true, false or a list"),
        ({"identities": {"system": "yes"}}, "identities.system: must be true or false"),
        ({"identities": {"user": []}}, "identities.user: unknown field"),
        ({"throttle": {"capacity": 0}}, "throttle.capacity: must be an integer >= 1"),
        ({"throttle": {"refill_per_s": -1}}, "throttle.refill_per_s: must be a number > 0"),
        ({"throttle": {"burst": 1}}, "throttle.burst: unknown field"),
        ({"downstream": {"connection": "nope"}}, "downstream.connection: unknown connection"),
        (
            {**conn(), "downstream": {"connection": "aoai", "credential": "pat"}},
            "downstream.credential: connection 'aoai' has no credential 'pat'",
        ),
        ({"colour": 1}, "colour: unknown top-level field"),
        ([1, 2], "state: must be a mapping"),
    ],
)
def test_invalid_state_names_the_field(doc: Any, message: str) -> None:
    with pytest.raises(StateError) as err:
        parse_state(doc)
    assert str(err.value).startswith(message), str(err.value)


def test_default_state_matches_the_demo() -> None:
    spec = default_state()
    assert spec.workspace == DEFAULT_WORKSPACE
    assert spec.identities == ("system",)
    aoai = spec.connections["aoai-conn"]
    assert (aoai.auth_type, aoai.category, aoai.target) == (
        "ApiKey",
        "AzureOpenAI",
        "{mock_url}/openai",
    )
    assert aoai.metadata == {
        "ApiType": "azure",
        "ApiVersion": "2024-02-01",
        "DeploymentName": "gpt-demo",
    }
    multi = spec.connections["multi-conn"]
    assert multi.auth_type == "CustomKeys"
    assert credential_value(multi, "OPENAI_API_KEY")
    assert credential_value(multi, "OTHER_KEY")
    assert multi.metadata["OPENAI_API_VERSION"]
    assert len(spec.vaults["demo-kv"]["db-password"]) == 2
    assert spec.downstream is not None
    assert spec.downstream.connection == "aoai-conn"
    assert credential_value(aoai, "key") == AOAI_KEY


def test_yaml_dump_round_trips() -> None:
    assert parse_state(yaml.safe_load(dump_state_yaml())) == default_state()
    spec = default_state()
    assert parse_state(yaml.safe_load(dump_state_yaml(spec))) == spec
    assert parse_state(spec.to_dict()) == spec


def test_load_json_and_yaml_files(tmp_path: Path) -> None:
    doc = default_state_dict()
    doc["identities"] = {"system": False, "user_assigned": ["ABC-123"]}
    doc["endpoints"] = {
        "e-1": {"identity": "user_assigned", "user_assigned_identities": ["abc-123"]}
    }
    doc["access"] = {"workspace": ["abc-123"], "vaults": {"demo-kv": False}}
    doc["throttle"] = None
    json_file = tmp_path / "state.json"
    json_file.write_text(json.dumps(doc))
    yaml_file = tmp_path / "state.yaml"
    yaml_file.write_text(yaml.safe_dump(doc))
    for path in (json_file, yaml_file):
        spec = load_state(path)
        assert spec.identities == ("abc-123",)
        assert spec.workspace_access == ("abc-123",)
        assert spec.vault_access == {"demo-kv": False}
        assert spec.throttle is None
    assert load_state(str(yaml_file)) == load_state(json_file)


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("connections: [unclosed")
    with pytest.raises(StateError, match=r"bad\.yaml: not valid YAML"):
        load_state(bad)
    with pytest.raises(StateError, match="cannot read state file"):
        load_state(tmp_path / "missing.yaml")


def test_unquoted_yaml_date_gets_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "connections:\n  c-1:\n    authType: None\n    category: X\n    target: t\n"
        "    metadata: {ApiVersion: 2024-02-01}\n"
    )
    with pytest.raises(StateError, match=r"connections.c-1.metadata.ApiVersion: .*quote it"):
        load_state(path)


def test_minimal_state_defaults() -> None:
    spec = parse_state({})
    assert spec.workspace == DEFAULT_WORKSPACE
    assert spec.connections == {}
    assert spec.downstream is None
    assert spec.throttle is not None
    assert spec.throttle.capacity == 200
    single = parse_state({"vaults": {"my-kv": {"s": "only"}}})
    assert single.vaults["my-kv"]["s"] == [VersionSpec("only")]
    assert single.vault_settings == {}
    assert single.api_versions == {}


def test_url_placeholder() -> None:
    assert substitute_url("{mock_url}/openai", "http://h:1/") == "http://h:1/openai"
    assert substitute_url("{mock_url}", None) == "{mock_url}"


RICH_STATE: dict[str, Any] = {
    "identities": {
        "system": True,
        "user_assigned": ["c1", {"client_id": "C2", "name": "my-uai", "resource_group": "id-rg"}],
    },
    "vaults": {
        "my-kv": {
            "plain": ["old", ""],
            "rich": [
                {"value": "v1", "enabled": False},
                {"value": "v2", "exp": "2030-01-01T00:00:00Z", "nbf": 1700000000},
                {"value": "v3", "content_type": "text/plain"},
            ],
            "gone": {"versions": ["x"], "deleted": True},
        }
    },
    "vault_settings": {"my-kv": {"firewall": "deny", "rbac_authorization": False}},
    "api_versions": {"ml": ["2024-10-01"], "keyvault": ["7.5"]},
}


def test_rich_state_parses_and_round_trips(tmp_path: Path) -> None:
    spec = parse_state(RICH_STATE)
    assert spec.user_assigned == ("c1", "c2")
    assert spec.uai_details["c2"].name == "my-uai"
    secrets = spec.vaults["my-kv"]
    assert secrets["plain"] == [VersionSpec("old"), VersionSpec("")]  # "" is a value
    assert secrets["rich"][0] == VersionSpec("v1", enabled=False)
    assert secrets["rich"][1].exp == 1893456000
    assert secrets["rich"][1].nbf == 1700000000
    assert secrets["rich"][2].content_type == "text/plain"
    assert spec.deleted_secrets == frozenset({("my-kv", "gone")})
    assert spec.vault_settings["my-kv"] == VaultSettings("deny", False, None)
    assert spec.api_versions == {"ml": ("2024-10-01",), "keyvault": ("7.5",)}
    assert parse_state(spec.to_dict()) == spec
    path = tmp_path / "rich.yaml"
    path.write_text(yaml.safe_dump(spec.to_dict()))
    assert load_state(path) == spec


def test_unquoted_yaml_timestamps_are_read(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("vaults:\n  my-kv:\n    s:\n      - {value: v, exp: 2030-01-01T00:00:00Z}\n")
    assert load_state(path).vaults["my-kv"]["s"][0].exp == 1893456000
