"""``secretinj-mock``: serve (subprocess, SIGTERM), env, state."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml

from secretinj_runtime.mock.cli import main
from secretinj_runtime.mock.defaults import default_state
from secretinj_runtime.mock.model import DEFAULT_WORKSPACE
from secretinj_runtime.mock.state import parse_state

SERVE = [
    sys.executable,
    "-c",
    "import sys; from secretinj_runtime.mock.cli import main; sys.exit(main())",
]


def start(*args: str) -> subprocess.Popen[str]:
    if "--env-file" not in args:
        args = (*args, "--no-env-file")  # keep the user's runtime directory out of it
    return subprocess.Popen(
        [*SERVE, "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_url_and_exits_0_on_signal(sig: signal.Signals, tmp_path: Path) -> None:
    state_file = tmp_path / "state.yaml"
    state_file.write_text(
        "connections:\n  aoai-conn:\n    authType: ApiKey\n    category: AzureOpenAI\n"
        "    target: '{mock_url}/openai'\n    credentials: {key: k1}\n"
    )
    proc = start("--state", str(state_file), "--no-throttle", "--latency-ms", "1")
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("secretinj-mock listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        assert not url.endswith(":0")
        assert requests.get(f"{url}/_mock/health", timeout=10).json()["url"] == url
        throttle = requests.get(f"{url}/_mock/throttle", timeout=10).json()
        assert throttle["enabled"] is False
        assert requests.get(f"{url}/_mock/latency", timeout=10).json()["keyvault"] == 0.001
        out = "".join(proc.stdout.readline() for _ in range(6))
        proc.send_signal(sig)
        rest, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert rest == ""  # the URL line, a comment and five export lines
    assert out.startswith('# in another shell: eval "$(secretinj-mock env)"\n')  # no file
    assert "recorded in" not in out
    exports = dict(line.split("=", 1) for line in out.splitlines()[1:])
    assert exports["export SECRETINJ_ARM_ENDPOINT"] == url
    assert "k1" not in err


def test_serve_bucket_flags() -> None:
    proc = start("--bucket-capacity", "5", "--bucket-refill-per-s", "2")
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().rsplit(" ", 1)[1]
        assert requests.get(f"{url}/_mock/throttle", timeout=10).json()["capacity"] == 5
        proc.terminate()
        proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0


def test_serve_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--host", "0.0.0.0"]) == 2  # noqa: S104 - refused
    assert "--allow-remote" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("connections:\n  aoai:\n    authType: Foo\n    category: c\n    target: t\n")
    assert main(["serve", "--state", str(bad), "--port", "0"]) == 2
    assert "connections.aoai.authType: unknown auth type 'Foo'" in capsys.readouterr().err
    assert main(["serve", "--no-throttle", "--bucket-capacity", "3"]) == 2
    assert "--no-throttle" in capsys.readouterr().err
    assert main(["serve", "--bucket-capacity", "0"]) == 2
    assert main(["serve", "--latency-ms", "-1"]) == 2
    assert main(["serve", "--port", "70000"]) == 2


def test_env_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["env", "--url", "http://127.0.0.1:9999/", "--msi-secret", "it's secret"]) == 0
    lines = capsys.readouterr().out.splitlines()
    values = dict(shlex.split(line.removeprefix("export "))[0].split("=", 1) for line in lines)
    assert all(line.startswith("export ") for line in lines)
    assert values == {
        "MSI_ENDPOINT": "http://127.0.0.1:9999/msi/token",
        "MSI_SECRET": "it's secret",
        "SECRETINJ_ARM_ENDPOINT": "http://127.0.0.1:9999",
        "SECRETINJ_KEYVAULT_ENDPOINT": "http://127.0.0.1:9999/keyvault",
        "SECRETINJ_WORKSPACE_ID": DEFAULT_WORKSPACE,
    }


def test_env_takes_workspace_from_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = (
        "/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w"
    )
    path = tmp_path / "s.json"
    path.write_text(f'{{"workspace": "{ws}"}}')
    url = ["--url", "http://127.0.0.1:9999"]
    assert main(["env", "--state", str(path), *url]) == 0
    assert f"export SECRETINJ_WORKSPACE_ID={ws}" in capsys.readouterr().out
    path.write_text('{"workspace": 3}')
    assert main(["env", "--state", str(path), *url]) == 2


def test_state_output_round_trips(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["state"]) == 0
    out = capsys.readouterr().out
    assert parse_state(yaml.safe_load(out)) == default_state()


def test_console_script_help() -> None:
    script = Path(sys.executable).with_name("secretinj-mock")
    if not script.exists():
        pytest.skip("console script not installed")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True)
    assert "serve" in result.stdout
    assert "env" in result.stdout
