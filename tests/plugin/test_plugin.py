"""The pytest plugin's registration and what it needs: pytest only to load, extras when used."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

from tests.plugin.runner import run_pytest

PLUGIN = "secretinj_runtime.testing.plugin"
HEAVY = ("fastapi", "uvicorn", "requests", "yaml", "tenacity", "azure.identity")
#: Makes the [mock] extra look uninstalled: importing its packages fails, find_spec says None.
WITHOUT_MOCK = "import sys\nfor name in ('fastapi', 'uvicorn'):\n    sys.modules[name] = None"

USES_THE_MOCK = """
def test_plain():
    assert True


def test_needs_the_mock(azure_mock):
    assert azure_mock.url
"""


def write_tests(directory: Path, text: str) -> Path:
    (directory / "test_user.py").write_text(textwrap.dedent(text))
    return directory


def test_the_entry_point_registers_the_plugin() -> None:
    found = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert found.get("secretinj_runtime") == PLUGIN


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    code = f"import sys, {PLUGIN}\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_without_the_mock_extra_only_the_tests_using_it_fail_and_say_what_to_install(
    tmp_path: Path,
) -> None:
    result = run_pytest(write_tests(tmp_path, USES_THE_MOCK), "-rE", prelude=WITHOUT_MOCK)

    out = result.stdout
    assert "1 passed, 1 error" in out, out + result.stderr
    assert "azure_mock: the mock needs the [mock] extra" in out
    assert "pip install 'secretinj-runtime[mock]'" in out
    assert "(missing: fastapi, uvicorn)" in out


def test_with_the_mock_extra_the_same_tests_pass(tmp_path: Path) -> None:
    result = run_pytest(write_tests(tmp_path, USES_THE_MOCK))
    assert "2 passed" in result.stdout, result.stdout + result.stderr


def test_without_autoload_the_plugin_is_named_with_p(tmp_path: Path) -> None:
    directory = write_tests(tmp_path, USES_THE_MOCK)
    off = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}

    unloaded = run_pytest(directory, env=off)
    named = run_pytest(directory, "-p", "secretinj_runtime", env=off)

    assert "fixture 'azure_mock' not found" in unloaded.stdout, unloaded.stdout
    assert "2 passed" in named.stdout, named.stdout + named.stderr


def test_the_machinery_works_without_pytest() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["pytest"] = None
        import secretinj_runtime.testing as t
        from secretinj_runtime.mock.testing import run_mock
        with run_mock() as mock:
            print(t.parse_exports("export A=1"), "MSI_ENDPOINT" in mock.env, t.ScoringServers)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("{'A': '1'} True <class 'secretinj_runtime.testing.scoring")
