"""Run `secretinj preflight` in-process against a mock, as the deployer."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from secretinj_runtime.cli import main
from secretinj_runtime.mock.defaults import default_state_dict
from secretinj_runtime.mock.model import DEFAULT_DEPLOYER_CLIENT_ID
from secretinj_runtime.mock.testing import MockServer, run_mock

SAMPLE = Path(__file__).resolve().parents[2] / "sample_score"
DEPLOYMENT = SAMPLE / "deployment.yml"
ENDPOINT = SAMPLE / "endpoint.yml"


class Result:
    """What one preflight run printed, parsed."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code = code
        self.out = out
        self.err = err
        self.json: dict[str, Any] = json.loads(out) if out.startswith("{") else {}

    def checks(self, check: str | None = None, subject: str | None = None) -> list[dict[str, Any]]:
        """The checks, optionally one kind (and subject)."""
        return [
            c
            for c in self.json.get("checks", [])
            if (check is None or c["check"] == check)
            and (subject is None or c["subject"] == subject)
        ]

    def status(self, check: str, subject: str | None = None) -> str:
        """The status of the one check of this kind (and subject)."""
        found = self.checks(check, subject)
        assert len(found) == 1, (check, subject, found)
        return str(found[0]["status"])

    def one(self, check: str, subject: str | None = None) -> dict[str, Any]:
        """The one check of this kind (and subject)."""
        found = self.checks(check, subject)
        assert len(found) == 1, (check, subject, self.json)
        return found[0]


Runner = Callable[..., Result]


def state(**changes: Any) -> dict[str, Any]:
    """The demo state with top-level sections replaced."""
    return {**default_state_dict(), **changes}


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SECRETINJ_CLOUD", "SECRETINJ_WORKSPACE_ID", "AML_DEPLOYMENT_RESOURCE_ID"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AZURE_CLIENT_ID", "UAI_CLIENT_ID", "SECRETINJ_CLIENT_ID", "AZURE_TENANT_ID"):
        monkeypatch.delenv(name, raising=False)
    # never reach the instance metadata address from a credential chain
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9")


@pytest.fixture
def demo_mock() -> Iterator[MockServer]:
    """A mock with the demo state (the deployer may do everything preflight checks)."""
    with run_mock() as server:
        yield server


def make_runner(
    mock: MockServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Runner:
    """Return ``run(*args, deployment=..., endpoint=..., as_=...)`` for this mock."""

    def run(
        *args: str,
        deployment: Path | str = DEPLOYMENT,
        endpoint: Path | str | None = ENDPOINT,
        as_: str | None = DEFAULT_DEPLOYER_CLIENT_ID,
        env: Mapping[str, str] | None = None,
        json_out: bool = True,
    ) -> Result:
        mock.apply_env(monkeypatch)
        if as_ is not None:
            monkeypatch.setenv("SECRETINJ_CLIENT_ID", as_)
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        argv = ["preflight", str(deployment)]
        if endpoint is not None:
            argv += ["--endpoint", str(endpoint)]
        argv += ["--json"] if json_out else []
        code = main([*argv, *args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def preflight(
    demo_mock: MockServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Runner:
    """Run preflight against the demo mock."""
    return make_runner(demo_mock, monkeypatch, capsys)


def write(tmp_path: Path, name: str, text: str) -> Path:
    """Write a file under ``tmp_path`` and return it."""
    path = tmp_path / name
    path.write_text(text)
    return path


def deployment_yaml(tmp_path: Path, variables: Mapping[str, str], endpoint: str = "ep") -> Path:
    """A minimal deployment YAML with these environment_variables."""
    lines = [f"name: blue\nendpoint_name: {endpoint}\nenvironment_variables:"]
    lines += [f"  {k}: '{v}'" for k, v in variables.items()]
    return write(tmp_path, "deployment.yml", "\n".join(lines) + "\n")


def endpoint_yaml(
    tmp_path: Path,
    name: str = "ep",
    identity: str = "type: system_assigned",
    flag: str | None = "enabled",
) -> Path:
    """A minimal endpoint YAML."""
    text = f"name: {name}\nauth_mode: key\nidentity:\n  {identity}\n"
    if flag is not None:
        text += f"properties:\n  enforce_access_to_default_secret_stores: {flag}\n"
    return write(tmp_path, "endpoint.yml", text)
