"""secretinj_runtime.testing: processes, and the demo's log parsing, with stand-in processes."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from secretinj_runtime.testing import demo
from secretinj_runtime.testing import sample as procs

# A parent that ignores SIGTERM and leaves a child behind: the hard case for stop().
STUBBORN = (
    "import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
    "print(child.pid, flush=True); time.sleep(60)"
)


def _running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for init to reap it does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def test_stop_ends_the_whole_process_group(tmp_path: Path) -> None:
    proc = procs.Process(
        "stubborn", [sys.executable, "-c", STUBBORN], env=os.environ, log_path=tmp_path / "log"
    )
    deadline = time.monotonic() + 10
    while not proc.log().strip() and time.monotonic() < deadline:
        time.sleep(0.02)
    child = int(proc.log().split()[0])
    assert proc.stop(timeout_s=0.5) is not None
    assert proc.finished()
    assert not _running(child)


def test_wait_for_liveness_fails_fast_with_the_log_tail(tmp_path: Path) -> None:
    proc = procs.Process(
        "quitter",
        [sys.executable, "-c", "print('cannot start: no such thing'); raise SystemExit(3)"],
        env=os.environ,
        log_path=tmp_path / "log",
        url=f"http://127.0.0.1:{procs.free_port()}",
    )
    started = time.monotonic()
    with proc, pytest.raises(procs.ProcessError, match=r"code 3[\s\S]*no such thing"):
        procs.wait_for_liveness(proc, timeout_s=20)
    assert time.monotonic() - started < 10


def test_a_missing_program_is_a_process_error(tmp_path: Path) -> None:
    with pytest.raises(procs.ProcessError, match="cannot start"):
        procs.Process("nothing", [str(tmp_path / "nope")], env={}, log_path=tmp_path / "log")


def test_child_environ_drops_identity_and_deployment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZURE_CLIENT_ID", "someone")
    monkeypatch.setenv("IDENTITY_ENDPOINT", "http://elsewhere")
    monkeypatch.setenv("AOAI_API_KEY", "literal")
    monkeypatch.setenv("KEEP_ME", "1")
    env = procs.child_environ({"AOAI_API_KEY": "given"})
    assert "AZURE_CLIENT_ID" not in env
    assert "IDENTITY_ENDPOINT" not in env
    assert env["AOAI_API_KEY"] == "given"
    assert env["KEEP_ME"] == "1"
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(procs.ROOT)


def test_parse_exports() -> None:
    text = "export A=1\nexport B='two words'\n# comment\nexport C='it'\"'\"'s'\n"
    assert procs.parse_exports(text) == {"A": "1", "B": "two words", "C": "it's"}


def test_demo_reads_the_first_resolution_table_from_the_log() -> None:
    log = "\n".join(
        [
            "2026-01-01 00:00:00,000 I [1] azmlinfsrv - Invoking user's init function",
            "2026-01-01 00:00:00,001 I [1] score - secret resolution: 1 variable: 1 RESOLVED",
            "VARIABLE  STATUS    SOURCE",
            "KEY       RESOLVED  connection",
            "2026-01-01 00:00:00,002 I [1] azmlinfsrv - Users's init has completed successfully",
            "2026-01-01 00:00:00,003 I [2] score - secret resolution: 9 variables: other worker",
        ]
    )
    assert demo.resolution_table(log) == [
        "secret resolution: 1 variable: 1 RESOLVED",
        "VARIABLE  STATUS    SOURCE",
        "KEY       RESOLVED  connection",
    ]
    assert demo.resolution_table("nothing here") == []


@pytest.mark.parametrize(
    ("status", "answer", "problem"),
    [
        (502, {"error": "x"}, "answered 502"),
        (200, {"answer": "goodbye", "secrets": {}}, "unexpected answer"),
        (200, {"answer": "You said: hi"}, "no secrets map"),
    ],
)
def test_demo_checks_the_answer(status: int, answer: dict[str, object], problem: str) -> None:
    with pytest.raises(demo.DemoError, match=problem):
        demo.check_answer(status, answer, "hi")
