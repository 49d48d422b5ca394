"""The mock that finds itself: `serve` records its environment, `env` reads it back."""

from __future__ import annotations

import os
import shlex
import signal
import stat
import subprocess
from pathlib import Path

import pytest

from secretinj_runtime.mock.cli import main
from secretinj_runtime.mock.envfile import (
    ENV_FILE_VARIABLE,
    default_env_file,
    mock_env,
    read_record,
    remove_record,
    write_record,
)
from secretinj_runtime.mock.testing import MockServer
from secretinj_runtime.testing import free_port, parse_exports
from tests.mock.test_mock_cli import SERVE, start

WS = "/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w"


def exports_of(text: str) -> dict[str, str]:
    return parse_exports(text)


def test_serve_records_env_removes_it_on_exit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = tmp_path / "run" / "env"
    state = tmp_path / "state.json"
    state.write_text(f'{{"workspace": "{WS}"}}')
    proc = start("--env-file", str(env_file), "--state", str(state), "--msi-secret", "s 1")
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().rsplit(" ", 1)[1]
        comment = proc.stdout.readline()
        assert comment.startswith('# in another shell: eval "$(secretinj-mock env)"')
        assert f"recorded in {env_file}" in comment
        printed = exports_of("".join(proc.stdout.readline() for _ in range(5)))
        assert printed == mock_env(url, "s 1", WS)
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(env_file.parent.stat().st_mode) == 0o700
        # `env` with no arguments prints what serve recorded, once the mock answers there
        assert main(["env", "--env-file", str(env_file)]) == 0
        assert exports_of(capsys.readouterr().out) == printed
        assert main(["env", "--env-file", str(env_file), "--token-shape", "2019-08-01"]) == 0
        app = exports_of(capsys.readouterr().out)
        assert app["IDENTITY_ENDPOINT"] == f"{url}/msi/token"
        assert app["IDENTITY_HEADER"] == "s 1"
        assert "MSI_ENDPOINT" not in app
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert not env_file.exists()
    assert main(["env", "--env-file", str(env_file)]) == 1
    err = capsys.readouterr().err
    assert f"no mock is running: nothing recorded in {env_file}" in err
    assert "secretinj-mock serve" in err


def test_env_reports_a_dead_mock(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env_file = tmp_path / "env"
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    write_record(env_file, url, mock_env(url, "s", WS), pid=4242)
    assert main(["env", "--env-file", str(env_file)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"no mock is running: none answers at {url}" in captured.err
    assert "pid 4242" in captured.err


def test_env_finds_the_default_record(
    azure_mock: MockServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env_file = tmp_path / "default-env"
    monkeypatch.setenv(ENV_FILE_VARIABLE, str(env_file))
    write_record(env_file, azure_mock.url, azure_mock.env)
    assert main(["env"]) == 0
    assert exports_of(capsys.readouterr().out) == azure_mock.env
    state = tmp_path / "s.json"
    state.write_text(f'{{"workspace": "{WS}"}}')
    assert main(["env", "--state", str(state)]) == 0  # the workspace of another state
    assert exports_of(capsys.readouterr().out)["SECRETINJ_WORKSPACE_ID"] == WS
    # the lines are what a shell evaluates: eval "$(secretinj-mock env)"
    script = f'eval "$({shlex.join([*SERVE, "env"])})" && printf %s "$SECRETINJ_ARM_ENDPOINT"'
    shell = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, ENV_FILE_VARIABLE: str(env_file)},
        timeout=30,
    )
    assert shell.stdout == azure_mock.url


def test_not_a_record_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "env"
    other.write_text("PATH=/bin\n")
    assert main(["env", "--env-file", str(other)]) == 2
    assert "was not written by `secretinj-mock serve`" in capsys.readouterr().err


def test_remove_record_leaves_another_servers_record(tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    write_record(env_file, "http://127.0.0.1:1", mock_env("http://127.0.0.1:1", "s", WS), pid=1)
    assert not remove_record(env_file, pid=2)
    assert read_record(env_file) is not None
    assert remove_record(env_file, pid=1)
    assert read_record(env_file) is None
    assert not remove_record(env_file, pid=1)


def test_default_location(tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir()
    assert default_env_file({"XDG_RUNTIME_DIR": str(runtime)}) == runtime / "secretinj-mock/env"
    cache = {"XDG_RUNTIME_DIR": str(tmp_path / "gone"), "XDG_CACHE_HOME": str(tmp_path / "c")}
    assert default_env_file(cache) == tmp_path / "c" / "secretinj-mock" / "env"
    assert default_env_file({}) == Path.home() / ".cache" / "secretinj-mock" / "env"
    explicit = {ENV_FILE_VARIABLE: str(tmp_path / "x"), "XDG_RUNTIME_DIR": str(runtime)}
    assert default_env_file(explicit) == tmp_path / "x"


def test_serve_leaves_another_live_mocks_record_alone(
    azure_mock: MockServer, tmp_path: Path
) -> None:
    env_file = tmp_path / "env"
    write_record(env_file, azure_mock.url, azure_mock.env, pid=4242)
    proc = start("--env-file", str(env_file))
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().rsplit(" ", 1)[1]
        comment = proc.stdout.readline()
        assert f"records another running mock ({azure_mock.url}, pid 4242)" in comment
        assert "give --env-file" in comment
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    record = read_record(env_file)
    assert record is not None
    assert record.url == azure_mock.url != url
    # a dead mock's record is replaced
    write_record(env_file, f"http://127.0.0.1:{free_port()}", azure_mock.env, pid=4243)
    proc = start("--env-file", str(env_file))
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().rsplit(" ", 1)[1]
        assert f"recorded in {env_file}" in proc.stdout.readline()
        record = read_record(env_file)
        assert record is not None
        assert record.url == url
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert not env_file.exists()
