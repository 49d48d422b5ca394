"""Check what the built sdist and wheel contain; print the wheel's size and files.

``python tests/packaging/check_dist.py DIST_DIR`` (run by ``nox -s wheel``) exits 1 with one
line per problem: the wheel must hold the package with its mock, its pytest plugin and
``py.typed``, both console scripts, the plugin's ``pytest11`` entry point and nothing else
(no tests, bench, sample or docker files, no bytecode);
the sdist must hold what a build from it needs.
"""

from __future__ import annotations

import sys
import tarfile
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

PACKAGE = "secretinj_runtime"
PROJECT = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())[
    "project"
]
WHEEL_REQUIRED = (
    f"{PACKAGE}/__init__.py",
    f"{PACKAGE}/py.typed",
    f"{PACKAGE}/cli.py",
    f"{PACKAGE}/mock/__init__.py",
    f"{PACKAGE}/mock/app.py",
    f"{PACKAGE}/mock/cli.py",
    f"{PACKAGE}/testing/__init__.py",
    f"{PACKAGE}/testing/plugin.py",
)
SDIST_REQUIRED = ("pyproject.toml", "README.md", f"{PACKAGE}/__init__.py", f"{PACKAGE}/py.typed")
CONSOLE_SCRIPTS = ("secretinj = secretinj_runtime.cli:main", "secretinj-mock = ")
PYTEST_PLUGIN = ("pytest11", "secretinj_runtime = secretinj_runtime.testing.plugin")
FORBIDDEN_PARTS = frozenset({"tests", "bench", "sample_score", "docker", "__pycache__"})


def check_wheel(path: Path) -> list[str]:
    """Return the problems of the wheel at ``path`` (empty when it is as it should be)."""
    with zipfile.ZipFile(path) as wheel:
        names = wheel.namelist()
        dist_info = next((n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA")), "")
        problems = [f"wheel: missing {name}" for name in WHEEL_REQUIRED if name not in names]
        for name in names:
            top = name.split("/")[0]
            if top not in {PACKAGE, dist_info}:
                problems.append(f"wheel: {name} is outside the package")
            elif FORBIDDEN_PARTS.intersection(name.split("/")) or name.endswith(".pyc"):
                problems.append(f"wheel: {name} must not be shipped")
        if not dist_info:
            return [*problems, "wheel: no .dist-info/METADATA"]
        metadata = Parser().parsestr(wheel.read(f"{dist_info}/METADATA").decode())
        entry_points = (
            wheel.read(f"{dist_info}/entry_points.txt").decode()
            if f"{dist_info}/entry_points.txt" in names
            else ""
        )
    for field, expected in (
        ("Version", PROJECT["version"]),
        ("Requires-Python", PROJECT["requires-python"]),
    ):
        if metadata[field] != expected:
            problems.append(f"wheel: {field} is {metadata[field]!r}, not {expected!r}")
    if "mock" not in (metadata.get_all("Provides-Extra") or []):
        problems.append("wheel: the [mock] extra is not declared")
    problems += [
        f"wheel: console script {script.split(' =')[0]!r} missing"
        for script in CONSOLE_SCRIPTS
        if script not in entry_points
    ]
    group, plugin = PYTEST_PLUGIN
    if plugin not in entry_points.partition(f"[{group}]")[2].partition("\n[")[0]:
        problems.append(f"wheel: entry point [{group}] {plugin!r} missing")
    return problems


def check_sdist(path: Path) -> list[str]:
    """Return the problems of the sdist at ``path``."""
    with tarfile.open(path) as sdist:
        # Members are "<name>-<version>/<path>"; compare the paths inside.
        names = {m.name.partition("/")[2] for m in sdist.getmembers()}
    problems = [f"sdist: missing {name}" for name in SDIST_REQUIRED if name not in names]
    problems += [f"sdist: {n} must not be shipped" for n in sorted(names) if "__pycache__" in n]
    return problems


def wheel_summary(path: Path) -> str:
    """Return the wheel's name, size and files (with their compressed sizes)."""
    with zipfile.ZipFile(path) as wheel:
        infos = wheel.infolist()
    lines = [
        f"{path.name}: {path.stat().st_size / 1024:.1f} KiB, {len(infos)} files, "
        f"{sum(i.file_size for i in infos) / 1024:.1f} KiB unpacked"
    ]
    lines += [f"  {i.file_size:>8}  {i.filename}" for i in infos]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Check the one sdist and one wheel in ``argv[0]``; return 0, or 1 with the problems."""
    if len(argv) != 1:
        print("usage: check_dist.py DIST_DIR", file=sys.stderr)
        return 2
    dist = Path(argv[0])
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        print(f"check_dist: expected one wheel and one sdist in {dist}", file=sys.stderr)
        return 1
    print(wheel_summary(wheels[0]))
    print(f"{sdists[0].name}: {sdists[0].stat().st_size / 1024:.1f} KiB")
    problems = check_wheel(wheels[0]) + check_sdist(sdists[0])
    for problem in problems:
        print(f"check_dist: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
