"""Reading the deployment and endpoint YAML, the workspace, the cloud and the overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from secretinj_runtime.preflight.inputs import (
    InputError,
    enforce_enabled,
    read_endpoint_yaml,
    read_inputs,
)
from tests.preflight.conftest import DEPLOYMENT, ENDPOINT, write

WS = "/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w"
WS2 = WS + "2"


def test_sample_files() -> None:
    inputs = read_inputs(str(DEPLOYMENT), endpoint=str(ENDPOINT), workspace=WS, environ={})
    assert inputs.endpoint_name == "secretinj-demo"
    assert inputs.endpoint is not None
    assert inputs.endpoint.identity == "system_assigned"
    assert enforce_enabled(inputs.endpoint.enforce)
    assert "AOAI_API_KEY" in inputs.variables
    assert inputs.workspace_source == "--workspace"
    assert inputs.cloud.name == "AzureCloud"
    assert inputs.arm_endpoint == "https://management.azure.com"
    assert inputs.keyvault_endpoint is None


def test_workspace_precedence(tmp_path: Path) -> None:
    dep = write(tmp_path, "d.yml", f"environment_variables:\n  SECRETINJ_WORKSPACE_ID: {WS2}\n")
    env = {"SECRETINJ_WORKSPACE_ID": WS}
    assert read_inputs(str(dep), endpoint=None, workspace=None, environ=env).workspace_source == (
        "the environment"
    )
    from_yaml = read_inputs(str(dep), endpoint=None, workspace=None, environ={})
    assert from_yaml.workspace is not None
    assert from_yaml.workspace.name == "w2"
    none = read_inputs(str(DEPLOYMENT), endpoint=None, workspace=None, environ={})
    assert none.workspace is None


@pytest.mark.parametrize(
    ("environ", "argument", "needle"),
    [
        ({}, "/subscriptions/x", "--workspace"),
        ({"SECRETINJ_WORKSPACE_ID": "junk"}, None, "SECRETINJ_WORKSPACE_ID is malformed"),
        ({"SECRETINJ_CLOUD": "Mars"}, WS, "unknown cloud 'Mars'"),
        (
            {"SECRETINJ_ARM_ENDPOINT": "http://example.com"},
            WS,
            "SECRETINJ_ARM_ENDPOINT must use https",
        ),
        ({"SECRETINJ_KEYVAULT_ENDPOINT": "ftp://x"}, WS, "SECRETINJ_KEYVAULT_ENDPOINT"),
    ],
)
def test_bad_settings_are_input_errors(
    environ: dict[str, str], argument: str | None, needle: str
) -> None:
    with pytest.raises(InputError, match=needle):
        read_inputs(str(DEPLOYMENT), endpoint=None, workspace=argument, environ=environ)


def test_cloud_from_the_deployment(tmp_path: Path) -> None:
    dep = write(tmp_path, "d.yml", "environment_variables:\n  SECRETINJ_CLOUD: AzureChinaCloud\n")
    inputs = read_inputs(str(dep), endpoint=None, workspace=WS, environ={})
    assert inputs.cloud.name == "AzureChinaCloud"
    assert inputs.arm_endpoint == "https://management.chinacloudapi.cn"


@pytest.mark.parametrize(
    ("text", "identity", "uais", "flag"),
    [
        ("name: e\n", "system_assigned", (), None),  # the CLI's default identity
        (
            "name: e\nidentity: {type: user_assigned,\n"
            "  user_assigned_identities: [{resource_id: /subscriptions/s/u}]}\n",
            "user_assigned",
            ("/subscriptions/s/u",),
            None,
        ),
        (
            "name: e\nidentity: {type: user_assigned,\n"
            "  user_assigned_identities: /subscriptions/s/u}\n",
            "user_assigned",
            ("/subscriptions/s/u",),
            None,
        ),  # the docs' single-string form
        (
            "name: e\nproperties: {enforce_access_to_default_secret_stores: disabled}\n",
            "system_assigned",
            (),
            "disabled",
        ),
    ],
)
def test_endpoint_yaml_forms(
    tmp_path: Path, text: str, identity: str, uais: tuple[str, ...], flag: str | None
) -> None:
    spec = read_endpoint_yaml(str(write(tmp_path, "e.yml", text)))
    assert (spec.name, spec.identity, spec.user_assigned, spec.enforce) == (
        "e",
        identity,
        uais,
        flag,
    )


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("- a list\n", "not an endpoint YAML"),
        ("identity: {type: both}\n", "identity.type 'both'"),
        (
            "identity: {type: user_assigned, user_assigned_identities: [{client_id: x}]}\n",
            "resource_id",
        ),
        ("identity: [1]\n", "identity must be a mapping"),
        ("name: [unclosed\n", "e.yml:2: invalid YAML"),
    ],
)
def test_endpoint_yaml_errors(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(InputError, match=needle.replace("[", r"\[")):
        read_endpoint_yaml(str(write(tmp_path, "e.yml", text)))


def test_enforce_values() -> None:
    assert enforce_enabled("enabled")
    assert enforce_enabled("True")  # seen in user code; tolerated
    assert not enforce_enabled("disabled")
    assert not enforce_enabled(None)
