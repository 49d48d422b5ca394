"""``secretinj check`` through the real entry point, against the mock."""

from __future__ import annotations

import json
import re

import pytest

from secretinj_runtime.mock.testing import MockServer
from tests.cli.clihelp import REFERENCES, SECRETINJ_SCRIPT, Cli, base_env, table_rows

ROLE = "Azure Machine Learning Workspace Connection Secrets Reader"


def test_table_exit_0_when_everything_resolves(cli: Cli, azure_mock: MockServer) -> None:
    result = cli("check", env=cli.env({**REFERENCES, "LITERAL": "not-a-reference"}))

    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    assert set(rows) == set(REFERENCES)  # literals are not scanned without --names
    for name, reference in REFERENCES.items():
        status, source, ms, ref = rows[name][:4]
        assert status == "RESOLVED"
        assert source == ("keyvault" if name == "DB_PASSWORD" else "connection")
        assert ms.isdigit()
        assert ref == reference
    assert re.fullmatch(r"secretinj: 4 variables: 4 RESOLVED in \d+ ms\n", result.stderr)
    assert azure_mock.count("listsecrets", "aoai-conn") == 1  # two variables, one call
    assert azure_mock.count("listsecrets", "multi-conn") == 1


def test_json_parses(cli: Cli) -> None:
    result = cli("check", "--json", env=cli.env(REFERENCES))

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["counts"] == {"RESOLVED": 4}
    assert set(report["variables"]) == set(REFERENCES)
    for name, reference in REFERENCES.items():
        entry = report["variables"][name]
        assert entry["status"] == "RESOLVED"
        assert entry["reference"] == reference
        assert entry["error"] is None
        assert "value" not in entry
    assert result.stderr == ""


def test_names_literal_present_unset_missing(cli: Cli, azure_mock: MockServer) -> None:
    env = cli.env({**REFERENCES, "LITERAL": "plain"})
    result = cli("check", "--names", "AOAI_API_KEY, LITERAL", "--names", "UNSET_VAR", env=env)

    assert result.returncode == 1  # UNSET_VAR is MISSING
    rows = table_rows(result.stdout)
    assert list(rows) == ["AOAI_API_KEY", "LITERAL", "UNSET_VAR"]
    assert rows["AOAI_API_KEY"][0] == "RESOLVED"
    assert rows["LITERAL"][:2] == ["PRESENT", "injected"]
    assert rows["UNSET_VAR"][0] == "MISSING"
    assert rows["UNSET_VAR"][-2:] == ["not", "set"]
    assert "1 MISSING, 1 PRESENT, 1 RESOLVED" in result.stderr
    assert azure_mock.count("keyvault") == 0  # DB_PASSWORD was not asked for

    ok = cli("check", "--json", "--names", "LITERAL,AOAI_API_KEY", env=env)
    assert ok.returncode == 0
    assert json.loads(ok.stdout)["counts"] == {"PRESENT": 1, "RESOLVED": 1}


def test_revoked_role_exit_1_with_the_role_named(cli: Cli, azure_mock: MockServer) -> None:
    azure_mock.revoke()  # the workspace role: connections fail, the vault still works

    result = cli("check", env=cli.env(REFERENCES))

    assert result.returncode == 1
    rows = table_rows(result.stdout)
    for name in ("AOAI_API_KEY", "AOAI_API_VERSION", "OPENAI_API_KEY"):
        assert rows[name][0] == "ACCESS_DENIED"
    assert rows["DB_PASSWORD"][0] == "RESOLVED"
    assert ROLE in result.stdout
    assert "3 ACCESS_DENIED, 1 RESOLVED" in result.stderr


def test_revoked_vault_role(cli: Cli, azure_mock: MockServer) -> None:
    azure_mock.revoke(vault="demo-kv")

    result = cli("check", "--json", env=cli.env(REFERENCES))

    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    db = report["variables"]["DB_PASSWORD"]
    assert db["status"] == "ACCESS_DENIED"
    assert "Key Vault Secrets User" in db["error"]


def test_unknown_connection_not_found(cli: Cli) -> None:
    env = cli.env({"NOPE": "${{azureml://connections/nope-conn/credentials/key}}"})

    result = cli("check", env=env)

    assert result.returncode == 1
    rows = table_rows(result.stdout)
    assert rows["NOPE"][0] == "NOT_FOUND"
    assert "nope-conn" in result.stdout


def test_invalid_reference_and_unknown_workspace_need_no_mock(cli: Cli) -> None:
    env = base_env(
        {
            "EMBEDDED": "Bearer ${{azureml://connections/aoai-conn/credentials/key}}",
            "AOAI_API_KEY": REFERENCES["AOAI_API_KEY"],
        }
    )

    result = cli("check", env=env)

    assert result.returncode == 1
    rows = table_rows(result.stdout)
    assert rows["EMBEDDED"][0] == "INVALID_SYNTAX"
    assert rows["AOAI_API_KEY"][0] == "WORKSPACE_UNKNOWN"
    assert "must be the whole value" in result.stdout
    assert cli.mock.requests() == []


def test_nothing_to_resolve_is_ready(cli: Cli) -> None:
    result = cli("check", env=base_env())

    assert result.returncode == 0
    assert result.stdout.split() == ["VARIABLE", "STATUS", "SOURCE", "MS", "REFERENCE"]
    assert re.fullmatch(r"secretinj: 0 variables: none in \d+ ms\n", result.stderr)


def test_installed_console_script(cli: Cli) -> None:
    assert SECRETINJ_SCRIPT.exists(), "pip install -e . declares the secretinj script"

    result = cli(
        "check", "--names", "AOAI_API_KEY,DB_PASSWORD", script=True, env=cli.env(REFERENCES)
    )

    assert result.returncode == 0, result.stderr
    assert [r[0] for r in table_rows(result.stdout).values()] == ["RESOLVED", "RESOLVED"]

    version = cli("--version", script=True)
    assert version.returncode == 0
    assert re.fullmatch(r"secretinj \d+\.\d+\.\d+\S*\n", version.stdout)


def test_verbose_logs_without_values(cli: Cli) -> None:
    result = cli("-v", "check", env=cli.env(REFERENCES))

    assert result.returncode == 0
    assert "secretinj: INFO secretinj_runtime" in result.stderr
    assert "4 RESOLVED" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "a command is required"),
        (("bogus",), "invalid choice"),
        (("check", "--bogus"), "unrecognized arguments"),
        (("check", "--names", " , "), "--names needs at least one variable name"),
        (("check", "--names"), "expected one argument"),
        (("lint",), "the following arguments are required"),
        (("lint", "--cloud", "Mars", "x.yml"), "unknown cloud 'Mars'"),
        (("run",), "a command is required after '--'"),
        (("run", "--deployment", "x.yml", "--"), "a command is required after '--'"),
    ],
)
def test_usage_errors_exit_2(cli: Cli, args: tuple[str, ...], message: str) -> None:
    result = cli(*args, env=cli.env(REFERENCES))

    assert result.returncode == 2
    assert "usage: secretinj" in result.stderr
    assert message in result.stderr
    assert result.stdout == ""
    assert cli.mock.requests() == []


def test_help_exit_0(cli: Cli) -> None:
    result = cli("--help")

    assert result.returncode == 0
    for command in ("check", "lint", "run", "exit codes:"):
        assert command in result.stdout
