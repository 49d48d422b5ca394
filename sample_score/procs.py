"""Run the mock and azmlinfsrv as local processes: free ports, process groups, readiness waits.

Shared by ``make demo`` (`sample_score.demo`), ``docker/smoke.py --no-docker``, the e2e
tests and the benchmarks (``bench/``). Every process starts in its own session, writes stdout
and stderr to a log file (a pipe nobody drains would block it) and is stopped as a whole
process group: SIGTERM, then SIGKILL after a deadline, so that gunicorn's workers never
outlive a run.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import requests

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "sample_score"
SCORE_SCRIPT = SAMPLE_DIR / "score.py"
DEPLOYMENT_YML = SAMPLE_DIR / "deployment.yml"

#: Variables of the caller's environment that would change who the runtime is or where it
#: looks; a child process starts without them and gets only what it is given.
_ISOLATED = re.compile(
    r"^(SECRETINJ_\w+|MSI_\w+|IDENTITY_\w+|AZURE_CLIENT_ID|UAI_CLIENT_ID|AML_\w+|AZUREML_\w+"
    r"|AOAI_\w+|OTHER_API_KEY|DB_PASSWORD|WORKER_\w+|GUNICORN_CMD_ARGS)$"
)
_URL_LINE = re.compile(r"secretinj-mock listening on (http://\S+)")


class ProcessError(RuntimeError):
    """A process did not start, answer or stop as expected; the message says which and why."""


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def console_script(name: str, module: str) -> list[str]:
    """Return the command for a console script of this interpreter's environment."""
    script = Path(sys.executable).parent / name
    return [str(script)] if script.exists() else [sys.executable, "-m", module]


def child_environ(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return this process's environment without identity/deployment variables, plus ``extra``.

    ``PYTHONPATH`` starts with the checkout, so that the child imports this checkout's
    ``secretinj_runtime`` whatever its working directory.
    """
    env = {k: v for k, v in os.environ.items() if not _ISOLATED.match(k)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.update(extra or {})
    return env


class Process:
    """A child process in its own session, logging to a file; stop() ends its whole group."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        log_path: Path,
        cwd: Path = ROOT,
        url: str = "",
    ) -> None:
        self.name = name
        self.url = url
        self.argv = list(argv)
        self.log_path = log_path
        with log_path.open("wb") as log:
            try:
                self.popen = subprocess.Popen(
                    self.argv,
                    env=dict(env),
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as ex:
                raise ProcessError(f"cannot start {name} ({shlex.join(self.argv)}): {ex}") from ex

    @property
    def pid(self) -> int:
        """The process id (also its process group id)."""
        return self.popen.pid

    def running(self) -> bool:
        """Whether the process has not exited yet."""
        return self.popen.poll() is None

    def finished(self) -> bool:
        """Whether the process and every member of its process group have exited."""
        return not self.running() and not _group_alive(self.popen.pid)

    def log(self) -> str:
        """Return everything the process wrote so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 25) -> str:
        """Return the last ``lines`` lines of the log, indented, for an error message."""
        tail = self.log().splitlines()[-lines:]
        return "\n".join(f"    {line}" for line in tail) or "    (no output)"

    def stop(self, timeout_s: float = 10.0) -> int | None:
        """SIGTERM the process group, SIGKILL what is left after ``timeout_s``; return the code.

        Returns once the process and every member of its group are gone (None if the group
        outlives even SIGKILL's deadline, which only a stuck kernel would make happen).
        """
        _signal_group(self.pid, signal.SIGTERM)
        if not self._wait_finished(timeout_s):
            _signal_group(self.pid, signal.SIGKILL)
            if not self._wait_finished(timeout_s):  # pragma: no cover
                return None
        return self.popen.returncode

    def _wait_finished(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not self.finished():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    """Whether a member of the process group still runs; zombies awaiting reaping do not."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a member we may not signal still exists
        return True
    proc = Path("/proc")
    if not proc.is_dir():  # pragma: no cover - not Linux: count zombies as members
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # it exited while we looked
        state, _ppid, group = text[text.rindex(")") + 2 :].split()[:3]
        if int(group) == pgid and state != "Z":
            return True
    return False


class MockProcess(Process):
    """``secretinj-mock serve`` with its URL and a client for its control API (``/_mock``)."""

    def wait_ready(self, timeout_s: float = 20.0) -> str:
        """Wait for the line that prints the mock's URL; return the URL."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = _URL_LINE.search(self.log())
            if found:
                self.url = found.group(1).rstrip("/")
                return self.url
            if not self.running():
                raise ProcessError(
                    f"the mock exited with code {self.popen.returncode} before it was ready:\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.05)
        raise ProcessError(f"the mock printed no URL within {timeout_s:.0f} s:\n{self.log_tail()}")

    def environ(self) -> dict[str, str]:
        """Return what ``secretinj-mock env --url URL`` exports (identity, ARM, Key Vault)."""
        return mock_environ(self.url)

    def control(self, method: str, path: str, body: object = None) -> Any:
        """Call the mock's control API (``path`` under ``/_mock``); return the JSON answer."""
        response = requests.request(method, f"{self.url}/_mock{path}", json=body, timeout=10)
        if not response.ok:
            raise ProcessError(f"mock control {method} {path}: {response.status_code}")
        return response.json()

    def counters(self) -> dict[str, Any]:
        """Return the request counts: ``{"routes": {kind: n}, "names": {kind: {name: n}}}``."""
        return dict(self.control("GET", "/counters"))

    def count(self, route: str, name: str | None = None) -> int:
        """Return how many requests of one route kind (and name) the mock has served."""
        counters = self.counters()
        if name is None:
            return int(counters["routes"].get(route, 0))
        return int(counters["names"].get(route, {}).get(name, 0))

    def request_log(self, route: str | None = None) -> list[dict[str, Any]]:
        """Return the request log (its newest 10 000 entries), optionally of one route kind."""
        suffix = f"?route={route}" if route else ""
        return list(self.control("GET", f"/requests{suffix}"))

    def reset(self) -> None:
        """Put the mock back in its initial state: full bucket, empty request log."""
        self.control("POST", "/reset")

    def configure_throttle(self, capacity: int | None, refill_per_s: float | None) -> None:
        """Replace the ARM write bucket with a full one; ``capacity=None`` turns it off."""
        body = {"enabled": capacity is not None, "capacity": capacity, "refill_per_s": refill_per_s}
        self.control("PUT", "/throttle", body)


def mock_environ(url: str) -> dict[str, str]:
    """Return what ``secretinj-mock env --url URL`` exports (identity, ARM, Key Vault)."""
    argv = [*console_script("secretinj-mock", "secretinj_runtime.mock.cli"), "env", "--url", url]
    out = subprocess.run(
        argv, env=child_environ(), capture_output=True, text=True, check=True, timeout=30
    ).stdout
    return parse_exports(out)


def parse_exports(text: str) -> dict[str, str]:
    """Parse ``export NAME=value`` lines (shell-quoted values) into a dict."""
    env: dict[str, str] = {}
    for line in text.splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            name, _, value = words[1].partition("=")
            env[name] = value
    return env


def start_mock(
    workdir: Path,
    *,
    argv: Sequence[str] | None = None,
    state_file: Path | None = None,
    timeout_s: float = 20.0,
) -> MockProcess:
    """Start ``secretinj-mock serve`` on a free port (or ``argv``); wait for its URL line."""
    if argv is None:
        argv = [*console_script("secretinj-mock", "secretinj_runtime.mock.cli"), "serve"]
        argv += ["--host", "127.0.0.1", "--port", "0", "--no-env-file"]
        if state_file is not None:
            argv += ["--state", str(state_file)]
    mock = MockProcess("mock", argv, env=child_environ(), log_path=workdir / "mock.log")
    try:
        mock.wait_ready(timeout_s)
    except BaseException:
        mock.stop()
        raise
    return mock


def _gunicorn_args() -> str:
    # Recent gunicorn opens a control socket at a fixed path in $HOME: two servers at once
    # would fight over it. The local runs do not need it.
    try:
        settings = importlib.import_module("gunicorn.config").KNOWN_SETTINGS
    except ImportError:  # pragma: no cover - azmlinfsrv always brings gunicorn
        return ""
    names = {setting.name for setting in settings}
    return "--no-control-socket" if "control_socket_disable" in names else ""


def start_scorer(
    workdir: Path,
    env: Mapping[str, str],
    *,
    argv: Sequence[str] | None = None,
    port: int | None = None,
    worker_count: int = 1,
    log_name: str = "azmlinfsrv.log",
) -> Process:
    """Start ``azmlinfsrv`` with the sample score (or ``argv``); its ``url`` is the base URL.

    ``env`` comes on top of a clean environment. The caller waits for liveness.
    """
    if argv is None:
        port = port or free_port()
        argv = [*console_script("azmlinfsrv", "azureml_inference_server_http.amlserver")]
        argv += ["--entry_script", str(SCORE_SCRIPT), "--port", str(port)]
        if worker_count != 1:
            argv += ["--worker_count", str(worker_count)]
    elif port is None:
        raise ValueError("port: required with argv")
    base = {"AML_APP_ROOT": str(SAMPLE_DIR), "GUNICORN_CMD_ARGS": _gunicorn_args()}
    return Process(
        "azmlinfsrv",
        argv,
        env=child_environ({**base, **env}),
        log_path=workdir / log_name,
        url=f"http://127.0.0.1:{port}",
    )


def wait_for_liveness(process: Process, timeout_s: float = 30.0) -> float:
    """Wait until ``GET <process.url>/`` answers 200; return the seconds it took.

    Fails early, with the log's tail, when the process exits first.
    """
    started = time.monotonic()
    deadline = started + timeout_s
    while time.monotonic() < deadline:
        if not process.running():
            raise ProcessError(
                f"{process.name} exited with code {process.popen.returncode} before it was "
                f"live:\n{process.log_tail()}"
            )
        try:
            if requests.get(f"{process.url}/", timeout=2).status_code == 200:
                return time.monotonic() - started
        except requests.RequestException:
            pass  # not listening yet
        time.sleep(0.1)
    raise ProcessError(
        f"{process.name} was not live at {process.url}/ within {timeout_s:.0f} s:\n"
        f"{process.log_tail()}"
    )


def wait_for_log(process: Process, pattern: str, count: int = 1, timeout_s: float = 30.0) -> None:
    """Wait until ``pattern`` (a regex) matches ``count`` times in the process's log."""
    deadline = time.monotonic() + timeout_s
    while True:
        running = process.running()  # before reading: an exited process's log is complete
        if len(re.findall(pattern, process.log(), re.MULTILINE)) >= count:
            return
        if not running or time.monotonic() >= deadline:
            raise ProcessError(
                f"{process.name} did not log {pattern!r} {count} time(s):\n{process.log_tail()}"
            )
        time.sleep(0.05)


def wait_for_exit(process: Process, timeout_s: float = 30.0) -> int:
    """Wait until the process exits; return its code (ProcessError after ``timeout_s``)."""
    try:
        return process.popen.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise ProcessError(f"{process.name} still runs after {timeout_s:.0f} s") from None


def deployment_variables(path: Path = DEPLOYMENT_YML) -> dict[str, str]:
    """Return the ``environment_variables`` of a deployment YAML, as strings."""
    import yaml

    data = yaml.safe_load(path.read_text())
    variables = (data.get("environment_variables") or {}) if isinstance(data, dict) else {}
    return {str(k): str(v) for k, v in variables.items()}


def score(url: str, body: object, timeout_s: float = 30.0) -> tuple[int, Any]:
    """POST ``body`` as JSON to ``url/score``; return the status and the decoded answer."""
    response = requests.post(f"{url}/score", json=body, timeout=timeout_s)
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, response.text
