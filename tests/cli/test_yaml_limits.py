"""Hostile deployment YAML: merge-key chains, huge files, deep nesting. Bounded, and exit 2.

``lint`` and ``run --deployment`` read files from repositories and users: a 600-byte merge
chain used to take minutes and gigabytes, deep nesting crashed with a RecursionError.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from secretinj_runtime import deployment_yaml
from secretinj_runtime.cli import main
from secretinj_runtime.deployment_yaml import (
    MAX_FILE_BYTES,
    MAX_MERGE_DEPTH,
    MAX_MERGED_ENTRIES,
    MAX_NESTING,
    YamlFileError,
)
from tests.cli.clihelp import DATA, MODULE, ROOT, base_env

#: Far more than reading any of these files needs now; the old code took minutes.
QUICK_S = 10.0


def merge_chain(levels: int, fan: int = 9) -> str:
    """``aN: &aN {<<: [*aN-1 x fan]}``: without memoising, fan**levels entries."""
    lines = ['a0: &a0 {K1: v1, K2: "${{azureml://connections/aoai-conn/target}}"}']
    for n in range(1, levels + 1):
        refs = ", ".join([f"*a{n - 1}"] * fan)
        lines.append(f"a{n}: &a{n} {{<<: [{refs}]}}")
    lines += ["environment_variables:", f"  <<: *a{levels}", "  OWN: x"]
    return "\n".join(lines) + "\n"


def lint(capsys: pytest.CaptureFixture[str], *paths: Path) -> tuple[int, list[str], str]:
    code = main(["lint", *map(str, paths)])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_a_merge_chain_is_expanded_once_per_mapping(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "chain.yml"
    path.write_text(merge_chain(12))  # 9**12 entries if each merge were copied out
    assert len(path.read_bytes()) < 1000

    started = time.monotonic()
    code, lines, err = lint(capsys, path)

    assert time.monotonic() - started < QUICK_S
    assert (code, err) == (0, "")
    assert lines == ["1 file, 1 reference: 0 errors, 0 warnings"]
    assert deployment_yaml.load_environment_variables(str(path)) == {
        "K1": "v1",
        "K2": "${{azureml://connections/aoai-conn/target}}",
        "OWN": "x",
    }


def test_too_many_merged_entries_is_invalid_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Distinct keys merged again and again: each copy counts towards the cap."""
    keys = ", ".join(f"K{i}: v" for i in range(1000))
    users = "\n".join(f"m{i}: &m{i} {{<<: *big}}" for i in range(MAX_MERGED_ENTRIES // 1000))
    refs = ", ".join(f"*m{i}" for i in range(MAX_MERGED_ENTRIES // 1000))
    path = tmp_path / "wide.yml"
    path.write_text(f"big: &big {{{keys}}}\n{users}\nenvironment_variables:\n  <<: [{refs}]\n")

    code, lines, err = lint(capsys, path)

    assert code == 2
    found = re.fullmatch(
        rf"secretinj: error: {re.escape(str(path))}:(\d+): merge keys \('<<'\) copy more "
        rf"than {MAX_MERGED_ENTRIES} entries: not a deployment file\n",
        err,
    )
    assert found, err
    assert 2 <= int(found.group(1)) <= 2 + MAX_MERGED_ENTRIES // 1000  # a '<<' of an m<i>
    assert lines == ["1 file, 0 references: 0 errors, 0 warnings, 1 unreadable"]


def test_a_mapping_merged_into_itself_and_long_chains(tmp_path: Path) -> None:
    loop = tmp_path / "loop.yml"
    loop.write_text("environment_variables: &env\n  A: x\n  <<: *env\n")
    with pytest.raises(YamlFileError, match=r"loop.yml:3: '<<' merges a mapping into itself"):
        deployment_yaml.load_environment_variables(str(loop))

    deep = tmp_path / "deep.yml"
    levels = MAX_MERGE_DEPTH + 5
    chain = [f"a{n}: &a{n} {{<<: *a{n - 1}, K{n}: v}}" for n in range(1, levels + 1)]
    deep.write_text("\n".join(["a0: &a0 {K0: v}", *chain, f"environment_variables: *a{levels}"]))
    with pytest.raises(YamlFileError, match=rf"chained deeper than {MAX_MERGE_DEPTH} levels"):
        deployment_yaml.load_environment_variables(str(deep))


def test_a_file_over_the_size_limit_is_refused_before_parsing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    big = tmp_path / "big.yml"
    line = "  VAR: ${{azureml://connections/aoai-conn/credentials/key}}\n"
    count = MAX_FILE_BYTES // len(line) + 10
    big.write_text("environment_variables:\n" + line * count)
    over = MAX_FILE_BYTES // len(line) + 2  # the line holding the first byte over the limit

    started = time.monotonic()
    code, lines, err = lint(capsys, big, DATA / "valid.yml")

    assert time.monotonic() - started < QUICK_S
    assert code == 2
    assert err == f"secretinj: error: {big}:{over}: larger than 2 MiB: not a deployment file\n"
    assert lines[-1] == "2 files, 5 references: 0 errors, 0 warnings, 1 unreadable"


def test_deep_nesting_is_that_files_error_and_the_others_are_linted(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    deep = tmp_path / "deep.yml"
    deep.write_text("x:\n  " + "[" * 2000 + "]" * 2000 + "\n")
    blocks = tmp_path / "blocks.yml"
    blocks.write_text("".join(f"{'  ' * i}k{i}:\n" for i in range(MAX_NESTING + 5)))

    code, lines, err = lint(capsys, deep, DATA / "embedded.yml", blocks, DATA / "valid.yml")

    assert code == 2
    assert err.splitlines() == [
        f"secretinj: error: {deep}:2: invalid YAML: collections nested deeper than "
        f"{MAX_NESTING} levels",
        f"secretinj: error: {blocks}:{MAX_NESTING}: invalid YAML: collections nested deeper "
        f"than {MAX_NESTING} levels",
    ]
    assert len(lines) == 3  # embedded.yml's two errors and the summary
    assert lines[-1] == "4 files, 8 references: 2 errors, 0 warnings, 2 unreadable"


def test_huge_integers_are_passed_as_written(tmp_path: Path) -> None:
    path = tmp_path / "int.yml"
    digits = "7" * 5000  # more digits than Python converts to an int by default
    path.write_text(f"environment_variables:\n  BIG: {digits}\n  HEX: 0x1F\n")
    assert deployment_yaml.load_environment_variables(str(path)) == {"BIG": digits, "HEX": "31"}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("chain.yml", merge_chain(9), None),
        ("deep.yml", "environment_variables: " + "[" * 3000 + "]" * 3000, "nested deeper"),
    ],
)
def test_run_deployment_is_bounded_too(
    tmp_path: Path, name: str, text: str, message: str | None
) -> None:
    path = tmp_path / name
    path.write_text(text)
    code = "import json, os; print(json.dumps(sorted(k for k in os.environ if k[:1] in 'KO')))"

    started = time.monotonic()
    result = subprocess.run(
        [*MODULE, "run", "--deployment", str(path), "--", sys.executable, "-c", code],
        cwd=ROOT,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert time.monotonic() - started < QUICK_S * 2
    assert "Traceback" not in result.stderr
    if message is None:  # the chain resolves (K2 holds a reference, but no workspace is set)
        assert result.returncode == 1, result.stderr
        assert re.search(r"^K2 +WORKSPACE_UNKNOWN", result.stderr, re.MULTILINE)
    else:
        assert result.returncode == 2
        assert f"{path}:1: invalid YAML: collections {message}" in result.stderr
