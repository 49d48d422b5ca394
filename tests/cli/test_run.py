"""``secretinj run``: resolve once, exec the command with the values in its environment."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from secretinj_runtime._dotenv import EnvFileError, parse_env_file
from secretinj_runtime.mock.defaults import AOAI_KEY, DB_PASSWORD_VERSIONS, OPENAI_API_KEY
from secretinj_runtime.mock.testing import MockServer
from tests.cli.clihelp import DATA, REFERENCES, Cli

#: The child prints the length of each variable (never a value) and any reference left.
LENGTHS = (
    "import json, os, sys\n"
    "names = sys.argv[1:]\n"
    "print(json.dumps({'lengths': {n: len(os.environ[n]) for n in names if n in os.environ},\n"
    "                  'left': sorted(n for n, v in os.environ.items() if '${{' in v)}))\n"
)
#: The child prints the named variables' values (for non-secret literals only).
VALUES = "import json, os, sys; print(json.dumps({n: os.environ.get(n) for n in sys.argv[1:]}))"
EXPECTED_LENGTHS = {
    "AOAI_API_KEY": len(AOAI_KEY),
    "AOAI_API_VERSION": len("2024-02-01"),
    "OPENAI_API_KEY": len(OPENAI_API_KEY),
    "DB_PASSWORD": len(DB_PASSWORD_VERSIONS[-1]),
}


def test_child_sees_resolved_values(cli: Cli, azure_mock: MockServer) -> None:
    result = cli("run", "--", "python", "-c", LENGTHS, *REFERENCES, env=cli.env(REFERENCES))

    assert result.returncode == 0, result.stderr
    child = json.loads(result.stdout)
    assert child == {"lengths": EXPECTED_LENGTHS, "left": []}
    assert re.fullmatch(r"secretinj: 4 variables: 4 RESOLVED in \d+ ms\n", result.stderr)
    assert azure_mock.count("listsecrets") == 2  # one per connection
    assert azure_mock.count("keyvault") == 1


def test_deployment_variables_as_the_platform_injects_them(
    cli: Cli, azure_mock: MockServer
) -> None:
    deployment = str(DATA / "deployment_mock.yml")
    names = [*REFERENCES, "AOAI_ENDPOINT"]

    lengths = cli("run", "--deployment", deployment, "--", "python", "-c", LENGTHS, *names)
    literals = cli(
        "run",
        "--deployment",
        deployment,
        "--",
        "python",
        "-c",
        VALUES,
        "SCORE_GREETING",
        "SCORE_MAX_TOKENS",
        "SCORE_STREAM",
    )

    assert lengths.returncode == 0, lengths.stderr
    child = json.loads(lengths.stdout)
    assert child["left"] == []
    assert child["lengths"] == {**EXPECTED_LENGTHS, "AOAI_ENDPOINT": len(azure_mock.url) + 7}
    assert "5 RESOLVED" in lengths.stderr
    assert json.loads(literals.stdout) == {
        "SCORE_GREETING": "hello",
        "SCORE_MAX_TOKENS": "256",
        "SCORE_STREAM": "false",
    }


def test_precedence_deployment_env_file_process(cli: Cli, tmp_path: Path) -> None:
    deployment = tmp_path / "deployment.yml"
    deployment.write_text("environment_variables:\n  A: dep\n  B: dep\n  C: dep\n")
    env_file = tmp_path / "app.env"
    env_file.write_text(
        "# comment\n"
        "\n"
        "export B=file\n"
        'C="file"\n'
        "D = ' spaced # kept '\n"
        'E="line\\nbreak" # comment\n'
        "F=unquoted value # comment\n"
        "G=\n"
    )
    env = cli.env({"C": "proc"})

    result = cli(
        "run",
        "--deployment",
        str(deployment),
        "--env-file",
        str(env_file),
        "--",
        "python",
        "-c",
        VALUES,
        *"ABCDEFG",
        env=env,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "A": "dep",
        "B": "file",
        "C": "proc",
        "D": " spaced # kept ",
        "E": "line\nbreak",
        "F": "unquoted value",
        "G": "",
    }
    assert result.stderr == "secretinj: no variable holds a reference: nothing to resolve\n"


def test_references_in_the_env_file_are_resolved(cli: Cli, tmp_path: Path) -> None:
    env_file = tmp_path / "app.env"
    env_file.write_text(
        f"AOAI_API_KEY={REFERENCES['AOAI_API_KEY']}\n"
        f"export DB_PASSWORD='{REFERENCES['DB_PASSWORD']}'\n"
    )

    result = cli(
        "run",
        "--env-file",
        str(env_file),
        "--",
        "python",
        "-c",
        LENGTHS,
        "AOAI_API_KEY",
        "DB_PASSWORD",
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["lengths"] == {
        "AOAI_API_KEY": EXPECTED_LENGTHS["AOAI_API_KEY"],
        "DB_PASSWORD": EXPECTED_LENGTHS["DB_PASSWORD"],
    }


def test_failure_exits_1_without_running_the_command(
    cli: Cli, azure_mock: MockServer, tmp_path: Path
) -> None:
    azure_mock.revoke()
    marker = tmp_path / "ran"
    touch = f"import pathlib; pathlib.Path({str(marker)!r}).touch(); print('RAN')"

    result = cli("run", "--", "python", "-c", touch, env=cli.env(REFERENCES))

    assert result.returncode == 1
    assert result.stdout == ""
    assert not marker.exists()
    assert "VARIABLE" in result.stderr
    assert "ACCESS_DENIED" in result.stderr
    assert "Azure Machine Learning Workspace Connection Secrets Reader" in result.stderr
    assert result.stderr.rstrip().endswith(
        "secretinj: error: 3 of 4 secret variables did not resolve; python not started"
    )


def test_command_not_found_127_and_not_executable_126_before_any_fetch(
    cli: Cli, azure_mock: MockServer, tmp_path: Path
) -> None:
    missing = cli("run", "--", "secretinj-no-such-command", "--flag", env=cli.env(REFERENCES))
    assert missing.returncode == 127
    assert missing.stderr == "secretinj: error: secretinj-no-such-command: command not found\n"

    script = tmp_path / "not-executable.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    denied = cli("run", "--", str(script), env=cli.env(REFERENCES))
    assert denied.returncode == 126
    assert denied.stderr == f"secretinj: error: {script}: cannot run: Permission denied\n"

    directory = cli("run", "--", str(tmp_path), env=cli.env(REFERENCES))
    assert directory.returncode == 126
    assert directory.stderr == f"secretinj: error: {tmp_path}: cannot run: it is a directory\n"
    assert azure_mock.requests() == []  # no token, no ListSecrets (an ARM write), no vault


def test_the_command_is_looked_up_on_the_childs_path(cli: Cli, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "only-here").write_text('#!/bin/sh\necho "ran with $# args"\n')
    (bin_dir / "only-here").chmod(0o755)
    (bin_dir / "not-runnable").write_text("#!/bin/sh\n")
    env = cli.env({"PATH": f"{bin_dir}:{cli.env()['PATH']}"})

    found = cli("run", "--", "only-here", "a", "b", env=env)
    assert (found.returncode, found.stdout) == (0, "ran with 2 args\n")
    denied = cli("run", "--", "not-runnable", env=env)
    assert denied.returncode == 126
    assert denied.stderr == "secretinj: error: not-runnable: cannot run: Permission denied\n"


def test_exit_code_and_arguments_pass_through(cli: Cli) -> None:
    code = "import sys; print(sys.argv[1:]); raise SystemExit(3)"

    result = cli("run", "--", "python", "-c", code, "--deployment", "x", "--", "-v")

    assert result.returncode == 3
    assert result.stdout == "['--deployment', 'x', '--', '-v']\n"


def test_bad_input_files_exit_2_without_quoting_a_value(cli: Cli, tmp_path: Path) -> None:
    env_file = tmp_path / "bad.env"
    env_file.write_text("OK=1\nthis line holds hunter2-secret-value\n")
    bad = cli("run", "--env-file", str(env_file), "--", "python", "-c", "print('RAN')")
    assert bad.returncode == 2
    assert bad.stderr == f"secretinj: error: {env_file}:2: expected KEY=VALUE\n"
    assert "hunter2" not in bad.stderr

    env_file.write_text("KEY='unterminated hunter2\n")
    unterminated = cli("run", "--env-file", str(env_file), "--", "python", "-V")
    assert unterminated.returncode == 2
    assert "1: unterminated quote" in unterminated.stderr
    assert "hunter2" not in unterminated.stderr

    missing = cli("run", "--deployment", str(tmp_path / "nope.yml"), "--", "python", "-V")
    assert missing.returncode == 2
    assert "nope.yml: cannot read: No such file or directory" in missing.stderr

    malformed = cli("run", "--deployment", str(DATA / "malformed.yml"), "--", "python", "-V")
    assert malformed.returncode == 2
    assert "malformed.yml:4: invalid YAML" in malformed.stderr
    for result in (bad, unterminated, missing, malformed):
        assert result.stdout == ""


def test_parse_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / "x.env"
    env_file.write_text(
        "A=${{azureml://connections/aoai-conn/target}}\n"
        "export  B = 'single \\n kept'  # note\n"
        'C="a \\"quoted\\" \\\\ value"\n'
        "D=has#hash\n"
        "lower.case-name=ok\n"
    )
    assert parse_env_file(str(env_file)) == {
        "A": "${{azureml://connections/aoai-conn/target}}",
        "B": "single \\n kept",
        "C": 'a "quoted" \\ value',
        "D": "has#hash",
        "lower.case-name": "ok",
    }
    env_file.write_text("B='a'b\n")
    with pytest.raises(EnvFileError, match=r"x.env:1: unexpected text after the closing quote"):
        parse_env_file(str(env_file))
