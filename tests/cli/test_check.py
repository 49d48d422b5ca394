"""``secretinj check`` through the real entry point, against the mock."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from secretinj_runtime.mock.testing import MockServer
from tests.cli.clihelp import (
    MODULE,
    REFERENCES,
    ROOT,
    SECRETINJ_SCRIPT,
    Cli,
    base_env,
    table_rows,
)

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


def test_json_shows_each_setting_and_where_it_came_from(cli: Cli) -> None:
    env = cli.env({**REFERENCES, "SECRETINJ_CACHE_TTL_S": "120", "SECRETINJ_CLOUD": "narnia"})

    result = cli("check", "--json", env=env)

    settings = json.loads(result.stdout)["settings"]
    assert settings["cache_ttl_s"] == {"value": 120.0, "source": "SECRETINJ_CACHE_TTL_S"}
    assert settings["max_stale_s"]["source"] == "default"
    assert settings["arm_endpoint"]["source"] == "SECRETINJ_ARM_ENDPOINT"
    assert settings["workspace"]["source"] == "environment (workspace variables)"
    assert "unknown cloud 'narnia'" in settings["problems"]["value"][0]
    assert env["MSI_SECRET"] not in result.stdout, "the identity's secret is not a setting"


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


def test_nothing_to_resolve_says_so_and_how_to_name_variables(cli: Cli) -> None:
    result = cli("check", env=base_env({"LITERAL": "plain"}))

    assert result.returncode == 0  # ready: nothing to resolve
    assert result.stdout == ""  # no empty table
    assert result.stderr == (
        "secretinj: no variable of the environment holds a reference "
        "('${{azureml://connections/...}}' or '${{keyvault:https://...}}'): nothing to "
        "resolve. To check variables by name, literals included: secretinj check --names A,B\n"
    )

    as_json = cli("check", "--json", env=base_env())
    assert as_json.returncode == 0
    assert json.loads(as_json.stdout)["variables"] == {}
    assert as_json.stderr == ""


def test_a_reader_that_goes_away_is_not_a_failure(cli: Cli, azure_mock: MockServer) -> None:
    """``secretinj check | head -1``: the pipe closes; the exit code is still the check's."""
    env = cli.env(REFERENCES)
    for args, code in ((["check"], 0), (["check", "--json"], 0), (["check", "--names", "NOPE"], 1)):
        read, write = os.pipe()
        os.close(read)  # the reader is gone before anything is written
        try:
            process = subprocess.run(
                [*MODULE, *args],
                env=env,
                cwd=ROOT,
                stdout=write,
                stderr=subprocess.PIPE,
                text=True,
                timeout=60,
                check=False,
            )
        finally:
            os.close(write)
        assert process.returncode == code, process.stderr
        assert "Broken pipe" not in process.stderr
        assert "Traceback" not in process.stderr
        assert "Exception ignored" not in process.stderr
    assert azure_mock.count("listsecrets") == 4  # both resolving checks ran to the end


def test_lint_into_a_closed_pipe() -> None:
    read, write = os.pipe()
    os.close(read)
    try:
        process = subprocess.run(
            [*MODULE, "lint", "tests/cli/data/embedded.yml"],
            env=base_env(),
            cwd=ROOT,
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write)
    assert (process.returncode, process.stderr) == (1, "")  # lint's own result: errors found


def test_a_closed_stdout_still_gives_the_exit_code(cli: Cli) -> None:
    result = subprocess.run(
        ["sh", "-c", '"$@" >&-', "sh", *MODULE, "check"],
        env=cli.env(REFERENCES),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"secretinj: 4 variables: 4 RESOLVED in \d+ ms\n", result.stderr)


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
