"""Child processes for local runs: free ports, process groups, log files, bounded waits.

Every process starts in its own session, writes stdout and stderr to a log file (a pipe
nobody drains would block it) and is stopped as a whole process group: SIGTERM, then SIGKILL
after a deadline, so that gunicorn's workers never outlive a run. Every wait has a deadline
and fails early, with the log's tail, when the process exits first.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import requests

#: The directory this process imports ``secretinj_runtime`` from (a checkout, or site-packages).
IMPORT_ROOT = Path(__file__).resolve().parents[2]
#: Variables of the caller's environment that would change who the runtime is or where it
#: looks (identity, deployment, server settings), and the sample's secret variables, which
#: a developer's shell may hold for real: a child starts without them and gets only what it
#: is given.
_ISOLATED = re.compile(
    r"^(SECRETINJ_\w+|MSI_\w+|IDENTITY_\w+|AZURE_CLIENT_ID|UAI_CLIENT_ID|AML_\w+|AZUREML_\w+"
    r"|AOAI_\w+|OTHER_API_KEY|DB_PASSWORD|WORKER_\w+|GUNICORN_CMD_ARGS)$"
)


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

    When ``secretinj_runtime`` is imported from outside the interpreter's site-packages (a
    checkout), ``PYTHONPATH`` starts with that directory, so that the child imports the same
    ``secretinj_runtime`` whatever its working directory.
    """
    env = {k: v for k, v in os.environ.items() if not _ISOLATED.match(k)}
    site = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    if str(IMPORT_ROOT) not in site:
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(IMPORT_ROOT), env.get("PYTHONPATH")) if p
        )
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
        cwd: Path | None = None,
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
