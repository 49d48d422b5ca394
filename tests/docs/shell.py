"""Run the docs' commands in bash as a reader would, and compare what they print.

A `Session` is one bash process in a scratch directory that looks like the checkout (its
top-level entries linked in, so ``sample_score/deployment.yml`` and ``noxfile.py`` are there
and files a command writes stay out of the repository), with the test interpreter's bin
directory first on ``PATH`` (``secretinj``, ``secretinj-mock``, ``python``, ``nox``). The setup
names what else the reader has done before the block:

- ``offline``: nothing; no mock, no Azure variable;
- ``mock``: a mock of the Azure services runs and is recorded where ``secretinj-mock env``
  looks (its demo state), nothing exported yet;
- ``mock-env``: as ``mock``, after ``eval "$(secretinj-mock env)"``;
- ``mock-references``: as ``mock-env``, with the four variables of the ``check`` example
  (`REFERENCES`) exported;
- ``dead-mock``: ``serve`` recorded a mock that no longer answers.

The mock's default port (8731) in a ``localhost:``/``127.0.0.1:`` URL of a command becomes
the real mock's port; ``.venv/bin/`` becomes the test interpreter's bin directory; ``make
TARGET`` runs the target's recipe from the Makefile. Nothing probes a real managed identity:
``AZURE_POD_IDENTITY_AUTHORITY_HOST`` is a closed loopback port.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import secretinj_runtime as sir
from secretinj_runtime._constants import EnvironmentVariables
from secretinj_runtime.mock.envfile import (
    ENV_FILE_VARIABLE,
    IDENTITY_VARIABLES,
    mock_env,
    write_record,
)
from secretinj_runtime.mock.testing import MockServer, run_mock
from tests.docs.markdown import ROOT

BIN = Path(sys.executable).parent
SETUPS = ("offline", "mock", "mock-env", "mock-references", "dead-mock")
DEFAULT_PORT = "8731"
#: What the ``check`` example of docs/cli.md exports; ``mock-references`` starts with them.
REFERENCES = {
    "AOAI_API_KEY": "${{azureml://connections/aoai-conn/credentials/key}}",
    "AOAI_API_VERSION": "${{azureml://connections/aoai-conn/metadata/ApiVersion}}",
    "OPENAI_API_KEY": "${{azureml://connections/multi-conn/credentials/OPENAI_API_KEY}}",
    "DB_PASSWORD": "${{keyvault:https://demo-kv.vault.azure.net/secrets/db-password}}",
}
_END = "@@docs-command-end"
_DROP = {
    *EnvironmentVariables.CONFIG,
    *EnvironmentVariables.CLIENT_ID_CHAIN,
    *IDENTITY_VARIABLES,
    EnvironmentVariables.RESOLVED,
    ENV_FILE_VARIABLE,
}
#: A stand-in for the few curl options the docs use, for machines without curl.
_CURL_SHIM = """#!{python}
import sys, urllib.error, urllib.request
args, method, headers, data, url = sys.argv[1:], "GET", {{}}, None, None
while args:
    a = args.pop(0)
    if a == "-s":
        continue
    if a == "-X":
        method = args.pop(0)
    elif a == "-H":
        k, _, v = args.pop(0).partition(":")
        headers[k.strip()] = v.strip()
    elif a == "-d":
        data, method = args.pop(0).encode(), method if method != "GET" else "POST"
    else:
        url = a if "://" in a else "http://" + a
req = urllib.request.Request(url, data=data, headers=headers, method=method)
try:
    with urllib.request.urlopen(req, timeout=30) as resp:
        sys.stdout.write(resp.read().decode())
except urllib.error.HTTPError as ex:
    sys.stdout.write(ex.read().decode())
"""


@dataclass
class Ran:
    """What one command printed (stdout and stderr, as a terminal interleaves them)."""

    command: str
    output: str
    returncode: int


class Session:
    """A bash in a scratch copy of the checkout, set up as the docs' reader has it."""

    def __init__(self, workdir: Path, env: dict[str, str], mock: MockServer | None) -> None:
        self.workdir = workdir
        self.env = env
        self.mock = mock

    def command_line(self, command: str) -> str:
        """Return ``command`` as this session runs it (mock port, bin directory, make)."""
        if self.mock is not None:
            port = self.mock.url.rsplit(":", 1)[1]
            command = re.sub(
                rf"\b(localhost|127\.0\.0\.1):{DEFAULT_PORT}\b", rf"\g<1>:{port}", command
            )
        command = command.replace(".venv/bin/", f"{BIN}/")
        words = command.split()
        if len(words) == 2 and words[0] == "make":
            command = "\n".join(make_recipe(words[1], str(BIN)))
        return command

    def run(self, commands: list[str], timeout_s: float = 120.0) -> list[Ran]:
        """Run ``commands`` one after the other in one bash; return what each printed."""
        lines = []
        for command in commands:
            lines.append(self.command_line(command))
            # Print the end marker, then give the next command the exit status back ($?).
            lines.append(f'__rc=$?; printf \'\\n{_END} %d\\n\' "$__rc"; (exit "$__rc")')
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-c", "\n".join(lines)],
            cwd=self.workdir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        parts = re.split(rf"\n{_END} (\d+)\n", "\n" + done.stdout)
        if len(parts) != 2 * len(commands) + 1:
            raise AssertionError(f"the shell stopped early:\n{done.stdout[-2000:]}")
        out = []
        for i, command in enumerate(commands):
            text = parts[2 * i].lstrip("\n") if i == 0 else parts[2 * i]
            out.append(Ran(command, text.rstrip("\n"), int(parts[2 * i + 1])))
        return out


def make_recipe(target: str, bin_dir: str) -> list[str]:
    """Return the recipe lines of a Makefile target, ``$(BIN)`` made ``bin_dir``."""
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = next((i for i, x in enumerate(lines) if x.startswith(f"{target}:")), None)
    if start is None:
        raise LookupError(f"the Makefile has no target {target!r}")
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line[1:].replace("$(BIN)", bin_dir))
    return recipe


def clean_environ(workdir: Path) -> dict[str, str]:
    """The test process's environment without runtime settings, identities or references."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _DROP and not k.startswith("SECRETINJ_") and not sir.is_reference(v)
    }
    paths = [str(BIN)]
    if shutil.which("curl") is None:
        shim = workdir / ".bin"
        shim.mkdir()
        (shim / "curl").write_text(_CURL_SHIM.format(python=sys.executable))
        (shim / "curl").chmod(0o755)
        paths.append(str(shim))
    env.update(
        PATH=os.pathsep.join([*paths, env.get("PATH", "")]),
        PYTHONUNBUFFERED="1",
        AZURE_POD_IDENTITY_AUTHORITY_HOST="http://127.0.0.1:9",
        HOME=str(workdir),
        XDG_RUNTIME_DIR=str(workdir),
        COLUMNS="200",
    )
    env[ENV_FILE_VARIABLE] = str(workdir / "mock-env")
    return env


def shadow_checkout(workdir: Path) -> None:
    """Link the checkout's top-level entries into ``workdir`` (not .venv, .git or build)."""
    for entry in ROOT.iterdir():
        if entry.name not in {".git", ".venv", ".nox", "build", "dist"}:
            (workdir / entry.name).symlink_to(entry)


@contextmanager
def session(setup: str, workdir: Path) -> Iterator[Session]:
    """Start a `Session` set up as ``setup`` says (one of `SETUPS`)."""
    if setup not in SETUPS:
        raise ValueError(f"unknown setup {setup!r}; expected one of {SETUPS}")
    shadow_checkout(workdir)
    env = clean_environ(workdir)
    record = Path(env[ENV_FILE_VARIABLE])
    with ExitStack() as stack:
        mock = None
        if setup == "dead-mock":
            url = f"http://127.0.0.1:{_closed_port()}"
            write_record(record, url, mock_env(url, "mock-msi-secret", _demo_workspace()), 4242)
        elif setup != "offline":
            mock = stack.enter_context(run_mock())
            write_record(record, mock.url, mock.env)
            if setup in ("mock-env", "mock-references"):
                env.update(mock.env)
            if setup == "mock-references":
                env.update(REFERENCES)
        yield Session(workdir, env, mock)


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _demo_workspace() -> str:
    from secretinj_runtime.mock.defaults import load_state

    return load_state(None).workspace
