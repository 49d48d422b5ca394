"""``azmlinfsrv`` on a scoring script, as a child process: start, wait for it, score, stop.

`start_scoring_server` runs the real Azure ML inference server (``azmlinfsrv``, the
``[server]`` extra) on one ``score.py`` in a clean environment plus the variables it is
given; `ScoringServers` starts any number of them for one test and stops every process group
at the end (the ``scoring_server`` fixture is one). `deployment_variables` reads a
deployment YAML's ``environment_variables`` the way ``secretinj run --deployment`` does.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import requests

from secretinj_runtime.testing.processes import (
    Process,
    ProcessError,
    child_environ,
    free_port,
    wait_for_liveness,
)

SERVER_MODULE = "azureml_inference_server_http"
SERVER_HINT = (
    "azmlinfsrv is not installed: pip install 'secretinj-runtime[server]' "
    "(the azureml-inference-server-http package)"
)


class ScoringServer(Process):
    """``azmlinfsrv`` on one scoring script; ``url`` is its base URL (``http://127.0.0.1:N``)."""

    def __init__(
        self,
        entry_script: Path,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        log_path: Path,
        url: str,
    ) -> None:
        super().__init__(
            "azmlinfsrv", argv, env=env, log_path=log_path, cwd=entry_script.parent, url=url
        )
        self.entry_script = entry_script

    def wait_ready(self, timeout_s: float = 60.0) -> float:
        """Wait until ``GET /`` answers 200 (``init()`` has run); return the seconds it took."""
        return wait_for_liveness(self, timeout_s)

    def score(self, body: object, timeout_s: float = 30.0) -> tuple[int, Any]:
        """POST ``body`` as JSON to ``/score``; return the status and the decoded answer."""
        return score(self.url, body, timeout_s)


def score(url: str, body: object, timeout_s: float = 30.0) -> tuple[int, Any]:
    """POST ``body`` as JSON to ``url/score``; return the status and the decoded answer."""
    response = requests.post(f"{url}/score", json=body, timeout=timeout_s)
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, response.text


def azmlinfsrv_command() -> list[str]:
    """Return the command that runs ``azmlinfsrv`` in this interpreter's environment."""
    script = Path(sys.executable).parent / "azmlinfsrv"
    if script.exists():
        return [str(script)]
    if importlib.util.find_spec(SERVER_MODULE) is None:
        raise ProcessError(SERVER_HINT)
    return [sys.executable, "-m", f"{SERVER_MODULE}.amlserver"]


def _gunicorn_args() -> str:
    # Recent gunicorn opens a control socket at a fixed path in $HOME: two servers at once
    # would fight over it. The local runs do not need it.
    try:
        settings = importlib.import_module("gunicorn.config").KNOWN_SETTINGS
    except ImportError:  # pragma: no cover - azmlinfsrv always brings gunicorn
        return ""
    names = {setting.name for setting in settings}
    return "--no-control-socket" if "control_socket_disable" in names else ""


def start_scoring_server(
    workdir: Path,
    entry_script: str | os.PathLike[str],
    env: Mapping[str, str] | None = None,
    *,
    argv: Sequence[str] | None = None,
    port: int | None = None,
    worker_count: int = 1,
    log_name: str = "azmlinfsrv.log",
) -> ScoringServer:
    """Start ``azmlinfsrv --entry_script ENTRY_SCRIPT`` on a free port; do not wait for it.

    The server runs in the script's directory (``AML_APP_ROOT``, as in Azure ML), with this
    process's environment minus identity and deployment variables, plus ``env``; it logs to
    ``workdir/log_name``. ``argv`` replaces the command (e.g. ``secretinj run -- azmlinfsrv
    ...``), then ``port`` must say where it listens.
    """
    script = Path(entry_script).resolve()
    if not script.is_file():
        raise ProcessError(f"entry script {script}: no such file")
    if argv is None:
        port = port or free_port()
        argv = [*azmlinfsrv_command(), "--entry_script", str(script), "--port", str(port)]
        if worker_count != 1:
            argv += ["--worker_count", str(worker_count)]
    elif port is None:
        raise ValueError("port: required with argv")
    base = {"AML_APP_ROOT": str(script.parent), "GUNICORN_CMD_ARGS": _gunicorn_args()}
    return ScoringServer(
        script,
        argv,
        env=child_environ({**base, **(env or {})}),
        log_path=workdir / log_name,
        url=f"http://127.0.0.1:{port}",
    )


def deployment_variables(path: str | os.PathLike[str]) -> dict[str, str]:
    """Return the ``environment_variables`` of a deployment YAML, as the platform sets them."""
    from secretinj_runtime.deployment_yaml import load_environment_variables

    return load_environment_variables(os.fspath(path))


class ScoringServers:
    """Starts scoring servers in ``workdir`` over a base environment; stops them all at the end.

    Call it like `start_scoring_server` without ``workdir``: ``servers(score_py, {"NAME":
    "value"})`` starts a server with the base environment plus those variables and, unless
    ``wait=False``, returns once it answers. `stop_all` (or leaving the ``with`` block) stops
    every process group (SIGTERM, SIGKILL after ``stop_timeout_s``) and raises `ProcessError`
    if one outlives it.
    """

    def __init__(
        self,
        workdir: Path,
        base_env: Mapping[str, str] | None = None,
        *,
        stop_timeout_s: float = 10.0,
    ) -> None:
        self.workdir = workdir
        self.base_env = dict(base_env or {})
        self.stop_timeout_s = stop_timeout_s
        self.started: list[ScoringServer] = []

    def __call__(
        self,
        entry_script: str | os.PathLike[str],
        env: Mapping[str, str] | None = None,
        *,
        worker_count: int = 1,
        wait: bool = True,
        timeout_s: float = 60.0,
    ) -> ScoringServer:
        """Start a server on ``entry_script`` with the base environment plus ``env``."""
        server = start_scoring_server(
            self.workdir,
            entry_script,
            {**self.base_env, **(env or {})},
            worker_count=worker_count,
            log_name=f"azmlinfsrv-{len(self.started)}.log",
        )
        self.started.append(server)
        if wait:
            server.wait_ready(timeout_s)
        return server

    def stop_all(self) -> None:
        """Stop every server's process group; raise `ProcessError` if one is still running."""
        left = [
            server
            for server in self.started
            if server.stop(self.stop_timeout_s) is None or not server.finished()
        ]
        if left:
            pids = ", ".join(str(server.pid) for server in left)
            raise ProcessError(f"azmlinfsrv process group(s) {pids} outlived the stop")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_all()
