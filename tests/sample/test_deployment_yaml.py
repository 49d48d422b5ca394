"""endpoint.yml and deployment.yml load with azure-ai-ml, offline, and match the mock.

azure-ai-ml is not in the [dev] extra (its OpenTelemetry pins conflict with azmlinfsrv 1.5's):
the tests that load YAML with it skip without it, and ``nox -s yaml`` runs them in an
environment of their own.
"""

from __future__ import annotations

import importlib.util
import json
import re
import socket
import textwrap
import tomllib
import warnings
from pathlib import Path
from typing import Any

import pytest

import secretinj_runtime as sir
from sample_score import score
from secretinj_runtime.mock.defaults import default_state_dict
from secretinj_runtime.mock.store import version_id
from secretinj_runtime.testing import sample as procs

SAMPLE = procs.SAMPLE_DIR
ENVIRONMENT = SAMPLE / "environment"


def _has_azure_ai_ml() -> bool:
    try:
        return importlib.util.find_spec("azure.ai.ml") is not None
    except ModuleNotFoundError:  # no azure.ai namespace at all
        return False


needs_azure_ai_ml = pytest.mark.skipif(
    not _has_azure_ai_ml(), reason="azure-ai-ml is not installed (nox -s yaml runs this)"
)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading the YAML must not touch the network."""

    def refuse(self: socket.socket, address: Any) -> None:
        raise AssertionError(f"network access to {address!r} while loading YAML")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def load(kind: str, path: Path) -> Any:
    with warnings.catch_warnings():  # azure-ai-ml's marshmallow schemas warn on import
        warnings.simplefilter("ignore")
        from azure.ai import ml

        loaders = {
            "endpoint": ml.load_online_endpoint,
            "deployment": ml.load_online_deployment,
            "connection": ml.load_connection,
        }
        return loaders[kind](source=path)


@needs_azure_ai_ml
def test_endpoint_uses_key_auth_and_the_default_secret_stores() -> None:
    endpoint = load("endpoint", SAMPLE / "endpoint.yml")
    assert endpoint.name == "secretinj-demo"
    assert endpoint.auth_mode == "key"
    assert endpoint.properties == {"enforce_access_to_default_secret_stores": "enabled"}
    assert endpoint.identity.type == "system_assigned"


@needs_azure_ai_ml
def test_deployment_fields() -> None:
    deployment = load("deployment", SAMPLE / "deployment.yml")
    assert deployment.endpoint_name == "secretinj-demo"
    assert deployment.code_configuration.code == "."
    assert deployment.code_configuration.scoring_script == "score.py"
    assert (SAMPLE / deployment.code_configuration.scoring_script).is_file()
    build = deployment.environment.build
    assert (SAMPLE / build.path).resolve() == ENVIRONMENT
    assert build.dockerfile_path in (None, "Dockerfile")  # None: the service's default
    assert deployment.instance_type
    assert deployment.instance_count == 1
    assert deployment.environment_variables == procs.deployment_variables()


def test_environment_installs_this_version_of_the_package() -> None:
    """requirements.txt pins the version pyproject.toml builds, so a wheel built here fits."""
    pyproject = tomllib.loads((procs.ROOT / "pyproject.toml").read_text())
    lines = (ENVIRONMENT / "requirements.txt").read_text().splitlines()
    requirements = [line for line in lines if line.strip() and not line.startswith("#")]
    assert requirements == [f"secretinj-runtime=={pyproject['project']['version']}"]


def test_environment_image_is_the_inference_image_plus_the_requirements() -> None:
    dockerfile = (ENVIRONMENT / "Dockerfile").read_text()
    assert re.search(
        r"^ARG BASE_IMAGE=mcr\.microsoft\.com/azureml/minimal-py312-inference:\S+$",
        dockerfile,
        re.MULTILINE,
    )
    assert re.search(r"^FROM \$\{BASE_IMAGE\}$", dockerfile, re.MULTILINE)
    flat = " ".join(dockerfile.replace("\\\n", " ").split())  # continuation lines joined
    context = "/tmp/secretinj-environment"
    assert f"COPY . {context}/ RUN python -m pip install --no-cache-dir" in flat
    assert f"--find-links {context} -r {context}/requirements.txt" in flat


def test_environment_variables_are_the_references_score_needs() -> None:
    variables = procs.deployment_variables()
    assert set(score.REQUIRED) | set(score.OPTIONAL) == set(variables)
    parsed = {name: sir.parse_reference(value) for name, value in variables.items()}
    assert parsed["AOAI_API_KEY"] == sir.parse_reference(
        "${{azureml://connections/aoai-conn/credentials/key}}"
    )
    assert str(parsed["AOAI_ENDPOINT"]) == "${{azureml://connections/aoai-conn/target}}"
    assert str(parsed["AOAI_API_VERSION"]).endswith("/metadata/ApiVersion}}")
    assert str(parsed["OTHER_API_KEY"]).startswith("${{azureml://connections/multi-conn/")
    kv = parsed["DB_PASSWORD"]
    assert isinstance(kv, sir.KeyVaultReference)
    assert kv.version is not None
    assert len(kv.version) == 32


def test_references_exist_in_the_mock_default_state() -> None:
    """The demo resolves deployment.yml as it is: every name and version must exist."""
    state = default_state_dict()
    for value in procs.deployment_variables().values():
        ref = sir.parse_reference(value)
        if isinstance(ref, sir.KeyVaultReference):
            versions = state["vaults"][ref.vault_name][ref.secret]
            assert ref.version in {
                version_id(ref.vault_name, ref.secret, i) for i in range(len(versions))
            }, "the Key Vault version must be one the mock creates"
            continue
        connection = state["connections"][ref.connection]
        if ref.part == "credentials":
            creds = connection["credentials"]
            assert ref.key in creds or ref.key in creds.get("keys", {})
        elif ref.part == "metadata":
            assert ref.key in connection["metadata"]


@needs_azure_ai_ml
def test_the_readme_connection_yaml_loads(tmp_path: Path) -> None:
    readme = (SAMPLE / "README.md").read_text()
    block = next(
        textwrap.dedent(b)
        for b in re.findall(r"```yaml\n(.*?)```", readme, re.DOTALL)
        if "name: aoai-conn" in b
    )
    (tmp_path / "aoai-conn.yml").write_text(block)
    connection = load("connection", tmp_path / "aoai-conn.yml")
    assert connection.name == "aoai-conn"
    assert connection.type == "azure_open_ai"
    assert connection.metadata["ApiVersion"] == "2024-02-01"
    assert connection.metadata["DeploymentName"] == "gpt-demo"


def test_the_readme_custom_keys_body_is_the_listsecrets_shape() -> None:
    readme = (SAMPLE / "README.md").read_text()
    body = json.loads(re.search(r"--body '(.*?)'", readme, re.DOTALL).group(1))  # type: ignore[union-attr]
    props = body["properties"]
    assert props["authType"] == props["category"] == "CustomKeys"
    assert "OTHER_KEY" in props["credentials"]["keys"]
