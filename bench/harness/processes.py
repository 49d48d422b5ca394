"""Child processes of a benchmark: Python children, timed spawns, a process group's CPU.

Every child runs from the checkout's root. A failing child raises `RuntimeError` with the
end of its stderr, never a bare `CalledProcessError`; a child that hangs is stopped after
``timeout_s``. Long-running servers (the mock, azmlinfsrv) are `secretinj_runtime.testing`'s
processes: see `bench.harness.mock`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from secretinj_runtime.testing.sample import ROOT

PYTHON = sys.executable


def _shown(argv: Sequence[str]) -> str:
    """The command for an error message, with inline code elided."""
    return " ".join(a if len(a) <= 60 and "\n" not in a else "<...>" for a in argv[:4])


def run_child(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, timeout_s: float = 300.0
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in the checkout, output captured as text; raise if it fails or hangs.

    ``env`` None inherits this process's environment.
    """
    try:
        done = subprocess.run(
            list(argv),
            env=None if env is None else dict(env),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{_shown(argv)} did not finish in {timeout_s:g} s") from None
    if done.returncode != 0:
        raise RuntimeError(
            f"{_shown(argv)} exited with status {done.returncode}:\n{done.stderr[-2000:]}"
        )
    return done


def python_figure(
    code: str,
    *args: str,
    env: Mapping[str, str] | None = None,
    python: str = PYTHON,
    timeout_s: float = 300.0,
) -> float:
    """Run ``python -c code args...``; return the last number it prints."""
    out = run_child([python, "-c", code, *args], env=env, timeout_s=timeout_s).stdout
    words = out.split()
    if not words:
        raise RuntimeError(f"{_shown([python, '-c', code])} printed no figure")
    return float(words[-1])


def spawn_timed(argv: Sequence[str], env: Mapping[str, str], null_fd: int) -> tuple[float, float]:
    """Run one child with its stdio on ``null_fd``; return its wall and CPU (user + sys) ms.

    ``os.posix_spawn`` + ``os.wait4``: the least the parent adds to the child's wall time,
    and the child's own resource usage.
    """
    actions = [(os.POSIX_SPAWN_DUP2, null_fd, fd) for fd in (0, 1, 2)]
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], list(argv), dict(env), file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    elapsed_ms = (time.perf_counter_ns() - t0) / 1e6
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(
            f"{_shown(argv[:2])} exited with status {os.waitstatus_to_exitcode(status)}"
        )
    return elapsed_ms, (usage.ru_utime + usage.ru_stime) * 1000


def group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a process group."""
    ticks = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # gone meanwhile
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, pgrp, ...
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")
