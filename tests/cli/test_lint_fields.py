"""``secretinj lint``: the value that wins, names the environment refuses, other fields."""

from __future__ import annotations

from pathlib import Path

import pytest

from secretinj_runtime import deployment_yaml, lint
from secretinj_runtime.cli import main

VERSION = "0123456789abcdef0123456789abcdef"
GOOD_KEY = "${{azureml://connections/aoai-conn/credentials/key}}"
GOOD_SECRET = f"${{{{keyvault:https://demo-kv.vault.azure.net/secrets/db-password/{VERSION}}}}}"


def run_lint(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, list[str]]:
    code = main(["lint", str(path)])
    out, err = capsys.readouterr()
    assert err == ""
    return code, out.splitlines()


def test_only_the_winning_value_is_linted(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "override.yml"
    path.write_text(
        "common: &common\n"
        "  AOAI_API_KEY: ${{azureml://connections/ab/credentials/key}}\n"  # bad name 'ab'
        "  DB_PASSWORD: ${{keyvault:https://demo-kv.vault.azure.net/secrets/db/v1}}\n"
        "  SHARED: ${{azureml://connections/aoai-conn/target}}\n"
        "environment_variables:\n"
        "  <<: *common\n"
        f"  AOAI_API_KEY: {GOOD_KEY}\n"
        f"  DB_PASSWORD: {GOOD_SECRET}\n"
    )

    code, lines = run_lint(capsys, path)

    assert code == 0  # run resolves the mapping's own values: the merged ones never count
    assert lines == ["1 file, 3 references: 0 errors, 0 warnings"]
    assert deployment_yaml.load_environment_variables(str(path))["DB_PASSWORD"] == GOOD_SECRET


def test_a_merged_value_that_wins_is_reported_where_it_is_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "shared.yml"
    path.write_text(
        "common: &common\n"
        "  SHORT: ${{azureml://connections/ab/target}}\n"
        "  FIRST: ${{azureml://connections/aoai-conn/target}}\n"
        "later: &later\n"
        "  FIRST: ${{azureml://connections/x/target}}\n"
        "blue:\n"
        "  environment_variables:\n"
        "    <<: [*common, *later]\n"  # the first mapping listed wins: FIRST is fine
        "green:\n"
        "  environment_variables:\n"
        "    <<: *common\n"
    )

    code, lines = run_lint(capsys, path)

    assert code == 1
    assert lines == [  # one finding for the shared line, not one per mapping that merges it
        f"{path}:2: error: SHORT: connection name 'ab' is invalid: 3 to 33 characters, "
        "letters, digits, '_' or '-', starting with a letter or digit",
        "1 file, 4 references: 1 error, 0 warnings",
    ]


def test_own_duplicates_warn_and_only_the_last_is_checked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "twice.yml"
    path.write_text(
        "environment_variables:\n"
        "  KEY: ${{azureml://connections/ab/target}}\n"
        f"  KEY: {GOOD_KEY}\n"
    )

    code, lines = run_lint(capsys, path)

    assert code == 0
    assert lines == [
        f"{path}:3: warning: KEY: defined again (first at line 2): the last value wins",
        "1 file, 1 reference: 0 errors, 1 warning",
    ]


def test_names_and_values_the_environment_cannot_hold_are_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "names.yml"
    path.write_text(
        "environment_variables:\n"
        "  FEATURE=ON: yes\n"
        '  "": empty\n'
        '  "A\\0B": nul in the name\n'
        '  NUL_VALUE: "hunter2\\0tail"\n'
        "  lower.case-name: fine but not portable\n"
    )

    code, lines = run_lint(capsys, path)

    assert code == 1
    assert lines == [
        f"{path}:2: error: variable name 'FEATURE...' holds '=': the environment cannot hold it",
        f"{path}:3: error: an empty variable name: the environment cannot hold it",
        f"{path}:4: error: variable name 'A...' holds a NUL character: the environment cannot "
        "hold it",
        f"{path}:5: error: NUL_VALUE: the value holds a NUL character: the environment cannot "
        "hold it",
        f"{path}:6: warning: lower.case-name: not a portable environment variable name "
        "([A-Za-z_][A-Za-z0-9_]*)",
        "1 file, 0 references: 4 errors, 1 warning",
    ]
    assert "hunter2" not in "\n".join(lines)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("OK", "value", None),
        ("", "x", "an empty variable name"),
        ("K=V", "x", "variable name 'K...' holds '='"),
        ("=x", "x", "variable name '...' holds '='"),
        ("A\0B", "x", "variable name 'A...' holds a NUL character"),
        ("OK", "a\0b", "OK: the value holds a NUL character"),
    ],
)
def test_environ_problem(name: str, value: str, problem: str | None) -> None:
    found = lint.environ_problem(name, value)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(problem)
        assert found.endswith(": the environment cannot hold it")


def test_references_in_fields_the_platform_does_not_resolve_warn(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "fields.yml"
    path.write_text(
        "name: blue\n"
        "model: ${{azureml://connections/aoai-conn/target}}\n"
        "environment:\n"
        "  image: ${{keyvault:https://demo-kv.vault.azure.net/secrets/image}}\n"
        "shared: &shared\n"
        f"  MERGED: {GOOD_KEY}\n"  # part of environment_variables through '<<'
        "steps:\n"
        "  - run: echo ${{azureml://connections/aoai-conn/credentials/key}}\n"
        "  - run: echo ${{parent.inputs.data}}\n"  # a pipeline expression, not a secret
        "environment_variables:\n"
        "  <<: *shared\n"
        f"  OWN: {GOOD_KEY}\n"
    )

    code, lines = run_lint(capsys, path)

    assert code == 0  # warnings only
    tail = (
        "a secret reference outside environment_variables stays a literal: the platform "
        "resolves references only in environment_variables values"
    )
    assert lines == [
        f"{path}:2: warning: model: {tail}",
        f"{path}:4: warning: environment.image: {tail}",
        f"{path}:8: warning: steps[0].run: {tail}",
        "1 file, 2 references: 0 errors, 3 warnings",
    ]
