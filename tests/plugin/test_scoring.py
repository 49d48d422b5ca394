"""ScoringServers and start_scoring_server: what the scoring_server fixture is made of."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from secretinj_runtime.testing import ProcessError, ScoringServers, start_scoring_server
from secretinj_runtime.testing import scoring as scoring_module
from tests.plugin.runner import running_with

#: Says what the server's environment and working directory were; resolves nothing.
ECHO_SCORE = """
import os


def init():
    pass


def run(raw_data):
    names = ("GIVEN", "BASE", "AZURE_CLIENT_ID", "MSI_ENDPOINT", "AML_APP_ROOT")
    return {"cwd": os.getcwd(), **{name: os.environ.get(name) for name in names}}
"""


@pytest.fixture
def echo_score(tmp_path: Path) -> Path:
    app = tmp_path / "app"
    app.mkdir()
    (app / "score.py").write_text(ECHO_SCORE)
    return app / "score.py"


@pytest.mark.e2e
def test_a_server_gets_a_clean_environment_the_base_and_its_own_variables(
    tmp_path: Path, echo_score: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_CLIENT_ID", "the-developer-s-identity")
    monkeypatch.setenv("MSI_ENDPOINT", "http://elsewhere/token")
    base = {"BASE": "base", "GIVEN": "base"}

    with ScoringServers(tmp_path, base) as servers:
        server = servers(echo_score, {"GIVEN": "given"})
        status, answer = server.score({})

    assert status == 200, answer
    assert answer == {
        "cwd": str(echo_score.parent),
        "GIVEN": "given",
        "BASE": "base",
        "AZURE_CLIENT_ID": None,
        "MSI_ENDPOINT": None,
        "AML_APP_ROOT": str(echo_score.parent),
    }
    assert server.finished()
    assert running_with(echo_score) == []


@pytest.mark.e2e
def test_without_waiting_the_server_is_returned_at_once(tmp_path: Path, echo_score: Path) -> None:
    with ScoringServers(tmp_path) as servers:
        server = servers(echo_score, wait=False)
        assert servers.started == [server]
        assert server.wait_ready(timeout_s=60) >= 0
        assert server.score({})[0] == 200
    assert server.finished()


def test_a_missing_entry_script_is_named(tmp_path: Path) -> None:
    with pytest.raises(ProcessError, match=r"entry script .*nope\.py: no such file"):
        start_scoring_server(tmp_path, tmp_path / "nope.py")


def test_a_missing_azmlinfsrv_says_what_to_install(
    tmp_path: Path, echo_score: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "elsewhere" / "python"))
    monkeypatch.setitem(sys.modules, scoring_module.SERVER_MODULE, None)
    with pytest.raises(ProcessError, match=r"pip install 'secretinj-runtime\[server\]'"):
        start_scoring_server(tmp_path, echo_score)


def test_argv_needs_a_port(tmp_path: Path, echo_score: Path) -> None:
    with pytest.raises(ValueError, match="port: required with argv"):
        start_scoring_server(tmp_path, echo_score, argv=["azmlinfsrv"])


def test_stop_all_reports_a_group_that_outlives_the_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "score.py"
    script.write_text("def init(): pass\ndef run(raw): return {}\n")
    never_stops = [sys.executable, "-c", "import time; time.sleep(60)"]
    servers = ScoringServers(tmp_path, stop_timeout_s=0.2)
    server = start_scoring_server(tmp_path, script, argv=never_stops, port=1)
    servers.started.append(server)
    monkeypatch.setattr(server, "finished", lambda: False)  # as if a member survived SIGKILL

    with pytest.raises(ProcessError, match=rf"process group\(s\) {server.pid} outlived the stop"):
        servers.stop_all()
    assert server.popen.poll() is not None  # the group was still signalled
