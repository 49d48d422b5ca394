"""The pytest fixture and ``run_mock`` helpers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests
import yaml

from secretinj_runtime.mock.clock import ManualClock
from secretinj_runtime.mock.defaults import dump_state_yaml
from secretinj_runtime.mock.testing import MockServer, mock_env, run_mock
from tests.mock.mockhelp import get_token, list_secrets


def test_fixture_env_and_apply_env(azure_mock: MockServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", "http://elsewhere")
    azure_mock.apply_env(monkeypatch)
    assert "IDENTITY_ENDPOINT" not in os.environ
    assert azure_mock.env == mock_env(azure_mock.url, "mock-msi-secret", azure_mock.workspace)
    for name, value in azure_mock.env.items():
        assert os.environ[name] == value
    assert list_secrets(azure_mock, "aoai-conn", get_token(azure_mock)).status_code == 200
    assert azure_mock.count("listsecrets", "aoai-conn") == 1


def test_run_mock_with_state_file_clock_and_no_throttle(tmp_path: Path) -> None:
    path = tmp_path / "state.yaml"
    path.write_text(dump_state_yaml())
    clock = ManualClock(1_700_000_000.0)
    with run_mock(path, clock=clock, throttle=None, latency_s=0.0) as mock:
        assert mock.call("GET", "/throttle")["enabled"] is False
        assert mock.call("GET", "/clock")["now"] == 1_700_000_000.0
        clock.advance(5)
        assert mock.advance_clock(5) == 1_700_000_010.0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{mock.url}/_mock/health", timeout=2)


def test_pytest_plugin_usage(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["secretinj_runtime.mock.testing"]\n')
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            import requests

            def test_uses_fixture(azure_mock, monkeypatch):
                azure_mock.apply_env(monkeypatch)
                version = azure_mock.set_secret("demo-kv", "extra", "v")
                assert len(version) == 32
                azure_mock.queue_fault("msi", 503)
                resp = requests.get(azure_mock.env["MSI_ENDPOINT"], timeout=10)
                assert resp.status_code == 503
                assert azure_mock.count("msi") == 1
            """
        )
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-W",
            "error",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_state_yaml_is_valid_yaml() -> None:
    assert yaml.safe_load(dump_state_yaml())["connections"]["aoai-conn"]["authType"] == "ApiKey"
