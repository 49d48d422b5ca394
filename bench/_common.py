"""Shared pieces: result records, statistics, child processes and the mock as a subprocess.

The mock runs in its own process (``secretinj-mock serve --port 0``), never in the process
that measures: a uvicorn thread would share the GIL with the client under test.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

#: Variables of our own environment that would change who the runtime is or where it looks.
_ISOLATED = re.compile(
    r"^(SECRETINJ_\w+|MSI_\w+|IDENTITY_\w+|AZURE_CLIENT_ID|UAI_CLIENT_ID|AML_\w+|AZUREML_\w+"
    r"|AOAI_\w+|OTHER_API_KEY|DB_PASSWORD|WORKER_\w+|GUNICORN_CMD_ARGS|BENCH_\w+)$"
)
_URL_LINE = re.compile(r"secretinj-mock listening on (http://\S+)")
MSI_SECRET = "bench-msi-secret"  # noqa: S105 - the mock's shared secret, not a credential


class Record(TypedDict):
    """One line of ``latest.json``."""

    benchmark: str
    metric: str
    value: float | None
    unit: str
    baseline: float | str | None
    ratio: float | None
    target: str | None
    met: bool | None


def record(
    benchmark: str,
    metric: str,
    value: float | None,
    unit: str,
    *,
    baseline: float | str | None = None,
    target: str | None = None,
    met: bool | None = None,
) -> Record:
    """Build a record; ``ratio`` is ``value / baseline`` when both are finite numbers."""
    ratio = None
    if (
        isinstance(baseline, int | float)
        and value is not None
        and math.isfinite(value)
        and math.isfinite(baseline)
        and baseline != 0
    ):
        ratio = value / baseline
    return Record(
        benchmark=benchmark,
        metric=metric,
        value=None if value is None else float(value),
        unit=unit,
        baseline=float(baseline) if isinstance(baseline, int | float) else baseline,
        ratio=ratio,
        target=target,
        met=met,
    )


@dataclass
class Outcome:
    """What a benchmark returns: its records and the samples its chart draws."""

    records: list[Record]
    samples: dict[str, Any] = field(default_factory=dict)


def median(values: Sequence[float]) -> float:
    """Return the median, NaN for no values."""
    return float(statistics.median(values)) if values else math.nan


def quartiles(values: Sequence[float]) -> tuple[float, float]:
    """Return the 25th and 75th percentiles (the value itself for fewer than two)."""
    if len(values) < 2:
        one = values[0] if values else math.nan
        return one, one
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


def say(message: str) -> None:
    """Print a progress line on stderr."""
    print(f"  {message}", file=sys.stderr, flush=True)


def child_environ(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return our environment without identity/deployment variables, plus ``extra``.

    ``PYTHONPATH`` starts with the checkout, so children import this checkout's package.
    """
    env = {k: v for k, v in os.environ.items() if not _ISOLATED.match(k)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.update(extra or {})
    return env


@contextmanager
def patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set ``values`` in ``os.environ`` (without identity variables) for the block.

    azure-identity reads ``MSI_ENDPOINT`` from ``os.environ``, whatever mapping the runtime
    was given.
    """
    saved = dict(os.environ)
    for name in list(os.environ):
        if _ISOLATED.match(name):
            del os.environ[name]
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Process:
    """A child in its own session, output to a log file; `stop` ends its whole group."""

    def __init__(
        self, name: str, argv: Sequence[str], *, env: Mapping[str, str], log_path: Path
    ) -> None:
        self.name = name
        self.log_path = log_path
        with log_path.open("wb") as log:
            self.popen = subprocess.Popen(
                list(argv),
                env=dict(env),
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def running(self) -> bool:
        """Whether the process has not exited yet."""
        return self.popen.poll() is None

    def log(self) -> str:
        """Everything the process wrote so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the log, for an error message."""
        return "\n".join(self.log().splitlines()[-lines:]) or "(no output)"

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM the process group, SIGKILL what is left after ``timeout_s``."""
        pgid = self.popen.pid
        _signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and (self.running() or _group_alive(pgid)):
            time.sleep(0.05)
        if self.running() or _group_alive(pgid):
            _signal_group(pgid, signal.SIGKILL)
        self.popen.wait(timeout=timeout_s)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class MockProcess(Process):
    """``secretinj-mock serve`` on a free port, with a small client for its control API."""

    def __init__(
        self,
        workdir: Path,
        *,
        state: Mapping[str, Any] | None = None,
        latency_ms: float = 0.0,
        throttle: tuple[int, float] | None = None,
        name: str = "mock",
        timeout_s: float = 30.0,
    ) -> None:
        argv = [PYTHON, "-m", "secretinj_runtime.mock.cli", "serve", "--host", "127.0.0.1"]
        argv += ["--port", "0", "--log-level", "WARNING", "--latency-ms", str(latency_ms)]
        argv += ["--msi-secret", MSI_SECRET]
        if throttle is None:
            argv.append("--no-throttle")
        else:
            argv += ["--bucket-capacity", str(throttle[0])]
            argv += ["--bucket-refill-per-s", str(throttle[1])]
        if state is not None:
            state_path = workdir / f"{name}-state.json"
            state_path.write_text(json.dumps(state))
            argv += ["--state", str(state_path)]
        super().__init__(name, argv, env=child_environ(), log_path=workdir / f"{name}.log")
        try:
            self.url = self._wait_ready(timeout_s)
        except BaseException:
            self.stop()
            raise
        self.workspace = str(self.call("GET", "/state")["workspace"])

    def _wait_ready(self, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = _URL_LINE.search(self.log())
            if found:
                return found.group(1).rstrip("/")
            if not self.running():
                raise RuntimeError(f"the mock exited before it was ready:\n{self.log_tail()}")
            time.sleep(0.05)
        raise RuntimeError(f"the mock printed no URL within {timeout_s:.0f} s:\n{self.log_tail()}")

    @property
    def env(self) -> dict[str, str]:
        """The variables that point the runtime (and azure-identity) at this mock."""
        return {
            "MSI_ENDPOINT": f"{self.url}/msi/token",
            "MSI_SECRET": MSI_SECRET,
            "SECRETINJ_ARM_ENDPOINT": self.url,
            "SECRETINJ_KEYVAULT_ENDPOINT": f"{self.url}/keyvault",
            "SECRETINJ_WORKSPACE_ID": self.workspace,
        }

    def call(self, method: str, path: str, body: object = None) -> Any:
        """Call the control API (``path`` under ``/_mock``); return the decoded answer."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(  # noqa: S310 - our own loopback URL
            f"{self.url}/_mock{path}", data=data, method=method
        )
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as ex:
            with ex:
                detail = ex.read().decode(errors="replace")
            raise RuntimeError(f"mock control {method} {path}: {ex.code} {detail}") from None

    def reset(self) -> None:
        """Back to the initial state: full bucket, empty request log."""
        self.call("POST", "/reset")

    def configure_throttle(self, capacity: int | None, refill_per_s: float | None) -> None:
        """Replace the ARM write bucket (full); ``capacity=None`` disables it."""
        body = {"enabled": capacity is not None, "capacity": capacity, "refill_per_s": refill_per_s}
        self.call("PUT", "/throttle", body)

    def counters(self) -> dict[str, Any]:
        """Requests served per route kind and per name."""
        return dict(self.call("GET", "/counters"))

    def route_count(self, route: str) -> int:
        """How many requests of one route kind were served."""
        return int(self.counters()["routes"].get(route, 0))

    def requests(self, route: str | None = None) -> list[dict[str, Any]]:
        """The request log (the newest 10 000 entries), optionally for one route kind."""
        suffix = f"?route={route}" if route else ""
        return list(self.call("GET", f"/requests{suffix}"))
