"""The ten-line test of docs/testing.md, run as a user runs it: pytest in its own process.

The files are read from the page itself, so the page and this test cannot drift apart. The
fixtures come from the installed ``pytest11`` entry point: the inner run has no conftest.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.plugin.runner import run_pytest, running_with

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "testing.md"
#: A fenced Python block whose first line names its file: ``# score.py``.
_FILE_BLOCK = re.compile(r"^```python\n# (\S+\.py)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def example_files() -> dict[str, str]:
    """Return the page's example files: name -> text (the naming comment included)."""
    return {m[1]: f"# {m[1]}\n{m[2]}" for m in _FILE_BLOCK.finditer(PAGE.read_text())}


def fragment(marker: str) -> str:
    """Return the page's one Python block (without a file name) that contains ``marker``."""
    blocks = re.findall(r"^```python\n(.*?)^```$", PAGE.read_text(), re.M | re.S)
    (found,) = [str(b) for b in blocks if marker in b and not b.startswith("# ")]
    return found


def write_example(directory: Path, **replace: str) -> Path:
    for name, text in example_files().items():
        changed = text
        for old, new in replace.items():
            changed = changed.replace(old, new)
        (directory / name).write_text(changed)
    return directory


def test_the_page_shows_a_score_and_a_test_of_about_ten_lines() -> None:
    files = example_files()
    assert set(files) == {"score.py", "test_score.py"}
    code = [line for line in files["test_score.py"].splitlines()[1:] if line.strip()]
    assert len(code) <= 10, code


def test_the_example_passes(tmp_path: Path) -> None:
    project = write_example(tmp_path)

    result = run_pytest(project)

    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^1 passed", result.stdout, re.MULTILINE), result.stdout
    assert running_with(project) == []  # every azmlinfsrv process group stopped


def test_a_failed_init_fails_the_example_with_the_server_log(tmp_path: Path) -> None:
    project = write_example(tmp_path, **{"connections/aoai-conn/": "connections/no-such-conn/"})

    result = run_pytest(project)

    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert re.search(r"^1 failed", out, re.MULTILINE), out
    assert re.search(r"azmlinfsrv exited with code \d+ before it was live", out)
    assert re.search(r"AOAI_API_KEY \(\$\{\{azureml://connections/no-such-conn/.*NOT_FOUND", out)
    assert "azmlinfsrv log azmlinfsrv-0.log" not in out  # the error ends with the log already
    assert running_with(project) == []


def test_a_failed_assertion_shows_the_server_log(tmp_path: Path) -> None:
    project = write_example(tmp_path, **{'"RESOLVED"': '"PRESENT"'})

    result = run_pytest(project)

    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "'RESOLVED'" in out  # the assertion's own message
    assert "azmlinfsrv log azmlinfsrv-0.log (last 40 lines)" in out
    assert "Invoking user's init function" in out
    assert running_with(project) == []


def test_the_page_s_other_fragments_run_on_the_sample(tmp_path: Path) -> None:
    """The rotation test on a copy of the sample, with the conftest that runs the mock apart."""
    for name in ("score.py", "deployment.yml"):
        shutil.copy2(ROOT / "sample_score" / name, tmp_path / name)
    (tmp_path / "test_rotation.py").write_text(fragment("def test_a_rotated_key"))
    (tmp_path / "conftest.py").write_text(fragment("def scoring_server_env"))

    result = run_pytest(tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^1 passed", result.stdout, re.MULTILINE), result.stdout
    assert running_with(tmp_path) == []
