"""The command as a user runs it: JSON shape, table, exit codes, and no secret read."""

from __future__ import annotations

from pathlib import Path

import pytest

from secretinj_runtime.cli import main
from secretinj_runtime.mock.testing import MockServer
from tests.cli.clihelp import secret_values
from tests.preflight.conftest import Runner, deployment_yaml, write

OK_ROUTES = {"msi", "arm", "keyvault_versions"}


def test_all_good_json_shape_and_exit_0(preflight: Runner) -> None:
    result = preflight()
    assert result.code == 0, result.json
    assert set(result.json) == {"ok", "checks"}
    assert result.json["ok"] is True
    for check in result.json["checks"]:
        assert set(check) == {"check", "subject", "status", "detail", "fix"}
        assert check["status"] in {"PASS", "FAIL", "WARN", "UNKNOWN"}
        assert isinstance(check["detail"], str)
        assert check["detail"]
    kinds = {c["check"] for c in result.json["checks"]}
    assert kinds >= {
        "reference",
        "workspace",
        "connection",
        "reference-fit",
        "deployer-permission",
        "endpoint",
        "endpoint-connections",
        "vault",
        "vault-access",
        "secret",
    }
    assert result.status("reference-fit", "OTHER_API_KEY") == "UNKNOWN"  # CustomKeys


def test_never_reads_a_secret_value(preflight: Runner, demo_mock: MockServer) -> None:
    result = preflight()
    preflight(json_out=False)
    routes = {e["route"] for e in demo_mock.requests()}
    assert routes <= OK_ROUTES, routes  # no listsecrets, no Key Vault secret GET
    assert demo_mock.count("listsecrets") == 0
    assert demo_mock.count("keyvault") == 0
    assert all(e["method"] == "GET" for e in demo_mock.requests())
    for value in secret_values(demo_mock):
        assert value not in result.out
        assert value not in result.err


def test_check_keys_lists_secrets_but_prints_no_value(
    preflight: Runner, demo_mock: MockServer
) -> None:
    result = preflight("--check-keys")
    assert result.code == 0
    assert result.status("reference-fit", "OTHER_API_KEY") == "PASS"
    note = result.one("check-keys")
    assert "made 2 ListSecrets call(s)" in note["detail"]
    assert "writes" in note["detail"]
    assert demo_mock.count("listsecrets") == 2
    assert demo_mock.count("keyvault") == 0
    for value in secret_values(demo_mock):
        assert value not in result.out + result.err


def test_table_output(preflight: Runner) -> None:
    result = preflight(json_out=False)
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].split() == ["STATUS", "CHECK", "SUBJECT", "DETAIL"]
    assert ["PASS", "deployer-permission", "deployer"] in [line.split()[:3] for line in lines]
    assert "secretinj preflight:" in result.err
    assert "no check failed" in result.err


def test_a_fail_exits_1_and_prints_the_fix_under_it(
    preflight: Runner, demo_mock: MockServer
) -> None:
    demo_mock.delete_connection("multi-conn")
    result = preflight(json_out=False)
    assert result.code == 1
    lines = result.out.splitlines()
    row = next(
        i for i, line in enumerate(lines) if line.startswith("FAIL") and "multi-conn" in line
    )
    assert lines[row + 1].strip().startswith("fix: create connection 'multi-conn'")
    assert "secret injection would fail" in result.err


def test_unreadable_input_exits_2(
    preflight: Runner, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path, "bad.yml", "environment_variables: [unclosed\n")
    result = preflight(deployment=bad)
    assert result.code == 2
    assert result.json["ok"] is False
    assert result.one("input")["status"] == "FAIL"
    assert "bad.yml" in result.one("input")["detail"]
    missing = preflight(deployment=tmp_path / "nope.yml", json_out=False)
    assert missing.code == 2
    assert "nope.yml" in missing.out
    assert main(["preflight"]) == 2  # usage: DEPLOYMENT_YML is required
    assert "DEPLOYMENT_YML" in capsys.readouterr().err


def test_malformed_workspace_argument_exits_2(preflight: Runner) -> None:
    result = preflight("--workspace", "/subscriptions/x")
    assert result.code == 2
    assert "--workspace" in result.one("input")["detail"]


def test_unknown_workspace_exits_2(
    preflight: Runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SECRETINJ_WORKSPACE_ID", raising=False)
    dep = deployment_yaml(tmp_path, {"K": "${{azureml://connections/aoai-conn/credentials/key}}"})
    result = preflight(deployment=dep, env={"SECRETINJ_WORKSPACE_ID": ""})
    assert result.code == 2
    check = result.one("workspace")
    assert check["status"] == "FAIL"
    assert "--workspace" in check["fix"]
    assert result.status("reference", "K") == "PASS"  # offline checks still ran


def test_no_credential_exits_2(preflight: Runner, demo_mock: MockServer) -> None:
    result = preflight(as_="00000000-dead-beef-0000-000000000000")  # no such identity
    assert result.code == 2
    check = result.one("credential")
    assert check["status"] == "FAIL"
    assert "az login" in check["fix"]
    assert "secretinj-mock env --as deployer" in check["fix"]
    assert demo_mock.count("arm") == 0


def test_workspace_from_the_deployment_variables(
    preflight: Runner, demo_mock: MockServer, tmp_path: Path
) -> None:
    dep = deployment_yaml(
        tmp_path,
        {
            "SECRETINJ_WORKSPACE_ID": demo_mock.workspace,
            "K": "${{azureml://connections/aoai-conn/credentials/key}}",
        },
        endpoint="secretinj-demo",
    )
    result = preflight(deployment=dep, endpoint=None, env={"SECRETINJ_WORKSPACE_ID": ""})
    assert result.code == 0, result.json
    assert "the deployment's variables" in result.one("workspace")["detail"]


def test_help_lists_every_check_and_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preflight", "--help"]) == 0
    out = capsys.readouterr().out
    for word in ("--endpoint", "--workspace", "--json", "--check-keys", "deployer-permission"):
        assert word in out
    assert "2    usage or configuration error" in out
