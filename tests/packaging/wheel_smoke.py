"""Smoke-test an installed wheel, outside the repository: ``python -I wheel_smoke.py MODE``.

``nox -s wheel`` installs the wheel alone in a clean venv and runs this with that venv's
Python, ``-I`` (no script directory, no ``PYTHON*`` variables, no user site) and a working
directory outside the checkout, so only the installed package can be imported.

* ``bare`` (the wheel without extras): the package imports from site-packages with its
  ``py.typed``; injected literals take the fast path without importing anything heavy;
  ``secretinj --help`` works; ``secretinj-mock`` says which extra it needs.
* ``mock`` (with ``[mock]``): ``secretinj-mock serve --port 0`` starts; a connection key and
  a Key Vault secret resolve against it through the managed-identity fallback, in process
  and with ``secretinj check``, which never prints the values.
* ``environment WHEEL``: pip resolves ``sample_score/environment/requirements.txt`` the way
  the sample's environment image does (``--find-links`` on a folder holding the wheel) to
  this very wheel.

Each step prints one line; the first failure exits 1 with what was expected.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]  # read (sample files), never imported
CONNECTION_KEY = "${{azureml://connections/aoai-conn/credentials/key}}"
KEYVAULT_LATEST = "${{keyvault:https://demo-kv.vault.azure.net/secrets/db-password}}"
#: Variables of the caller that would change who the runtime is or where it looks.
IDENTITY_VARIABLES = ("AZURE_CLIENT_ID", "UAI_CLIENT_ID", "IDENTITY_ENDPOINT", "IDENTITY_HEADER")
STARTUP_TIMEOUT_S = 60.0


class SmokeError(AssertionError):
    """A smoke step did not behave as a user of the wheel would expect."""


def expect(condition: bool, message: str) -> None:
    """Raise SmokeError with ``message`` unless ``condition``."""
    if not condition:
        raise SmokeError(message)


def step(message: str) -> None:
    """Print one passed step."""
    print(f"wheel smoke: ok: {message}", flush=True)


def run(argv: list[str], env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` (bounded in time), capturing its output."""
    return subprocess.run(
        argv, capture_output=True, text=True, env=env, timeout=120, check=False, cwd=Path.cwd()
    )


def clean_environ(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return this environment without identity or runtime settings, plus ``extra``.

    The identity authority host points at a closed loopback port, so that no credential can
    ever probe the instance metadata service.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SECRETINJ_", "MSI_")) and k not in IDENTITY_VARIABLES
    }
    env["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = "http://127.0.0.1:9"
    env.update(extra or {})
    return env


# -- bare -----------------------------------------------------------------------------------


def smoke_bare() -> None:
    """The wheel without extras."""
    os.environ.clear()
    os.environ.update(clean_environ({"INJECTED_KEY": "value-0", "INJECTED_URL": "value-1"}))
    import secretinj_runtime as sir

    report = sir.resolve_environment(["INJECTED_KEY", "INJECTED_URL"])
    expect(report.ok, f"injected literals did not pass: {report}")
    statuses = {v.status for v in report.variables.values()}
    expect(statuses == {sir.Status.PRESENT}, f"injected literals reported {statuses}")
    heavy = ("azure", "requests", "urllib3", "tenacity", "fastapi", "uvicorn", "yaml")
    loaded = [m for m in heavy if m in sys.modules]
    expect(not loaded, f"the fast path imported {loaded}")
    step("injected literals are PRESENT and nothing heavy was imported")

    where = Path(sir.__file__).resolve()
    expect(
        where.is_relative_to(Path(sys.prefix).resolve()),
        f"secretinj_runtime was imported from {where}, not from this venv",
    )
    checkout = REPO / "secretinj_runtime"
    expect(not where.is_relative_to(checkout), f"secretinj_runtime came from the checkout: {where}")
    expect((where.parent / "py.typed").is_file(), "py.typed is not installed")
    step(f"imported from site-packages with py.typed ({where.parent.name})")

    helped = run([str(BIN / "secretinj"), "--help"])
    expect(helped.returncode == 0, f"secretinj --help exited {helped.returncode}")
    expect(all(c in helped.stdout for c in ("check", "lint", "run")), "help lacks its commands")
    step("secretinj --help")

    mock = run([str(BIN / "secretinj-mock"), "serve", "--port", "0"])
    expect(mock.returncode != 0, "secretinj-mock ran without the [mock] extra")
    expect(
        "pip install 'secretinj-runtime[mock]'" in mock.stderr,
        f"secretinj-mock without [mock] did not name the extra:\n{mock.stderr}",
    )
    step(f"secretinj-mock without [mock] exits {mock.returncode} naming the extra")


# -- mock -----------------------------------------------------------------------------------


def _pump(stream: IO[str] | None, lines: queue.Queue[str]) -> None:
    """Put each line of ``stream`` on ``lines`` (a pipe nobody drains would block the mock)."""
    for line in stream or ():
        lines.put(line)


@contextmanager
def serve_mock() -> Iterator[str]:
    """Run ``secretinj-mock serve --port 0``; yield its URL; stop its process group."""
    proc = subprocess.Popen(
        [str(BIN / "secretinj-mock"), "serve", "--port", "0", "--log-level", "WARNING"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=clean_environ(),
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
    try:
        seen: list[str] = []
        while True:
            try:
                line = lines.get(timeout=STARTUP_TIMEOUT_S)
            except queue.Empty:
                raise SmokeError(f"secretinj-mock did not start: {seen}") from None
            seen.append(line.rstrip())
            if line.startswith("secretinj-mock listening on "):
                yield line.split()[-1]
                break
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


def mock_environ(url: str) -> dict[str, str]:
    """Return the variables ``secretinj-mock env`` prints for the mock at ``url``."""
    printed = run([str(BIN / "secretinj-mock"), "env", "--url", url])
    expect(printed.returncode == 0, f"secretinj-mock env failed: {printed.stderr}")
    env = {}
    for line in printed.stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = value.strip("'")
    expect("MSI_ENDPOINT" in env, f"secretinj-mock env printed no MSI_ENDPOINT: {env}")
    return env


def smoke_mock() -> None:
    """The wheel with ``[mock]``: the fallback resolves against ``secretinj-mock serve``."""
    from secretinj_runtime.mock.defaults import AOAI_KEY, DB_PASSWORD_VERSIONS

    with serve_mock() as url:
        step(f"secretinj-mock serve --port 0 listens on {url}")
        env = clean_environ(mock_environ(url))
        os.environ.clear()
        os.environ.update(env)
        import secretinj_runtime as sir

        expect(sir.resolve_reference(CONNECTION_KEY) == AOAI_KEY, "wrong connection key")
        expect(
            sir.resolve_reference(KEYVAULT_LATEST) == DB_PASSWORD_VERSIONS[-1],
            "wrong Key Vault secret",
        )
        step("a connection key and a Key Vault secret resolved through the fallback")

        checked = run(
            [str(BIN / "secretinj"), "check", "--json"],
            env={**env, "AOAI_API_KEY": CONNECTION_KEY, "DB_PASSWORD": KEYVAULT_LATEST},
        )
        expect(checked.returncode == 0, f"secretinj check exited {checked.returncode}")
        output = checked.stdout + checked.stderr
        expect(
            AOAI_KEY not in output and DB_PASSWORD_VERSIONS[-1] not in output,
            "secretinj check printed a secret value",
        )
        report = json.loads(checked.stdout)
        statuses = {name: v["status"] for name, v in report["variables"].items()}
        expect(
            statuses == {"AOAI_API_KEY": "RESOLVED", "DB_PASSWORD": "RESOLVED"},
            f"secretinj check reported {statuses}",
        )
        step("secretinj check --json: RESOLVED, no value printed")


# -- environment ----------------------------------------------------------------------------


def smoke_environment(wheel: Path) -> None:
    """The sample environment's requirements resolve to ``wheel`` when it lies beside them."""
    from importlib.metadata import version

    context = REPO / "sample_score" / "environment"
    with tempfile.TemporaryDirectory() as tmp:
        build = Path(tmp)
        shutil.copy(context / "requirements.txt", build)
        shutil.copy(wheel, build)
        report_path = build / "report.json"
        resolved = run(
            [
                sys.executable,
                *("-m", "pip", "install", "--disable-pip-version-check", "--quiet"),
                *("--dry-run", "--ignore-installed", "--report", str(report_path)),
                *("--find-links", str(build), "-r", str(build / "requirements.txt")),
            ]
        )
        expect(resolved.returncode == 0, f"pip cannot resolve the sample:\n{resolved.stderr}")
        report = json.loads(report_path.read_text())
    ours = [i for i in report["install"] if i["metadata"]["name"] == "secretinj-runtime"]
    expect(len(ours) == 1, "the sample environment does not install secretinj-runtime")
    url = ours[0]["download_info"]["url"]
    expect(url.endswith("/" + wheel.name), f"the sample environment took {url}, not the wheel")
    installed = version("secretinj-runtime")
    expect(ours[0]["metadata"]["version"] == installed, "the sample pins another version")
    step(f"sample_score/environment/requirements.txt resolves to {wheel.name}")


def main(argv: list[str]) -> int:
    """Run the smoke ``argv[0]``; return 0, or 1 with what failed."""
    try:
        if argv == ["bare"]:
            smoke_bare()
        elif argv == ["mock"]:
            smoke_mock()
        elif len(argv) == 2 and argv[0] == "environment":
            smoke_environment(Path(argv[1]))
        else:
            print("usage: wheel_smoke.py bare | mock | environment WHEEL", file=sys.stderr)
            return 2
    except SmokeError as ex:
        print(f"wheel smoke: FAILED: {ex}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
