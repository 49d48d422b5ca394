"""noxfile.py: interpreters from PATH or pyenv, a missing one fails its session, one truth."""

from __future__ import annotations

import importlib.util
import os
import stat
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


@pytest.fixture(scope="module")
def noxfile() -> ModuleType:
    pytest.importorskip("nox", reason="nox comes with the [lint] extra")
    spec = importlib.util.spec_from_file_location("noxfile_under_test", ROOT / "noxfile.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_python(path: Path, *, prints: str = "", exit_code: int = 0) -> None:
    """Write an executable that answers the version probe like an interpreter (or a shim)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho '{prints}'\nexit {exit_code}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def fake_pyenv(root: Path, *releases: str) -> Path:
    for release in releases:
        minor = release.rsplit(".", 1)[0]
        fake_python(root / "versions" / release / "bin" / f"python{minor}", prints=minor)
    return root


def test_the_running_python_is_found(noxfile: Any) -> None:
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    found = noxfile.find_python(version)
    assert found is not None
    assert noxfile._reports_version(found, version)


def test_a_shim_that_does_not_run_is_passed_over_for_pyenv(
    noxfile: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pyenv's shim for a version that is installed but not selected exits 127.
    fake_python(tmp_path / "shims" / "python3.97", prints="pyenv: not found", exit_code=127)
    monkeypatch.setenv("PATH", f"{tmp_path / 'shims'}{os.pathsep}{os.environ['PATH']}")
    root = fake_pyenv(tmp_path / "pyenv", "3.97.1", "3.97.10", "3.97.9")
    found = noxfile.find_python("3.97", root=root)
    assert found == str(root / "versions" / "3.97.10" / "bin" / "python3.97")  # newest patch


def test_a_missing_python_is_none_with_a_message_saying_where(noxfile: Any, tmp_path: Path) -> None:
    root = fake_pyenv(tmp_path / "pyenv", "3.97.1")
    assert noxfile.find_python("3.98", root=root) is None
    message = noxfile.missing_python_message("3.98", root)
    assert str(root / "versions") in message
    assert "pyenv install 3.98" in message
    assert "python3.98 on PATH" in message


def test_pyenv_root_follows_the_environment(
    noxfile: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    assert noxfile.pyenv_root() == tmp_path


class RecordingSession:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, message: str) -> None:
        self.errors.append(message)
        raise RuntimeError(message)


def test_a_session_on_a_missing_python_fails_rather_than_skips(
    noxfile: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nox

    monkeypatch.setenv("PYENV_ROOT", str(fake_pyenv(tmp_path / "pyenv", "3.97.1")))

    def body(session: Any) -> None:
        """Never runs."""

    noxfile.python_session("probe-3.99", "3.99")(body)
    registered = nox.registry.get()["probe-3.99"]
    assert registered.venv_backend == "none"  # nothing to create: the body reports
    session = RecordingSession()
    with pytest.raises(RuntimeError, match=r"Python 3\.99 not found"):
        registered(session)
    assert "pyenv install 3.99" in session.errors[0]


def test_sessions_follow_pyproject(noxfile: Any) -> None:
    """The classifiers are the tested Pythons; requires-python starts at the oldest."""
    assert noxfile.PYTHONS == ("3.11", "3.12", "3.13")
    assert PYPROJECT["project"]["requires-python"] == f">={noxfile.OLDEST_PYTHON}"
    import nox

    sessions: dict[str, Callable[..., Any]] = dict(nox.registry.get())
    for name in (*(f"tests-{v}" for v in noxfile.PYTHONS), "e2e-azmlinfsrv", "yaml"):
        assert name in sessions
    for name in ("lowest", "lint", "wheel"):
        assert name in sessions


def test_the_azmlinfsrv_range_comes_from_the_server_extra(noxfile: Any) -> None:
    requirement = noxfile.extra_requirement("server", noxfile.AZMLINFSRV)
    assert requirement in PYPROJECT["project"]["optional-dependencies"]["server"]
    assert noxfile.floor_of(requirement) == requirement.split(">=")[1].split(",")[0]
    with pytest.raises(LookupError):
        noxfile.floor_of("azureml-inference-server-http~=1.5")
    with pytest.raises(LookupError):
        noxfile.extra_requirement("server", "azure-identity")
