"""The benchmarks' mock (`bench.harness.start_mock`) and the control helpers they use."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests

from bench import harness
from secretinj_runtime.testing import sample as procs

pytestmark = pytest.mark.e2e  # starts the mock as a subprocess

STATE = {
    "connections": {
        "one": {
            "authType": "ApiKey",
            "category": "AzureOpenAI",
            "target": "https://one.openai.azure.com/",
            "credentials": {"key": "k1"},
        }
    },
    "downstream": None,
}


def _token(env: dict[str, str]) -> int:
    response = requests.get(
        env["MSI_ENDPOINT"],
        params={"api-version": "2017-09-01", "resource": "https://management.azure.com"},
        headers={"secret": env["MSI_SECRET"]},
        timeout=10,
    )
    return response.status_code


def test_mock_env_control_helpers_and_stop(tmp_path: Path) -> None:
    mock = harness.start_mock(tmp_path, state=STATE, throttle=(3, 1.0))
    with mock:
        env = harness.mock_env(mock)
        assert env["MSI_SECRET"] == harness.MSI_SECRET
        assert env["SECRETINJ_ARM_ENDPOINT"] == mock.url
        assert env["SECRETINJ_WORKSPACE_ID"].startswith("/subscriptions/")
        assert mock.control("GET", "/throttle")["enabled"] is True
        assert _token(env) == 200
        assert mock.count("msi") == 1
        assert mock.counters()["routes"]["msi"] == 1
        assert [e["status"] for e in mock.request_log("msi")] == [200]
        assert mock.request_log("listsecrets") == []
        mock.configure_throttle(None, None)
        assert mock.control("GET", "/throttle")["enabled"] is False
        mock.reset()
        assert mock.count("msi") == 0
    assert mock.finished()
    assert (tmp_path / "mock.log").exists()
    assert (tmp_path / "mock-state.json").exists()


def test_patched_environ_hides_identity_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MSI_ENDPOINT", "http://elsewhere/")
    monkeypatch.setenv("AOAI_API_KEY", "from-the-shell")
    with harness.patched_environ({"MSI_ENDPOINT": "http://mock/"}):
        assert os.environ["MSI_ENDPOINT"] == "http://mock/"
        assert "AOAI_API_KEY" not in os.environ
        assert set(os.environ) <= set(procs.child_environ()) | {"MSI_ENDPOINT"}
    assert os.environ["MSI_ENDPOINT"] == "http://elsewhere/"
    assert os.environ["AOAI_API_KEY"] == "from-the-shell"
