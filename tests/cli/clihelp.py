"""Shared helpers of the CLI tests: run ``secretinj`` as a subprocess, never leaking a value."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import secretinj_runtime as sir
from secretinj_runtime._constants import EnvironmentVariables
from secretinj_runtime.mock.testing import MockServer

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
BIN = Path(sys.executable).parent
SECRETINJ_SCRIPT = BIN / "secretinj"
MODULE = [sys.executable, "-m", "secretinj_runtime.cli"]

#: Variables the demo mock state can resolve.
REFERENCES = {
    "AOAI_API_KEY": "${{azureml://connections/aoai-conn/credentials/key}}",
    "AOAI_API_VERSION": "${{azureml://connections/aoai-conn/metadata/ApiVersion}}",
    "OPENAI_API_KEY": "${{azureml://connections/multi-conn/credentials/OPENAI_API_KEY}}",
    "DB_PASSWORD": "${{keyvault:https://demo-kv.vault.azure.net/secrets/db-password}}",
}

_DROP = {
    *EnvironmentVariables.CONFIG,
    *EnvironmentVariables.CLIENT_ID_CHAIN,
    EnvironmentVariables.MSI_SECRET,
    "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT",
}


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test process environment without runtime settings or references, plus ``extra``.

    ``.venv/bin`` comes first on PATH so that ``python`` and ``azmlinfsrv`` are the venv's.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _DROP and not k.startswith("SECRETINJ_") and not sir.is_reference(v)
    }
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def secret_values(mock: MockServer) -> list[str]:
    """Every credential, vault value, token and the MSI secret the mock knows of."""
    spec = mock.state.spec
    values = [mock.state.msi_secret, *mock.state.tokens.issued_values()]
    for conn in spec.connections.values():
        values += _strings(conn.credentials)
    values += _strings(spec.vaults)
    return [v for v in values if len(v) >= 4]


def assert_no_secret(mock: MockServer, text: str) -> None:
    """Fail if any of the mock's secret values appears in ``text``."""
    leaked = [v for v in secret_values(mock) if v in text]
    assert not leaked, f"{len(leaked)} secret value(s) in the output"


class Cli:
    """Runs ``secretinj`` in a subprocess and checks that no secret is in its output."""

    def __init__(self, mock: MockServer) -> None:
        self.mock = mock
        self.calls = 0

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The base environment pointed at the mock, plus ``extra``."""
        return base_env({**self.mock.env, **(extra or {})})

    def __call__(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        script: bool = False,
        timeout: float = 60.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``secretinj ARGS`` (``python -m`` or, with ``script``, the installed script)."""
        command = [str(SECRETINJ_SCRIPT)] if script else list(MODULE)
        result = subprocess.run(
            [*command, *args],
            env=dict(env) if env is not None else self.env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.calls += 1
        assert_no_secret(self.mock, result.stdout + result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        return result


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def table_rows(stdout: str) -> dict[str, list[str]]:
    """Parse a report table: variable -> its columns (STATUS, SOURCE, MS, REFERENCE, ...)."""
    lines = stdout.strip().splitlines()
    assert lines
    assert lines[0].split()[:5] == ["VARIABLE", "STATUS", "SOURCE", "MS", "REFERENCE"]
    return {line.split()[0]: line.split()[1:] for line in lines[1:]}
