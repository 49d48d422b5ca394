"""The mock as a process, the variables that point at it, and what hand-written clients need.

The mock runs in its own process (``secretinj-mock serve --port 0``), never in the process
that measures: a uvicorn thread would share the GIL with the client under test. Its process
group, log and stop (SIGTERM, then SIGKILL) are `secretinj_runtime.testing`'s.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from secretinj_runtime.testing import sample as procs

MSI_SECRET = "bench-msi-secret"  # noqa: S105 - the mock's shared secret, not a credential
#: What the baselines' hand-written clients send (the runtime has its own constants).
ARM_SCOPE = "https://management.azure.com/.default"
KV_SCOPE = "https://vault.azure.net/.default"
LISTSECRETS_API = "2024-10-01"
KEYVAULT_API = "7.5"


def start_mock(
    workdir: Path,
    *,
    state: Mapping[str, Any] | None = None,
    latency_ms: float = 0.0,
    throttle: tuple[int, float] | None = None,
    timeout_s: float = 30.0,
) -> procs.MockProcess:
    """Start a quiet ``secretinj-mock serve`` on a free port; return it once it is ready.

    ``state`` replaces the demo state; ``latency_ms`` is added to every call; ``throttle`` is
    the ARM write bucket (capacity, refill per second), None turns it off. Its MSI secret is
    `MSI_SECRET`; `mock_env` returns the variables that point at it.
    """
    argv = [*procs.console_script("secretinj-mock", "secretinj_runtime.mock.cli"), "serve"]
    argv += ["--host", "127.0.0.1", "--port", "0", "--log-level", "WARNING", "--no-env-file"]
    argv += ["--latency-ms", str(latency_ms), "--msi-secret", MSI_SECRET]
    if throttle is None:
        argv.append("--no-throttle")
    else:
        argv += ["--bucket-capacity", str(throttle[0])]
        argv += ["--bucket-refill-per-s", str(throttle[1])]
    if state is not None:
        state_path = workdir / "mock-state.json"
        state_path.write_text(json.dumps(state))
        argv += ["--state", str(state_path)]
    return procs.start_mock(workdir, argv=argv, timeout_s=timeout_s)


def mock_env(mock: procs.MockProcess) -> dict[str, str]:
    """The variables that point the runtime (and azure-identity) at a `start_mock` mock."""
    workspace = str(mock.control("GET", "/state")["workspace"])
    return {
        "MSI_ENDPOINT": f"{mock.url}/msi/token",
        "MSI_SECRET": MSI_SECRET,
        "SECRETINJ_ARM_ENDPOINT": mock.url,
        "SECRETINJ_KEYVAULT_ENDPOINT": f"{mock.url}/keyvault",
        "SECRETINJ_WORKSPACE_ID": workspace,
    }


def api_key_connection(
    target: str, key: str, metadata: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """An ApiKey (Azure OpenAI) connection of the mock's state."""
    connection: dict[str, Any] = {"authType": "ApiKey", "category": "AzureOpenAI", "target": target}
    if metadata is not None:
        connection["metadata"] = dict(metadata)
    connection["credentials"] = {"key": key}
    return connection


@dataclass(frozen=True)
class Endpoints:
    """Where a hand-written baseline client calls, read from `mock_env`'s variables."""

    workspace_url: str
    keyvault_url: str
    msi_url: str
    msi_secret: str

    @classmethod
    def from_environ(cls) -> Endpoints:
        """From ``os.environ`` (inside `patched_environ`)."""
        env = os.environ
        return cls(
            workspace_url=f"{env['SECRETINJ_ARM_ENDPOINT']}{env['SECRETINJ_WORKSPACE_ID']}",
            keyvault_url=env["SECRETINJ_KEYVAULT_ENDPOINT"],
            msi_url=env["MSI_ENDPOINT"],
            msi_secret=env["MSI_SECRET"],
        )


@contextmanager
def patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set ``values`` in ``os.environ`` (without identity variables) for the block.

    azure-identity reads ``MSI_ENDPOINT`` from ``os.environ``, whatever mapping the runtime
    was given. The variables removed are those `procs.child_environ` keeps from children.
    """
    saved = dict(os.environ)
    for name in set(os.environ) - set(procs.child_environ()):
        del os.environ[name]
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def preload_clients() -> None:
    """Import every client's modules up front: import cost is the fast-path benchmark's subject."""
    import azure.identity  # noqa: F401
    import requests  # noqa: F401

    import secretinj_runtime.connections
    import secretinj_runtime.identity
    import secretinj_runtime.keyvault
    import secretinj_runtime.transport  # noqa: F401
