"""Smoke test of the sample image: bring up mock + scorer, wait for liveness, score, tear down.

    python docker/smoke.py               # docker compose -f docker/compose.yaml up -d --build
    python docker/smoke.py --no-docker   # the same commands as local processes, free ports

``--no-docker`` reads the commands from the same definitions the containers use: the mock's
``command`` and the scorer's ``environment`` from ``compose.yaml``, the scorer's command from
the Dockerfile's ``CMD``; only ports and the script path change. Exit 0 when the answer is
right, 1 with a message otherwise.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests
import yaml

DOCKER_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCKER_DIR.parent))  # run as a script from anywhere: find the checkout

from sample_score import procs  # noqa: E402

COMPOSE_FILE = DOCKER_DIR / "compose.yaml"
DOCKERFILE = DOCKER_DIR / "Dockerfile"
MOCK_PORT = 8731
SCORER_PORT = 5001
APP_SCRIPT = "/var/azureml-app/score.py"
TEXT = "hello from the smoke test"
EXPECTED_SOURCES = {
    "AOAI_ENDPOINT": "connection",
    "AOAI_API_KEY": "connection",
    "AOAI_API_VERSION": "connection",
    "AOAI_DEPLOYMENT": "connection",
    "OTHER_API_KEY": "connection",
    "DB_PASSWORD": "keyvault",
}


class SmokeError(RuntimeError):
    """A smoke check failed; the message says which."""


def compose_services(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """Return the ``services`` of the compose file."""
    data = yaml.safe_load(path.read_text())
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict) or not {"mock", "scorer"} <= services.keys():
        raise SmokeError(f"{path}: expected services 'mock' and 'scorer'")
    return services


def compose_environment(service: dict[str, Any]) -> dict[str, str]:
    """Return a service's environment as compose passes it (``$$`` is a literal ``$``)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v).replace("$$", "$") for k, v in env.items()}


def dockerfile_cmd(path: Path = DOCKERFILE) -> list[str]:
    """Return the Dockerfile's ``CMD`` (exec form)."""
    found = re.search(r"^CMD\s+(\[.*\])\s*$", path.read_text(), re.MULTILINE)
    if not found:
        raise SmokeError(f"{path}: no exec-form CMD")
    cmd = json.loads(found.group(1))
    if not isinstance(cmd, list) or not all(isinstance(w, str) for w in cmd):
        raise SmokeError(f"{path}: CMD is not a list of strings")
    return cmd


def _replace_port(argv: Sequence[str], old: int, new: int) -> list[str]:
    out = list(argv)
    if "--port" not in out or out[out.index("--port") + 1] != str(old):
        raise SmokeError(f"expected '--port {old}' in {argv}")
    out[out.index("--port") + 1] = str(new)
    return out


def _local(argv: Sequence[str], module: str) -> list[str]:
    """Run a container command's console script from this interpreter's environment."""
    return [*procs.console_script(argv[0], module), *argv[1:]]


def check_answer(status: int, answer: Any, text: str) -> None:
    """Raise `SmokeError` unless /score answered the model's reply and the expected sources."""
    if status != 200 or not isinstance(answer, dict):
        raise SmokeError(f"/score answered {status}: {answer}")
    if answer.get("answer") != f"You said: {text} ({len(text.split())} words)":
        raise SmokeError(f"unexpected answer: {answer.get('answer')!r}")
    if answer.get("secrets") != EXPECTED_SOURCES:
        raise SmokeError(f"unexpected secret sources: {answer.get('secrets')}")


def smoke_local(timeout_s: float) -> None:
    """Run the compose file's commands as local processes on free ports; check one score."""
    services = compose_services()
    mock_port, scorer_port = procs.free_port(), procs.free_port()
    mock_argv = _replace_port(services["mock"]["command"], MOCK_PORT, mock_port)
    scorer_argv = _replace_port(dockerfile_cmd(), SCORER_PORT, scorer_port)
    scorer_argv = [procs.SCORE_SCRIPT.as_posix() if w == APP_SCRIPT else w for w in scorer_argv]
    env = {
        k: v.replace(f"127.0.0.1:{MOCK_PORT}", f"127.0.0.1:{mock_port}")
        for k, v in compose_environment(services["scorer"]).items()
    }
    with tempfile.TemporaryDirectory(prefix="secretinj-smoke-") as tmp:
        workdir = Path(tmp)
        mock = procs.start_mock(
            workdir, argv=_local(mock_argv, "secretinj_runtime.mock.cli"), timeout_s=timeout_s
        )
        with mock:
            print(f"smoke: mock at {mock.url}", flush=True)
            argv = _local(scorer_argv, "azureml_inference_server_http.amlserver")
            with procs.start_scorer(workdir, env, argv=argv, port=scorer_port) as server:
                took = procs.wait_for_liveness(server, timeout_s)
                print(f"smoke: azmlinfsrv live at {server.url} after {took:.1f} s", flush=True)
                status, answer = procs.score(server.url, {"text": TEXT})
                check_answer(status, answer, TEXT)
        if not (mock.finished() and server.finished()):
            raise SmokeError("a process outlived the smoke test")


def _docker(*args: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
    cmd = ["docker", *args]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except FileNotFoundError:
        raise SmokeError("the docker CLI is not installed (try --no-docker)") from None
    except subprocess.TimeoutExpired:
        raise SmokeError(f"docker {' '.join(args[:3])} took over {timeout_s:.0f} s") from None


def _compose(*args: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
    return _docker("compose", "-f", str(COMPOSE_FILE), *args, timeout_s=timeout_s)


def _preflight() -> None:
    if _docker("compose", "version", timeout_s=30).returncode != 0:
        raise SmokeError(
            "`docker compose` is not available (install the compose plugin, or use --no-docker)"
        )
    info = _docker("info", "--format", "{{.ServerVersion}}", timeout_s=30)
    if info.returncode != 0:
        reason = info.stderr.strip().splitlines()[-1:] or ["no answer"]
        raise SmokeError(f"the docker engine is not reachable: {reason[0]} (or use --no-docker)")


def smoke_docker(timeout_s: float) -> None:
    """Build and start the compose pair, check one score, always tear it down."""
    _preflight()
    up = _compose("up", "-d", "--build", timeout_s=max(timeout_s, 900))
    try:
        if up.returncode != 0:
            raise SmokeError(f"docker compose up failed:\n{up.stderr.strip()[-2000:]}")
        url = f"http://127.0.0.1:{SCORER_PORT}"
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if requests.get(f"{url}/", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                logs = _compose("logs", "--no-color", "--tail", "40", timeout_s=60).stdout
                raise SmokeError(f"the scorer was not live within {timeout_s:.0f} s:\n{logs}")
            time.sleep(0.5)
        print(f"smoke: scorer live at {url}", flush=True)
        status, answer = procs.score(url, {"text": TEXT})
        check_answer(status, answer, TEXT)
    finally:
        down = _compose("down", "--volumes", "--remove-orphans", timeout_s=120)
        if down.returncode != 0:
            print(f"smoke: docker compose down failed: {down.stderr.strip()}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the smoke test; return 0 on success, 1 on failure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--no-docker", action="store_true", help="run the same commands as local processes"
    )
    parser.add_argument("--timeout-s", type=float, default=60.0, help="readiness deadline")
    args = parser.parse_args(argv)
    mode = "local processes" if args.no_docker else "docker compose"
    try:
        (smoke_local if args.no_docker else smoke_docker)(args.timeout_s)
    except (SmokeError, procs.ProcessError, requests.RequestException, OSError) as ex:
        print(f"smoke FAILED ({mode}): {ex}", file=sys.stderr, flush=True)
        return 1
    print(f"smoke OK ({mode}): /score answered with the resolved secrets", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
