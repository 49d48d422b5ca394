"""check_dist.py (`nox -s wheel`) passes a good wheel and names what is wrong in a bad one."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.packaging import check_dist, versions

DIST_INFO = f"secretinj_runtime-{check_dist.PROJECT['version']}.dist-info"
ENTRY_POINTS = (
    "[console_scripts]\n"
    "secretinj = secretinj_runtime.cli:main\n"
    "secretinj-mock = secretinj_runtime.mock.cli:main\n"
    "\n"
    "[pytest11]\n"
    "secretinj_runtime = secretinj_runtime.testing.plugin\n"
)


def metadata(requires_python: str | None = None) -> str:
    return (
        "Metadata-Version: 2.4\nName: secretinj-runtime\n"
        f"Version: {check_dist.PROJECT['version']}\n"
        f"Requires-Python: {requires_python or check_dist.PROJECT['requires-python']}\n"
        "Provides-Extra: mock\n"
    )


def make_wheel(
    tmp_path: Path,
    *,
    drop: tuple[str, ...] = (),
    add: tuple[str, ...] = (),
    entry_points: str = ENTRY_POINTS,
    **meta: str,
) -> Path:
    path = tmp_path / "secretinj_runtime-0-py3-none-any.whl"
    files = {name: "" for name in check_dist.WHEEL_REQUIRED if name not in drop}
    files.update(dict.fromkeys(add, ""))
    files[f"{DIST_INFO}/METADATA"] = metadata(**meta)
    files[f"{DIST_INFO}/entry_points.txt"] = entry_points
    with zipfile.ZipFile(path, "w") as wheel:
        for name, text in files.items():
            wheel.writestr(name, text)
    return path


def make_sdist(tmp_path: Path, names: tuple[str, ...]) -> Path:
    path = tmp_path / "secretinj_runtime-0.tar.gz"
    with tarfile.open(path, "w:gz") as sdist:
        for name in names:
            info = tarfile.TarInfo(f"secretinj_runtime-0/{name}")
            sdist.addfile(info, io.BytesIO(b""))
    return path


def test_a_complete_wheel_passes(tmp_path: Path) -> None:
    assert check_dist.check_wheel(make_wheel(tmp_path)) == []


@pytest.mark.parametrize(
    "extra",
    [
        "tests/test_public_api.py",
        "bench/run.py",
        "sample_score/score.py",
        "secretinj_runtime/__pycache__/cli.cpython-312.pyc",
        "conftest.py",
    ],
)
def test_files_outside_the_package_are_refused(tmp_path: Path, extra: str) -> None:
    problems = check_dist.check_wheel(make_wheel(tmp_path, add=(extra,)))
    assert len(problems) == 1
    assert extra in problems[0]


@pytest.mark.parametrize(
    "missing",
    [
        "secretinj_runtime/py.typed",
        "secretinj_runtime/mock/__init__.py",
        "secretinj_runtime/testing/plugin.py",
    ],
)
def test_a_missing_file_is_named(tmp_path: Path, missing: str) -> None:
    assert check_dist.check_wheel(make_wheel(tmp_path, drop=(missing,))) == [
        f"wheel: missing {missing}"
    ]


@pytest.mark.parametrize(
    "entry_points",
    [
        ENTRY_POINTS.partition("\n[pytest11]")[0],  # no plugin at all
        ENTRY_POINTS.replace("[pytest11]", "[other]"),  # in another group
    ],
)
def test_the_pytest_plugin_entry_point_is_required(tmp_path: Path, entry_points: str) -> None:
    problems = check_dist.check_wheel(make_wheel(tmp_path, entry_points=entry_points))
    assert problems == [
        "wheel: entry point [pytest11] "
        "'secretinj_runtime = secretinj_runtime.testing.plugin' missing"
    ]


def test_metadata_must_match_pyproject(tmp_path: Path) -> None:
    problems = check_dist.check_wheel(make_wheel(tmp_path, requires_python=">=3.8"))
    assert problems == [
        f"wheel: Requires-Python is '>=3.8', not {check_dist.PROJECT['requires-python']!r}"
    ]


def test_sdist_must_hold_what_a_build_needs(tmp_path: Path) -> None:
    good = make_sdist(tmp_path, check_dist.SDIST_REQUIRED)
    assert check_dist.check_sdist(good) == []
    bad = make_sdist(tmp_path, ("README.md", "secretinj_runtime/__init__.py"))
    assert check_dist.check_sdist(bad) == [
        "sdist: missing pyproject.toml",
        "sdist: missing secretinj_runtime/py.typed",
    ]


def test_main_wants_one_wheel_and_one_sdist(tmp_path: Path) -> None:
    assert check_dist.main([str(tmp_path)]) == 1
    make_wheel(tmp_path)
    make_sdist(tmp_path, check_dist.SDIST_REQUIRED)
    assert check_dist.main([str(tmp_path)]) == 0


def test_versions_expectations() -> None:
    pytest_version = versions.installed("pytest")
    assert pytest_version is not None
    assert versions.check([f"pytest=={pytest_version}"]) == []
    assert versions.check(["pytest==0.0.1"]) == [f"expected pytest 0.0.1, found {pytest_version}"]
    assert versions.check(["no-such-distribution==1"]) == [
        "expected no-such-distribution 1, found none installed"
    ]
    assert versions.check(["pytest"]) == ["--expect 'pytest': write NAME==VERSION"]
    assert versions.versions_line().startswith("versions: Python 3.")
