"""The sample score under the real azmlinfsrv, its secrets from the real mock (processes)."""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from secretinj_runtime.mock import defaults
from secretinj_runtime.testing import demo
from secretinj_runtime.testing import sample as procs
from tests.expected import ALL_FETCHED

from .conftest import StartServer

pytestmark = pytest.mark.e2e

ROLE = "Azure Machine Learning Workspace Connection Secrets Reader"
MOCK_VALUES = (
    defaults.AOAI_KEY,
    defaults.OPENAI_API_KEY,
    defaults.OTHER_KEY,
    *defaults.DB_PASSWORD_VERSIONS,
)


def test_scoring_succeeds_because_the_model_api_accepted_the_resolved_key(
    start_server: StartServer, mock: procs.MockProcess
) -> None:
    server = start_server()
    status, body = procs.score(server.url, {"text": "hello secret injection"})
    assert status == 200, body
    assert body == {"answer": "You said: hello secret injection (3 words)", "secrets": ALL_FETCHED}
    assert mock.count("downstream", "gpt-demo") == 1
    assert mock.count("listsecrets", "aoai-conn") == 1


def test_a_pre_injected_literal_is_reported_injected(
    start_server: StartServer, mock: procs.MockProcess
) -> None:
    server = start_server({"AOAI_API_VERSION": "2024-02-01"})
    status, body = procs.score(server.url, {"text": "x"})
    assert status == 200
    assert body["secrets"] == {**ALL_FETCHED, "AOAI_API_VERSION": "injected"}


def test_a_revoked_role_fails_init_and_the_log_names_it(tmp_path: Path) -> None:
    state = defaults.default_state_dict()
    state["access"]["workspace"] = False
    state_file = tmp_path / "state.yaml"
    state_file.write_text(yaml.safe_dump(state))
    with procs.start_mock(tmp_path, state_file=state_file) as mock:
        env = {**mock.environ(), **procs.deployment_variables()}
        with procs.start_scorer(tmp_path, env) as server:
            procs.wait_for_log(server, r"User's init function failed")
            log = server.log()
            assert ROLE in log
            failures = re.findall(r"AOAI_API_KEY \(\$\{\{azureml://.*?\}\}\): ACCESS_DENIED", log)
            assert len(failures) == 1, "each failure said once (the exception carries it)"
            try:  # azmlinfsrv 1.4 stops (worker failed to boot); either way no 200
                answer = requests.post(f"{server.url}/score", json={"text": "x"}, timeout=5)
            except requests.ConnectionError:
                pass
            else:
                assert answer.status_code != 200
        assert mock.count("downstream") == 0


def test_a_key_rotated_while_serving_is_fetched_again_on_401(
    start_server: StartServer, mock: procs.MockProcess
) -> None:
    server = start_server()
    assert procs.score(server.url, {"text": "before"})[0] == 200
    mock.control("POST", "/connections/aoai-conn/rotate", {"credential": "key"})
    status, body = procs.score(server.url, {"text": "after rotation"})
    assert status == 200, body
    assert body["answer"] == "You said: after rotation (2 words)"
    assert mock.count("listsecrets", "aoai-conn") == 2
    assert "fetching AOAI_API_KEY again" in server.log()


def test_the_debug_log_holds_no_secret_value(
    start_server: StartServer, mock: procs.MockProcess
) -> None:
    server = start_server({"AZUREML_LOG_LEVEL": "DEBUG"})
    assert procs.score(server.url, {"text": "one"})[0] == 200
    rotated = mock.control("POST", "/connections/aoai-conn/rotate", {"credential": "key"})
    assert procs.score(server.url, {"text": "two"})[0] == 200
    server.stop()
    log = server.log()
    assert " D [" in log  # DEBUG records were written
    assert "listsecrets" in log  # ... including the runtime's HTTP calls
    for value in (*MOCK_VALUES, rotated["value"]):
        assert value not in log


def test_two_workers_each_resolve(start_server: StartServer, mock: procs.MockProcess) -> None:
    server = start_server(worker_count=2)
    procs.wait_for_log(server, r"Worker with pid \d+ ready for serving traffic", count=2)
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(
            pool.map(lambda i: procs.score(server.url, {"text": f"request {i}"}), range(8))
        )
    assert [status for status, _ in answers] == [200] * 8
    assert all(body["secrets"] == ALL_FETCHED for _, body in answers)
    log = server.log()
    workers = set(re.findall(r"\[(\d+)\] score - secret resolution: 6 variables", log))
    assert len(workers) == 2, log
    assert mock.count("listsecrets", "aoai-conn") == 2  # one per worker process


def test_the_demo_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main([]) == 0
    out = capsys.readouterr().out
    assert "answer:  You said: hello secret injection (3 words)" in out
    assert re.search(r"AOAI_API_VERSION\s+PRESENT\s+injected", out)
    assert re.search(r"DB_PASSWORD\s+RESOLVED\s+keyvault", out)
    assert "no process left behind" in out
    assert "demo OK" in out
    for value in MOCK_VALUES:
        assert value not in out


def test_the_demo_fails_clearly_and_cleans_up(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = {"AOAI_API_KEY": "${{azureml://connections/no-such-conn/credentials/key}}"}
    original = procs.deployment_variables
    monkeypatch.setattr(procs, "deployment_variables", lambda: {**original(), **broken})
    started: list[procs.Process] = []
    start_scorer = procs.start_scorer

    def recording_start_scorer(*args: Any, **kwargs: Any) -> procs.Process:
        started.append(start_scorer(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(procs, "start_scorer", recording_start_scorer)
    assert demo.main([]) == 1
    err = capsys.readouterr().err
    assert "demo FAILED: azmlinfsrv's init() failed; it logged:" in err
    assert re.search(r"AOAI_API_KEY \(\$\{\{.*\}\}\): NOT_FOUND", err)  # not a traceback
    assert "Traceback" not in err
    assert started
    assert started[0].finished()


def test_the_smoke_script_passes_without_docker() -> None:
    result = subprocess.run(
        [sys.executable, str(procs.ROOT / "docker" / "smoke.py"), "--no-docker"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=procs.ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "smoke OK (local processes)" in result.stdout
