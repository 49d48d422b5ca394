"""pytest support: ``run_mock()`` and the ``azure_mock`` fixture.

Use ``pytest_plugins = ["secretinj_runtime.mock.testing"]`` in a ``conftest.py`` (or import
``azure_mock`` into it), then::

    def test_resolves(azure_mock, monkeypatch):
        azure_mock.apply_env(monkeypatch)
        ...

The helpers talk to the control API over HTTP with the standard library only.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from secretinj_runtime.mock.defaults import DEFAULT_MSI_SECRET
from secretinj_runtime.mock.model import StateSpec, ThrottleSpec
from secretinj_runtime.mock.server import ThreadedServer
from secretinj_runtime.mock.store import MockState

try:
    import pytest
except ImportError:  # pragma: no cover - run_mock works without pytest
    _HAVE_PYTEST = False
else:
    _HAVE_PYTEST = True

_ENV_TO_CLEAR = ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT")


def mock_env(url: str, msi_secret: str, workspace: str) -> dict[str, str]:
    """Return the environment variables that point the runtime at a mock at ``url``."""
    base = url.rstrip("/")
    return {
        "MSI_ENDPOINT": f"{base}/msi/token",
        "MSI_SECRET": msi_secret,
        "SECRETINJ_ARM_ENDPOINT": base,
        "SECRETINJ_KEYVAULT_ENDPOINT": f"{base}/keyvault",
        "SECRETINJ_WORKSPACE_ID": workspace,
    }


class ControlError(RuntimeError):
    """A control API call failed; ``status`` and ``body`` say why."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"control API answered {status}: {body}")
        self.status = status
        self.body = body


class MockServer:
    """Handle on a running mock: its URL, its environment and control helpers."""

    def __init__(self, server: ThreadedServer) -> None:
        self._server = server
        self.url: str = server.url
        self.state: MockState = server.state
        self.env: dict[str, str] = mock_env(
            self.url, self.state.msi_secret, self.state.spec.workspace
        )

    @property
    def workspace(self) -> str:
        """The workspace ARM id the mock serves."""
        return self.state.spec.workspace

    def apply_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Set :attr:`env` with ``monkeypatch`` (and unset App Service identity variables)."""
        for name in _ENV_TO_CLEAR:
            monkeypatch.delenv(name, raising=False)
        for name, value in self.env.items():
            monkeypatch.setenv(name, value)

    def call(self, method: str, path: str, body: object = None) -> Any:
        """Call the control API (``path`` relative to ``/_mock``) and return the JSON answer.

        Raises :class:`ControlError` on a non-2xx answer.
        """
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(  # noqa: S310 - always our own loopback URL
            f"{self.url}/_mock{path}", data=data, method=method
        )
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            with exc:
                raise ControlError(exc.code, exc.read().decode(errors="replace")) from None

    def put_connection(self, name: str, connection: Mapping[str, Any]) -> None:
        """Create or replace connection ``name`` (state-file shape: authType, category, ...)."""
        self.call("PUT", f"/connections/{name}", dict(connection))

    def delete_connection(self, name: str) -> None:
        """Delete connection ``name`` (ListSecrets then answers 404)."""
        self.call("DELETE", f"/connections/{name}")

    def set_secret(self, vault: str, name: str, value: str) -> str:
        """Add a version of secret ``name`` (creating vault/secret); return its version id."""
        return str(
            self.call("POST", f"/vaults/{vault}/secrets/{name}", {"value": value})["version"]
        )

    def rotate_secret(self, vault: str, name: str, value: str) -> str:
        """Add a new latest version to an existing secret; return its version id."""
        path = f"/vaults/{vault}/secrets/{name}/rotate"
        return str(self.call("POST", path, {"value": value})["version"])

    def rotate_connection_key(
        self, name: str, credential: str = "key", value: str | None = None
    ) -> str:
        """Replace one credential of a connection (CustomKeys: one of ``keys``); return it.

        A random value is generated when ``value`` is None.
        """
        body = {"credential": credential, "value": value}
        return str(self.call("POST", f"/connections/{name}/rotate", body)["value"])

    def grant(
        self, identity: str = "system", *, vault: str | None = None, propagation_delay_s: float = 0
    ) -> None:
        """Grant ``identity`` the role on the workspace, or on ``vault`` when given.

        During ``propagation_delay_s`` (mock clock) the grant still answers 403.
        """
        self.call("POST", "/access/grant", _access(identity, vault, propagation_delay_s))

    def revoke(self, identity: str = "system", *, vault: str | None = None) -> None:
        """Revoke ``identity``'s role on the workspace, or on ``vault`` when given."""
        self.call("POST", "/access/revoke", _access(identity, vault, 0))

    def queue_fault(
        self,
        kind: Literal["msi", "listsecrets", "keyvault", "downstream"],
        status: int | None = None,
        *,
        count: int = 1,
        name: str | None = None,
        retry_after_s: float | None = None,
        latency_s: float | None = None,
        drop_connection: bool = False,
        body: str | dict[str, Any] | None = None,
    ) -> int:
        """Queue a fault for the next ``count`` requests of ``kind`` (optionally ``name``).

        ``name`` is the connection (listsecrets), secret (keyvault), identity (msi) or
        deployment (downstream). ``body`` is ``"html"``, ``"invalid_json"``, ``"empty"`` or a
        JSON object. Returns the fault id.
        """
        fault = {
            "kind": kind,
            "status": status,
            "count": count,
            "name": name,
            "retry_after_s": retry_after_s,
            "latency_s": latency_s,
            "drop_connection": drop_connection,
            "body": body,
        }
        return int(self.call("POST", "/faults", fault)["id"])

    def set_latency(self, kind: str, latency_s: float) -> None:
        """Add ``latency_s`` to every request of ``kind`` (or ``"all"``); 0 removes it."""
        self.call("PUT", "/latency", {"kind": kind, "latency_s": latency_s})

    def configure_throttle(
        self,
        capacity: int | None = None,
        refill_per_s: float | None = None,
        *,
        enabled: bool = True,
    ) -> dict[str, Any]:
        """Reconfigure and refill the ARM write bucket (``enabled=False`` disables it)."""
        body = {"enabled": enabled, "capacity": capacity, "refill_per_s": refill_per_s}
        return dict(self.call("PUT", "/throttle", body))

    def advance_clock(self, seconds: float) -> float:
        """Move the mock's clock forward; return the new mock time."""
        return float(self.call("POST", "/clock/advance", {"seconds": seconds})["now"])

    def requests(self, route: str | None = None) -> list[dict[str, Any]]:
        """Return the request log (optionally one route kind); control calls are excluded."""
        suffix = f"?route={route}" if route else ""
        return list(self.call("GET", f"/requests{suffix}"))

    def count(self, route: str, name: str | None = None) -> int:
        """Return how many requests of ``route`` (and ``name``, case-insensitive) were served."""
        return self.state.log.count(route, name)

    def reset(self) -> None:
        """Return the mock to its initial state (tokens stay valid)."""
        self.call("POST", "/reset")

    def stop(self) -> None:
        """Stop the server (idempotent)."""
        self._server.stop()


def _access(identity: str, vault: str | None, delay: float) -> dict[str, Any]:
    scope = "workspace" if vault is None else "vault"
    return {"identity": identity, "scope": scope, "vault": vault, "propagation_delay_s": delay}


@contextmanager
def run_mock(
    state: StateSpec | Mapping[str, Any] | str | Path | None = None,
    *,
    msi_secret: str = DEFAULT_MSI_SECRET,
    clock: Callable[[], float] | None = None,
    throttle: ThrottleSpec | Literal["state"] | None = "state",
    latency_s: float = 0.0,
) -> Iterator[MockServer]:
    """Run a mock on ``127.0.0.1`` (free port) in a background thread while in the block.

    ``state`` is a state file path, a mapping in the state-file shape, a ``StateSpec`` or
    None (the demo state). ``clock`` is the time source (e.g. a ``ManualClock``);
    ``throttle`` overrides the state's throttle (None disables it).
    """
    mock_state = MockState(
        str(state) if isinstance(state, Path) else state,
        msi_secret=msi_secret,
        clock=clock,
        throttle=throttle,
        latency_s=latency_s,
    )
    server = ThreadedServer(mock_state)
    server.start()
    try:
        yield MockServer(server)
    finally:
        server.stop()


if _HAVE_PYTEST:

    @pytest.fixture
    def azure_mock() -> Iterator[MockServer]:
        """Run a fresh mock with the demo state for one test (see :class:`MockServer`)."""
        with run_mock() as server:
            yield server
