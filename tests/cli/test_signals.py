"""SIGTERM and SIGINT while ``secretinj`` resolves: exit at once, never start the command.

The container case runs ``secretinj`` as PID 1 of a new PID namespace (``unshare --pid
--fork --mount-proc``) and signals it from outside, as ``docker stop`` does: the kernel drops
a signal to PID 1 unless the process handles it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

from secretinj_runtime.mock.testing import MockServer
from tests.cli.clihelp import MODULE, REFERENCES, ROOT, Cli, assert_no_secret

UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc"]
#: The longest a signalled ``secretinj`` may take to exit (it takes milliseconds; the old
#: code took the rest of a 20 s access wait, or the rest of a slow fetch).
PROMPT_S = 3.0


@cache
def unshare_problem() -> str | None:
    """Why a PID namespace cannot be made here (None when it can)."""
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = subprocess.run(
        [*UNSHARE, "true"], capture_output=True, text=True, timeout=30, check=False
    )
    if probe.returncode != 0:
        return f"unshare --pid is not permitted here: {probe.stderr.strip()}"
    return None


def child_of(pid: int) -> int:
    """Return the pid of the (only) child of process ``pid``."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:
                continue
            if int(text[text.rindex(")") + 2 :].split()[1]) == pid:
                return int(stat.parent.name)
        time.sleep(0.01)
    raise AssertionError(f"process {pid} has no child")


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def signal_while_resolving(
    cli: Cli,
    argv: list[str],
    env: dict[str, str],
    sig: signal.Signals,
    resolving: Callable[[], bool],
    *,
    pid1: bool,
) -> tuple[int, float, str, str]:
    """Start ``argv``, send ``sig`` once ``resolving()`` holds; return code, seconds, output."""
    process = subprocess.Popen(
        argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        target = child_of(process.pid) if pid1 else process.pid
        wait_until(resolving, "the fetches to start")
        sent = time.monotonic()
        os.kill(target, sig)  # from outside the namespace, as a container runtime does
        out, err = process.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert_no_secret(cli.mock, out + err)
    assert "Traceback" not in err, err
    return process.returncode, took, out, err


def marker_command(tmp_path: Path) -> tuple[list[str], Path]:
    marker = tmp_path / "started"
    code = f"import pathlib; pathlib.Path({str(marker)!r}).touch(); print('STARTED')"
    return ["python", "-c", code], marker


needs_pid_namespace = pytest.mark.skipif(
    unshare_problem() is not None, reason=str(unshare_problem())
)


@needs_pid_namespace
def test_pid1_sigterm_during_the_role_propagation_wait(
    cli: Cli, azure_mock: MockServer, tmp_path: Path
) -> None:
    azure_mock.revoke()  # 403 until granted: `run` keeps retrying for SECRETINJ_ACCESS_WAIT_S
    command, marker = marker_command(tmp_path)
    env = cli.env({**REFERENCES, "SECRETINJ_ACCESS_WAIT_S": "20"})

    code, took, out, err = signal_while_resolving(
        cli,
        [*UNSHARE, *MODULE, "run", "--", *command],
        env,
        signal.SIGTERM,
        lambda: azure_mock.count("listsecrets") >= 2,  # refused once each: now waiting
        pid1=True,
    )

    assert code == 143, err
    assert took < PROMPT_S, f"exit took {took:.1f} s"
    assert out == ""
    assert not marker.exists()
    assert err.splitlines()[-1] == "secretinj: SIGTERM received; python not started"


@needs_pid_namespace
def test_pid1_sigterm_during_a_slow_fetch_never_starts_the_command(
    cli: Cli, azure_mock: MockServer, tmp_path: Path
) -> None:
    azure_mock.set_latency("listsecrets", 8)
    command, marker = marker_command(tmp_path)

    code, took, out, err = signal_while_resolving(
        cli,
        [*UNSHARE, *MODULE, "run", "--", *command],
        cli.env(REFERENCES),
        signal.SIGTERM,
        lambda: azure_mock.count("msi") >= 1,  # the token is there: ListSecrets is underway
        pid1=True,
    )

    assert code == 143, err
    assert took < PROMPT_S, f"exit took {took:.1f} s"
    assert out == ""
    assert not marker.exists()  # the old code ignored the SIGTERM and then started it
    assert azure_mock.count("listsecrets") == 0  # none had finished


def test_sigint_with_several_fetches_in_flight_exits_at_once(
    cli: Cli, azure_mock: MockServer, tmp_path: Path
) -> None:
    azure_mock.set_latency("listsecrets", 8)  # two connections: two threads of the pool
    command, marker = marker_command(tmp_path)

    code, took, _, err = signal_while_resolving(
        cli,
        [*MODULE, "run", "--", *command],
        cli.env(REFERENCES),
        signal.SIGINT,
        lambda: azure_mock.count("keyvault") >= 1,  # the vault answered; ARM still busy
        pid1=False,
    )

    assert code == 130, err
    assert took < PROMPT_S, f"exit took {took:.1f} s (the pool was waited for)"
    assert not marker.exists()
    assert err.splitlines()[-1] == "secretinj: SIGINT received; python not started"


def test_check_exits_at_once_on_sigterm(cli: Cli, azure_mock: MockServer) -> None:
    azure_mock.set_latency("listsecrets", 8)

    code, took, out, err = signal_while_resolving(
        cli,
        [*MODULE, "check"],
        cli.env(REFERENCES),
        signal.SIGTERM,
        lambda: azure_mock.count("keyvault") >= 1,
        pid1=False,
    )

    assert (code, out) == (143, "")
    assert took < PROMPT_S
    assert err == "secretinj: SIGTERM received; nothing checked\n"


def signal_masks(status: str) -> tuple[int, int]:
    """Return the (ignored, caught) signal masks of a /proc/<pid>/status text."""
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    return int(fields["SigIgn"], 16), int(fields["SigCgt"], 16)


def bit(sig: signal.Signals) -> int:
    return 1 << (sig - 1)


def test_the_command_gets_default_signal_dispositions(cli: Cli) -> None:
    result = cli("run", "--", "cat", "/proc/self/status", env=cli.env(REFERENCES))

    assert result.returncode == 0, result.stderr
    ignored, caught = signal_masks(result.stdout)
    for sig in (signal.SIGTERM, signal.SIGINT):
        assert not ignored & bit(sig), sig
        assert not caught & bit(sig), sig


def test_an_ignored_sigint_stays_ignored_for_the_command(cli: Cli) -> None:
    """``nohup`` and background jobs ignore SIGINT: the command inherits that, as with exec."""
    script = 'trap "" INT; exec "$@"'
    result = subprocess.run(
        ["sh", "-c", script, "sh", *MODULE, "run", "--", "cat", "/proc/self/status"],
        env=cli.env(REFERENCES),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    ignored, caught = signal_masks(result.stdout)
    assert ignored & bit(signal.SIGINT)
    assert not ignored & bit(signal.SIGTERM)
    assert not caught & (bit(signal.SIGINT) | bit(signal.SIGTERM))


def test_outside_the_main_thread_nothing_changes() -> None:
    """Python sets handlers only in the main thread; ``cli.main`` run elsewhere still works."""
    import io
    import threading

    from secretinj_runtime._signals import exit_on_signals

    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    seen: list[object] = []

    def work() -> None:
        with exit_on_signals(io.StringIO(), "nothing"):
            seen.extend(signal.getsignal(sig) for sig in before)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(10)
    assert seen == list(before.values())
    assert {sig: signal.getsignal(sig) for sig in before} == before
