"""Test sessions: every supported Python, the azmlinfsrv range, the dependency floors, the wheel.

``make matrix`` runs every session, ``.ci/run`` the ones tagged ``ci`` (after ``make test``),
``nox -l`` lists them and ``nox -s NAME`` runs one. uv is the virtualenv backend (the ``[dev]``
extra installs it beside nox); without it nox falls back to virtualenv and pip, except for
``lowest``, which needs uv's resolver.

Interpreters: each supported Python (the ``Programming Language :: Python :: 3.X``
classifiers) is taken from ``PATH`` if ``python3.X`` there runs, else from pyenv's versions
(``$PYENV_ROOT`` or ``pyenv root``). A missing one fails its session with a message saying
where it was looked for; it is never skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nox
from nox.sessions import Session

ROOT = Path(__file__).resolve().parent
PYPROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_missing_interpreters = True
nox.options.download_python = "never"  # the interpreters are the machine's, never downloaded

#: The Pythons the package claims, from its classifiers: one ``tests-X.Y`` session each.
PYTHONS = tuple(
    m.group(1)
    for c in PYPROJECT["project"]["classifiers"]
    if (m := re.fullmatch(r"Programming Language :: Python :: (3\.\d+)", c))
)
OLDEST_PYTHON = PYTHONS[0]
#: The Python of Azure ML's minimal-py312-inference image, which the sample deploys on.
IMAGE_PYTHON = "3.12"
AZMLINFSRV = "azureml-inference-server-http"
AZURE_AI_ML = "azure-ai-ml>=1.20"
#: What the e2e-azmlinfsrv sessions run: the server, the scoring script, `secretinj run`.
E2E_TESTS = ("tests/e2e", "tests/cli", "tests/sample/test_score.py", "tests/plugin")
PACKAGING = ROOT / "tests" / "packaging"

SessionFunc = Callable[..., None]


# -- interpreters ---------------------------------------------------------------------------


def _reports_version(executable: str, version: str) -> bool:
    """Whether ``executable`` runs and is Python ``version`` (a pyenv shim may not run)."""
    try:
        done = subprocess.run(
            [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and done.stdout.strip() == version


def pyenv_root() -> Path | None:
    """Return pyenv's root (``$PYENV_ROOT``, else ``pyenv root``), or None without pyenv."""
    if root := os.environ.get("PYENV_ROOT"):
        return Path(root)
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return None
    try:
        done = subprocess.run(
            [pyenv, "root"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return Path(done.stdout.strip()) if done.returncode == 0 and done.stdout.strip() else None


def _pyenv_candidates(version: str, root: Path | None) -> Iterator[str]:
    """Yield pyenv's ``python<version>`` executables, highest patch release first."""
    if root is None or not (root / "versions").is_dir():
        return
    releases = []
    for entry in (root / "versions").iterdir():
        if m := re.fullmatch(re.escape(version) + r"\.(\d+)", entry.name):
            releases.append((int(m.group(1)), entry / "bin" / f"python{version}"))
    for _, executable in sorted(releases, reverse=True):
        yield str(executable)


def find_python(version: str, *, root: Path | None = None) -> str | None:
    """Return a runnable interpreter for ``version`` ("3.12"): ``PATH`` first, then pyenv."""
    candidates = []
    if on_path := shutil.which(f"python{version}"):
        candidates.append(on_path)
    candidates.extend(_pyenv_candidates(version, root if root is not None else pyenv_root()))
    return next((c for c in candidates if _reports_version(c, version)), None)


def missing_python_message(version: str, root: Path | None) -> str:
    """Say where Python ``version`` was looked for and how to provide it."""
    where = f"{root / 'versions'}" if root is not None else "pyenv (not installed)"
    return (
        f"Python {version} not found: no runnable python{version} on PATH nor under {where}. "
        f"Install it (e.g. `pyenv install {version}`) or put python{version} on PATH"
    )


def python_session(
    name: str, version: str, *, tags: tuple[str, ...] = ()
) -> Callable[[SessionFunc], SessionFunc]:
    """Register ``func`` as session ``name`` on Python ``version``, failing if it is missing."""

    def register(func: SessionFunc) -> SessionFunc:
        interpreter = find_python(version)
        if interpreter is not None:
            nox.session(name=name, python=interpreter, tags=list(tags))(func)
            return func
        message = missing_python_message(version, pyenv_root())

        def missing(session: Session) -> None:
            session.error(message)

        missing.__doc__ = func.__doc__
        nox.session(name=name, venv_backend="none", tags=list(tags))(missing)
        return func

    return register


# -- helpers --------------------------------------------------------------------------------


def extra_requirement(extra: str, package: str) -> str:
    """Return the requirement for ``package`` in the ``[extra]`` of pyproject.toml."""
    for requirement in PYPROJECT["project"]["optional-dependencies"][extra]:
        if re.match(re.escape(package) + r"\b(?![-\[])", requirement):
            return str(requirement)
    raise LookupError(f"pyproject.toml: no {package} in the [{extra}] extra")


def floor_of(requirement: str) -> str:
    """Return the version after ``>=`` in ``requirement``."""
    m = re.search(r">=\s*([\w.]+)", requirement)
    if m is None:
        raise LookupError(f"{requirement!r} declares no floor (>=)")
    return m.group(1)


def show_versions(session: Session, *expect: str) -> None:
    """Print the versions this session tests; fail unless each ``NAME==VERSION`` holds."""
    session.run("python", str(PACKAGING / "versions.py"), *(f"--expect={e}" for e in expect))


def pytest(session: Session, *args: str) -> None:
    """Run pytest with ``args``, or with the session's positional arguments when given."""
    session.run("python", "-m", "pytest", *(session.posargs or args))


def using_uv(session: Session) -> bool:
    """Whether this session's environment was created by uv."""
    return getattr(session.virtualenv, "venv_backend", None) == "uv"


# -- sessions -------------------------------------------------------------------------------


def tests(session: Session) -> None:
    """Run the whole suite with the newest dependencies (azmlinfsrv: [dev]'s 1.5 series)."""
    session.install("-e", ".[dev,bench]")
    show_versions(session)
    pytest(session)


for _version in PYTHONS:
    # CI runs `make test` on its default Python first (3.11): the other two here.
    _tags = ("tests",) if _version == OLDEST_PYTHON else ("tests", "ci")
    python_session(f"tests-{_version}", _version, tags=_tags)(tests)


# CI runs the oldest: tests-3.12 runs the whole suite on the newest already.
@python_session("e2e-azmlinfsrv", IMAGE_PYTHON)
@nox.parametrize(
    "azmlinfsrv",
    [nox.param("oldest", id="oldest", tags=["ci"]), nox.param("newest", id="newest")],
)
def e2e_azmlinfsrv(session: Session, azmlinfsrv: str) -> None:
    """Run the end-to-end and `secretinj run` tests on the oldest and newest azmlinfsrv."""
    requirement = extra_requirement("server", AZMLINFSRV)
    floor = floor_of(requirement)
    oldest = azmlinfsrv == "oldest"
    session.install("-e", ".[mock,test]", f"{AZMLINFSRV}=={floor}" if oldest else requirement)
    show_versions(session, *([f"{AZMLINFSRV}=={floor}"] if oldest else []))
    # As users run it: no azure-ai-ml (and its OpenTelemetry pins) beside the server.
    session.run("python", "-c", "import azure.ai.ml", success_codes=[1], silent=True)
    pytest(session, *E2E_TESTS)


@python_session("yaml", IMAGE_PYTHON, tags=("ci",))
def yaml(session: Session) -> None:
    """Load the sample's endpoint and deployment YAML offline with azure-ai-ml."""
    session.install("-e", ".[mock,test]", AZURE_AI_ML)
    show_versions(session)
    # The tests skip without azure-ai-ml; here it must import, so that none of them skips.
    session.run("python", "-c", "import azure.ai.ml", silent=True)
    pytest(session, "tests/sample/test_deployment_yaml.py")


@python_session("lowest", OLDEST_PYTHON, tags=("ci",))
def lowest(session: Session) -> None:
    """Run unit, integration and mock tests on the lowest direct dependencies allowed."""
    if not using_uv(session):
        session.error("lowest needs uv (pip has no lowest resolution): pip install uv")
    session.install("--resolution", "lowest-direct", "-e", ".[mock,test]")
    show_versions(session)
    pytest(session, "tests/unit", "tests/integration", "tests/mock")


@python_session("lint", OLDEST_PYTHON)
def lint(session: Session) -> None:
    """Run ruff, ruff format, mypy --strict and hadolint (`make lint`) in an env of their own."""
    session.install("-e", ".[dev,bench]")
    session.run("make", "--no-print-directory", "lint-run", f"BIN={session.bin}", external=True)


@python_session("wheel", IMAGE_PYTHON, tags=("ci",))
def wheel(session: Session) -> None:
    """Build, check and install the sdist and wheel; smoke-test the wheel outside the repo."""
    session.install("build[uv]>=1.2", "twine>=5")
    tmp = Path(session.create_tmp()).resolve()
    dist, clean = tmp / "dist", tmp / "clean"
    for path in (dist, clean):
        shutil.rmtree(path, ignore_errors=True)
    session.run("python", "-m", "build", "--installer", "uv", "--outdir", str(dist), str(ROOT))
    artifacts = sorted(str(p) for p in dist.iterdir())
    session.run("python", "-m", "twine", "check", "--strict", *artifacts)
    session.run("python", str(PACKAGING / "check_dist.py"), str(dist))
    (built,) = dist.glob("*.whl")

    # A clean venv from the session's interpreter, pip as Azure ML's image build uses it,
    # the working directory outside the repository and `python -I`: nothing of the checkout
    # can be imported.
    session.run("python", "-m", "venv", str(clean))
    python = str(clean / "bin" / "python")
    smoke = str(PACKAGING / "wheel_smoke.py")
    pip = (python, "-m", "pip", "install", "-q", "--disable-pip-version-check")
    with session.chdir(tmp):
        session.run(*pip, str(built), external=True)
        session.run(python, "-I", smoke, "bare", external=True)
        session.run(*pip, f"{built}[mock]", external=True)
        session.run(python, "-I", smoke, "mock", external=True)
        # The sample's environment definition resolves to this wheel when it lies beside it.
        session.run(python, "-I", smoke, "environment", str(built), external=True)
