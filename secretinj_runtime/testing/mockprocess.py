"""The mock of the Azure services as a child process: ``secretinj-mock serve`` on a free port.

`start_mock` starts it and waits for the line that announces its URL; `MockProcess` then
gives the environment that points the runtime at it (what ``secretinj-mock env`` prints) and
calls its control API (``/_mock``). The child needs the ``[mock]`` extra installed where its
``secretinj-mock`` comes from; this module itself needs only ``requests``. For a mock in a
thread of the test process, see `secretinj_runtime.mock.testing.run_mock`.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests

from secretinj_runtime.testing.processes import (
    Process,
    ProcessError,
    child_environ,
    console_script,
)

_URL_LINE = re.compile(r"secretinj-mock listening on (http://\S+)")
MOCK_COMMAND = ("secretinj-mock", "secretinj_runtime.mock.cli")


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
    argv = [*console_script(*MOCK_COMMAND), "env", "--url", url]
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
    """Start ``secretinj-mock serve`` on a free port (or ``argv``); wait for its URL line.

    The mock logs to ``workdir/mock.log``; it writes no env file (``--no-env-file``), so a
    mock the user runs by hand keeps its record. ``state_file`` replaces the demo state.
    """
    if argv is None:
        argv = [*console_script(*MOCK_COMMAND), "serve"]
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
