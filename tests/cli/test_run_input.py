"""``secretinj run``: bad input found before any fetch, closed streams, what the child is told."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from secretinj_runtime.mock.testing import MockServer
from tests.cli.clihelp import MODULE, REFERENCES, ROOT, Cli, assert_no_secret

#: The child prints SECRETINJ_RESOLVED (names only, never a value).
SHOW_RESOLVED = "import os; print(os.environ.get('SECRETINJ_RESOLVED', '<unset>'))"


def test_names_and_values_the_environment_refuses_exit_2_before_any_fetch(
    cli: Cli, azure_mock: MockServer, tmp_path: Path
) -> None:
    deployment = tmp_path / "deployment.yml"
    deployment.write_text(
        "environment_variables:\n"
        f"  AOAI_API_KEY: {REFERENCES['AOAI_API_KEY']}\n"
        "  FEATURE=ON: yes\n"
        '  "": empty\n'
        '  WITH_NUL: "hunter2\\0tail"\n'
    )
    env_file = tmp_path / "app.env"
    env_file.write_text("OK=1\nFILE_NUL=hunter2\0tail\n")

    result = cli(
        "run",
        "--deployment",
        str(deployment),
        "--env-file",
        str(env_file),
        "--",
        "python",
        "-c",
        "print('RAN')",
        env=cli.env({"DB_PASSWORD": REFERENCES["DB_PASSWORD"]}),
    )

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"secretinj: error: {deployment}:3: variable name 'FEATURE...' holds '=': the "
        "environment cannot hold it",
        f"secretinj: error: {deployment}:4: an empty variable name: the environment cannot hold it",
        f"secretinj: error: {deployment}:5: WITH_NUL: the value holds a NUL character: the "
        "environment cannot hold it",
        f"secretinj: error: {env_file}:2: FILE_NUL: the value holds a NUL character: the "
        "environment cannot hold it",
    ]
    assert "hunter2" not in result.stderr
    assert azure_mock.requests() == []  # nothing was fetched (the old code fetched, then crashed)


def test_a_value_the_process_environment_overrides_is_not_an_error(
    cli: Cli, tmp_path: Path
) -> None:
    env_file = tmp_path / "app.env"
    env_file.write_text("SHADOWED=bad\0value\n")

    result = cli(
        "run", "--env-file", str(env_file), "--", "true", env=cli.env({"SHADOWED": "fine"})
    )

    assert result.returncode == 0, result.stderr


def test_a_resolved_value_with_a_nul_character_is_reported_not_a_crash(
    cli: Cli, azure_mock: MockServer
) -> None:
    azure_mock.set_secret("demo-kv", "with-nul", "before\0after")
    env = cli.env({"NUL_SECRET": "${{keyvault:https://demo-kv.vault.azure.net/secrets/with-nul}}"})

    result = cli("run", "--", "python", "-c", "print('RAN')", env=env)

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "secretinj: error: NUL_SECRET: the resolved value holds a NUL character: the "
        "environment cannot hold it; python not started\n"
    )


def run_with_closed(stream: str, cli: Cli, *command: str) -> subprocess.CompletedProcess[str]:
    """Run ``secretinj run -- COMMAND`` with fd 1 or 2 closed (``>&-`` / ``2>&-``)."""
    close = {"stdout": ">&-", "stderr": "2>&-"}[stream]
    result = subprocess.run(
        ["sh", "-c", f'"$@" {close}', "sh", *MODULE, "run", "--", *command],
        env=cli.env(REFERENCES),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert_no_secret(cli.mock, result.stdout + result.stderr)
    assert "Traceback" not in result.stderr
    return result


def test_a_closed_stdout_or_stderr_does_not_stop_the_command(cli: Cli) -> None:
    no_stdout = run_with_closed("stdout", cli, "sh", "-c", "echo ran >&2")
    assert no_stdout.returncode == 0, no_stdout.stderr
    assert no_stdout.stderr.splitlines()[-1] == "ran"
    assert "4 RESOLVED" in no_stdout.stderr

    no_stderr = run_with_closed("stderr", cli, "sh", "-c", "echo ran")
    assert no_stderr.returncode == 0
    assert no_stderr.stdout == "ran\n"  # secretinj's own lines are dropped, never sent here


def test_a_closed_stderr_keeps_errors_off_stdout(cli: Cli) -> None:
    result = run_with_closed("stderr", cli, "secretinj-no-such-command")
    assert result.returncode == 127
    assert result.stdout == ""


def test_the_child_is_told_which_variables_were_resolved(cli: Cli) -> None:
    env = cli.env({**REFERENCES, "LITERAL": "plain"})

    result = cli("run", "--", "python", "-c", SHOW_RESOLVED, env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().split(",") == list(REFERENCES)  # names of RESOLVED only
    assert "LITERAL" not in result.stdout


def test_no_resolved_variable_no_marker(cli: Cli) -> None:
    stale = cli.env({"LITERAL": "plain", "SECRETINJ_RESOLVED": "GONE,LITERAL"})

    nothing = cli("run", "--", "python", "-c", SHOW_RESOLVED, env=cli.env({"LITERAL": "x"}))
    kept = cli("run", "--", "python", "-c", SHOW_RESOLVED, env=stale)

    assert nothing.stdout == "<unset>\n"
    assert kept.stdout == "LITERAL\n"  # an outer run's name stays while its variable exists


def test_nested_runs_keep_the_outer_names(cli: Cli) -> None:
    """``secretinj run -- secretinj run -- app``: the inner run finds values, not references."""
    env = cli.env({"AOAI_API_KEY": REFERENCES["AOAI_API_KEY"]})
    env_file = ROOT / "tests" / "cli" / "data" / "__init__.py"  # an empty file: no variables

    result = cli(
        "run",
        "--",
        *MODULE,
        "run",
        "--env-file",
        str(env_file),
        "--",
        "python",
        "-c",
        "import json, os; print(json.dumps(os.environ['SECRETINJ_RESOLVED']))",
        env=env,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == "AOAI_API_KEY"
