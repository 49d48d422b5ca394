"""Checks 1 and 2 against the mock: references, workspace, connections, how a reference fits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from secretinj_runtime.mock.testing import MockServer, run_mock
from tests.preflight.conftest import Runner, deployment_yaml, make_runner, state

CONN = "${{azureml://connections/%s}}"


@pytest.fixture
def dep(tmp_path: Path) -> Path:
    return deployment_yaml(
        tmp_path,
        {
            "WHOLE": CONN % "aoai-conn",
            "TARGET": CONN % "aoai-conn/target",
            "KEY": CONN % "aoai-conn/credentials/key",
            "BAD_KEY": CONN % "aoai-conn/credentials/pat",
            "META": CONN % "aoai-conn/metadata/ApiVersion",
            "BAD_META": CONN % "aoai-conn/metadata/Nope",
            "CUSTOM": CONN % "multi-conn/credentials/OTHER_KEY",
            "CUSTOM_BAD": CONN % "multi-conn/credentials/NOPE",
            "MISSING": CONN % "gone-conn/credentials/key",
            "BROKEN": "${{azureml://connections/x/credentials/key}}",
            "EMBEDDED": "prefix ${{azureml://connections/aoai-conn}}",
            "BARE": "azureml://connections/aoai-conn/credentials/key",
            "LITERAL": "plain value",
        },
        endpoint="secretinj-demo",
    )


def test_references(preflight: Runner, dep: Path) -> None:
    result = preflight(deployment=dep, endpoint=None)
    assert result.status("reference", "KEY") == "PASS"
    assert "connection aoai-conn, credentials/key" in result.one("reference", "KEY")["detail"]
    broken = result.one("reference", "BROKEN")
    assert broken["status"] == "FAIL"
    assert "connection name 'x' is invalid" in broken["detail"]
    assert "${{azureml://connections/<name>" in broken["fix"]
    assert result.status("reference", "EMBEDDED") == "FAIL"
    bare = result.one("reference", "BARE")  # passed on as a literal: worth a warning
    assert bare["status"] == "WARN"
    assert bare["fix"].startswith("write the whole value as ${{azureml://")
    assert not result.checks("reference", "LITERAL")
    assert result.code == 1


def test_connections_and_fit(preflight: Runner, dep: Path) -> None:
    result = preflight(deployment=dep, endpoint=None)
    assert result.status("connection", "aoai-conn") == "PASS"
    missing = result.one("connection", "gone-conn")
    assert missing["status"] == "FAIL"
    assert "create connection 'gone-conn'" in missing["fix"]
    assert not result.checks("reference-fit", "MISSING")  # nothing to fit it to
    fits = {c["subject"]: c for c in result.checks("reference-fit")}
    for name in ("WHOLE", "TARGET", "KEY", "META"):
        assert fits[name]["status"] == "PASS", fits[name]
    assert fits["BAD_KEY"]["status"] == "FAIL"
    assert "authType ApiKey has no credential 'pat'" in fits["BAD_KEY"]["detail"]
    assert fits["BAD_KEY"]["fix"] == "use one of ['key']"
    assert fits["BAD_META"]["status"] == "FAIL"
    assert "ApiType, ApiVersion, DeploymentName" in fits["BAD_META"]["fix"]
    assert fits["CUSTOM"]["status"] == "UNKNOWN"
    assert "--check-keys" in fits["CUSTOM"]["detail"]


def test_check_keys_confirms_custom_keys(
    preflight: Runner, dep: Path, demo_mock: MockServer
) -> None:
    result = preflight("--check-keys", deployment=dep, endpoint=None)
    assert result.status("reference-fit", "CUSTOM") == "PASS"
    bad = result.one("reference-fit", "CUSTOM_BAD")
    assert bad["status"] == "FAIL"
    assert "OPENAI_API_KEY, OTHER_KEY" in bad["fix"]  # names only
    assert result.status("reference-fit", "BAD_KEY") == "FAIL"
    assert demo_mock.count("listsecrets") == 2  # aoai-conn and multi-conn, once each
    # a deployer who may not list secrets: UNKNOWN, and the fit falls back to the authType
    for a in demo_mock.call("GET", "/role-assignments"):
        if a["role"] == "AzureML Data Scientist":
            demo_mock.call("DELETE", f"/role-assignments/{a['id']}")
    refused = preflight("--check-keys", deployment=dep, endpoint=None)
    assert refused.status("check-keys", "aoai-conn") == "UNKNOWN"
    assert "ListSecrets failed" in refused.one("check-keys", "aoai-conn")["detail"]
    assert "made 2 ListSecrets call(s)" in refused.one("check-keys", "ListSecrets")["detail"]
    assert demo_mock.count("listsecrets") == 4
    assert refused.status("reference-fit", "KEY") == "PASS"
    assert refused.status("reference-fit", "CUSTOM") == "UNKNOWN"


def test_target_missing_and_no_credentials(
    preflight: Runner, demo_mock: MockServer, tmp_path: Path
) -> None:
    demo_mock.put_connection(
        "aad-conn", {"authType": "AAD", "category": "AzureOpenAI", "target": "https://x"}
    )
    demo_mock.put_connection(
        "up-conn",
        {
            "authType": "UsernamePassword",
            "category": "Generic",
            "target": "https://x",
            "credentials": {"username": "u", "password": "p"},
        },
    )
    dep = deployment_yaml(
        tmp_path,
        {
            "AAD_KEY": CONN % "aad-conn/credentials/key",
            "TOKEN": CONN % "up-conn/credentials/securityToken",
            "USER": CONN % "up-conn/credentials/username",
        },
    )
    result = preflight(deployment=dep, endpoint=None)
    assert result.one("reference-fit", "AAD_KEY")["detail"] == "authType AAD carries no credentials"
    assert result.status("reference-fit", "AAD_KEY") == "FAIL"
    assert result.status("reference-fit", "TOKEN") == "WARN"  # optional for the authType
    assert result.status("reference-fit", "USER") == "PASS"


@pytest.fixture
def expiring_mock() -> Iterator[MockServer]:
    doc = state()
    doc["connections"]["aoai-conn"]["expiryTime"] = "2001-01-01T00:00:00Z"
    with run_mock(doc) as mock:
        yield mock


def test_expired_connection_warns(
    expiring_mock: MockServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = make_runner(expiring_mock, monkeypatch, capsys)()
    expiry = result.one("connection-expiry", "aoai-conn")
    assert expiry["status"] == "WARN"
    assert "expired at 2001-01-01 00:00 UTC" in expiry["detail"]
    assert result.code == 0  # a warning alone passes


def test_workspace_not_found_and_not_readable(
    preflight: Runner, demo_mock: MockServer, tmp_path: Path
) -> None:
    other = demo_mock.workspace.replace("demo-ws", "other-ws")
    result = preflight("--workspace", other, endpoint=None)
    check = result.one("workspace", "other-ws")
    assert check["status"] == "FAIL"
    assert "not found in AzureCloud" in check["detail"]
    assert "az ml workspace show --name other-ws" in check["fix"]
    assert not result.checks("connection")  # nothing more to learn in that workspace
    assert result.code == 1
    # a deployer without any role cannot read it: UNKNOWN, not a crash
    for assignment in demo_mock.call("GET", "/role-assignments"):
        if assignment["origin"] == "state":
            demo_mock.call("DELETE", f"/role-assignments/{assignment['id']}")
    blind = preflight(endpoint=None)
    assert blind.status("workspace") == "UNKNOWN"
    assert "you may not read it" in blind.one("workspace")["detail"]
    assert blind.status("connection", "aoai-conn") == "UNKNOWN"
    assert blind.status("deployer-permission") == "UNKNOWN"
