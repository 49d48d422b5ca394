"""``secretinj lint``: offline checks of deployment YAML files (exact ``file:line: level:``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from secretinj_runtime import deployment_yaml, lint
from secretinj_runtime.cli import main
from tests.cli.clihelp import DATA, MODULE, ROOT, base_env

VERSION = "0123456789abcdef0123456789abcdef"


def run_lint(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    code = main(["lint", *args])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def data(name: str) -> str:
    return str(DATA / name)


def prefixes(lines: list[str]) -> list[str]:
    """``file:line: level: VARIABLE`` of each finding line (the summary line dropped)."""
    return [": ".join(line.split(": ", 3)[:3]) for line in lines[:-1]]


def test_valid_deployment_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, err = run_lint(capsys, data("valid.yml"))

    assert code == 0
    assert lines == ["1 file, 5 references: 0 errors, 0 warnings"]
    assert err == ""


def test_versionless_keyvault_is_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    path = data("versionless.yml")
    code, lines, _ = run_lint(capsys, path)

    assert code == 0  # warnings alone pass
    assert lines == [
        f"{path}:4: warning: DB_PASSWORD: no secret version: the platform documents only the "
        "versioned form '.../secrets/<name>/<version>'; the runtime fetches the latest version",
        "1 file, 2 references: 0 errors, 1 warning",
    ]


def test_embedded_reference_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    path = data("embedded.yml")
    code, lines, _ = run_lint(capsys, path)

    assert code == 1
    message = (
        "a reference must be the whole value: there is text before '${{' (the platform "
        "resolves only a value that is exactly one '${{...}}')"
    )
    assert lines == [
        f"{path}:3: error: AUTH_HEADER: {message}",
        f"{path}:4: error: DSN: {message}",
        "1 file, 3 references: 2 errors, 0 warnings",
    ]


def test_bad_connection_references(capsys: pytest.CaptureFixture[str]) -> None:
    path = data("bad_connection.yml")
    code, lines, _ = run_lint(capsys, path)

    assert code == 1
    assert prefixes(lines) == [
        f"{path}:3: error: SHORT_NAME",
        f"{path}:4: error: BAD_CHARS",
        f"{path}:5: error: NO_KEY",
        f"{path}:6: error: BAD_PART",
        f"{path}:7: error: UNKNOWN_KIND",
        f"{path}:8: warning: BARE",
    ]
    assert "connection name 'ab' is invalid" in lines[0]
    assert "connection name 'my.conn' is invalid" in lines[1]
    assert "unexpected path '/credentials'" in lines[2]
    assert "unknown reference kind" in lines[4]
    assert "passed on as a literal" in lines[5]
    assert lines[-1] == "1 file, 5 references: 5 errors, 1 warning"


def test_untrusted_vault_hosts(capsys: pytest.CaptureFixture[str]) -> None:
    path = data("untrusted_vault.yml")
    code, lines, _ = run_lint(capsys, path)

    assert code == 1
    assert prefixes(lines) == [
        f"{path}:3: error: LOOKALIKE",
        f"{path}:4: error: OTHER_HOST",
        f"{path}:5: warning: CHINA_VAULT",  # another cloud, and the cloud is not known
        f"{path}:6: error: SHORT_VAULT",
        f"{path}:7: error: BAD_VERSION",
        f"{path}:8: error: BAD_SECRET",
    ]
    assert "'demo-kv.vault.azure.net.evil.example' is not a vault of any Azure cloud" in lines[0]
    assert "refuses to send a token" in lines[1]
    assert "SECRETINJ_CLOUD=AzureChinaCloud" in lines[2]
    assert "'kv' is not a vault name" in lines[3]
    assert "secret version 'v1' is invalid" in lines[4]
    assert "secret name 'db_password' is invalid" in lines[5]


def test_cloud_option_and_secretinj_cloud(capsys: pytest.CaptureFixture[str]) -> None:
    path = data("untrusted_vault.yml")
    code, lines, _ = run_lint(capsys, "--cloud", "AzureChinaCloud", path)
    assert code == 1
    assert f"{path}:5: warning: CHINA_VAULT" not in prefixes(lines)  # now the right cloud
    assert "not a vault of AzureChinaCloud" in lines[0]

    gov = data("gov_cloud.yml")  # the file's SECRETINJ_CLOUD tells the cloud
    code, lines, _ = run_lint(capsys, gov)
    assert code == 1
    assert prefixes(lines) == [f"{gov}:5: error: PUBLIC_SECRET"]
    assert lines[0].endswith(
        "it is not a vault of AzureUSGovernment ('<vault>.vault.usgovcloudapi.net'); no token "
        "is sent to it (it is a vault of AzureCloud)"
    )


def test_nested_mappings_and_documents(capsys: pytest.CaptureFixture[str]) -> None:
    path = data("nested.yml")
    code, lines, _ = run_lint(capsys, path)

    assert code == 1
    assert lines == [
        f"{path}:8: error: GREEN_KEY: connection name 'x' is invalid: 3 to 33 characters, "
        "letters, digits, '_' or '-', starting with a letter or digit",
        f"{path}:11: warning: EMPTY: has no value (null): it is set to an empty string",
        f"{path}:12: error: LIST_VALUE: the value must be a string, number or boolean",
        "1 file, 2 references: 2 errors, 1 warning",
    ]


def test_file_without_environment_variables(capsys: pytest.CaptureFixture[str]) -> None:
    path = data("no_env.yml")
    code, lines, _ = run_lint(capsys, path)

    assert code == 0
    assert lines == [
        f"{path}:1: warning: no environment_variables mapping found",
        "1 file, 0 references: 0 errors, 1 warning",
    ]


def test_malformed_yaml_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    path = data("malformed.yml")
    code, lines, err = run_lint(capsys, path)

    assert code == 2
    assert err == f"secretinj: error: {path}:4: invalid YAML: mapping values are not allowed here\n"
    assert lines == ["1 file, 0 references: 0 errors, 0 warnings, 1 unreadable"]


def test_missing_file_exit_2_but_others_are_linted(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = str(tmp_path / "nope.yml")
    code, lines, err = run_lint(capsys, data("embedded.yml"), missing, data("valid.yml"))

    assert code == 2  # unreadable wins over lint errors
    assert err == f"secretinj: error: {missing}: cannot read: No such file or directory\n"
    assert len(lines) == 3
    assert lines[-1] == "3 files, 8 references: 2 errors, 0 warnings, 1 unreadable"


def test_directory_and_binary_files_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    binary = tmp_path / "binary.yml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    code, _, err = run_lint(capsys, str(tmp_path), str(binary))

    assert code == 2
    assert f"secretinj: error: {tmp_path}: cannot read: " in err
    assert f"secretinj: error: {binary}: cannot read: not UTF-8 text" in err


def test_lint_is_offline_and_light_through_the_entry_point() -> None:
    """A subprocess: relative paths shown as given; no azure-identity, requests or network."""
    probe = (
        "import sys, socket\n"
        "def refuse(*a, **k): raise AssertionError('network')\n"
        "socket.socket.connect = refuse\n"
        "from secretinj_runtime.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "heavy = [m for m in ('azure.identity', 'requests', 'tenacity') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "raise SystemExit(code)\n"
    )
    rel = "tests/cli/data/versionless.yml"
    result = subprocess.run(
        [sys.executable, "-c", probe, "lint", rel, "tests/cli/data/embedded.yml"],
        cwd=ROOT,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[0].startswith(f"{rel}:4: warning: DB_PASSWORD: ")
    assert result.stdout.splitlines()[-1] == "2 files, 5 references: 2 errors, 1 warning"

    module = subprocess.run(
        [*MODULE, "lint", rel],
        cwd=ROOT,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert module.returncode == 0
    assert module.stdout.startswith(f"{rel}:4: warning: DB_PASSWORD: no secret version")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain literal", []),
        ("${{azureml://connections/aoai-conn/credentials/key}}", []),
        (f"  ${{{{keyvault:https://kv1.vault.azure.net/secrets/s/{VERSION}}}}}  ", []),
        ("${{keyvault:https://kv1.vault.azure.net/secrets/s}}", ["warning"]),
        (f"${{{{keyvault:https://kv1.vault.usgovcloudapi.net/secrets/s/{VERSION}}}}}", ["warning"]),
        (f"${{{{keyvault:http://kv1.vault.azure.net/secrets/s/{VERSION}}}}}", ["error"]),
        (f"${{{{keyvault:https://kv1.vault.azure.net:443/secrets/s/{VERSION}}}}}", ["error"]),
        ("x ${{keyvault:https://kv1.vault.azure.net/secrets/s}}", ["error"]),
        ("${{inputs.model}}", ["error"]),
        ("keyvault:https://kv1.vault.azure.net/secrets/s", ["warning"]),
    ],
)
def test_check_value(value: str, expected: list[str]) -> None:
    assert [level for level, _ in lint.check_value(value)] == expected


def test_load_environment_variables_as_the_platform_sets_them(tmp_path: Path) -> None:
    env = deployment_yaml.load_environment_variables(data("valid.yml"))
    assert env["WORKER_COUNT"] == "2"
    assert env["STREAMING"] == "true"
    assert env["TEMPERATURE"] == "0.7"
    assert env["OPENAI_VERSION"].startswith("${{azureml://")

    two = tmp_path / "two.yml"
    two.write_text("a:\n  environment_variables: {X: 1}\nb:\n  environment_variables: {Y: 2}\n")
    with pytest.raises(
        deployment_yaml.YamlFileError, match=r"2 environment_variables mappings \(lines 2, 4\)"
    ):
        deployment_yaml.load_environment_variables(str(two))
    nested = tmp_path / "nested.yml"
    nested.write_text("environment_variables:\n  X: {a: 1}\n")
    with pytest.raises(
        deployment_yaml.YamlFileError, match=r"nested.yml:2: environment_variables must map"
    ):
        deployment_yaml.load_environment_variables(str(nested))
    assert deployment_yaml.load_environment_variables(data("no_env.yml")) == {}


def test_merge_keys(capsys: pytest.CaptureFixture[str]) -> None:
    path = data("merge.yml")
    code, lines, _ = run_lint(capsys, path)

    assert code == 1
    assert prefixes(lines) == [
        f"{path}:10: error: SHORT",
        f"{path}:15: warning: X",  # overriding a merged key is fine, repeating one's own is not
        f"{path}:18: error: '<<' must merge mappings",
    ]
    assert lines[-1] == "1 file, 3 references: 2 errors, 1 warning"


def test_merged_variables_for_run(tmp_path: Path) -> None:
    path = tmp_path / "merge.yml"
    path.write_text(
        "c: &c {A: 1, B: 2}\nd: &d {B: 3}\nenvironment_variables:\n  <<: [*d, *c]\n  A: own\n"
    )
    assert deployment_yaml.load_environment_variables(str(path)) == {"A": "own", "B": "3"}
