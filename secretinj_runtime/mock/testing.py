"""pytest support: ``run_mock()`` and the ``azure_mock`` fixture.

The package's pytest plugin (`secretinj_runtime.testing.plugin`, a ``pytest11`` entry point)
gives every test ``azure_mock`` and ``scoring_server`` (docs/testing.md). This module's own
``azure_mock`` is the same mock for a ``conftest.py`` that names it: ``pytest_plugins =
["secretinj_runtime.mock.testing"]`` (or import ``azure_mock`` into it), then::

    def test_resolves(azure_mock, monkeypatch):
        azure_mock.apply_env(monkeypatch)
        ...

The helpers talk to the control API over HTTP with the standard library only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from secretinj_runtime.mock.control_client import ControlClient, ControlError
from secretinj_runtime.mock.defaults import DEFAULT_MSI_SECRET
from secretinj_runtime.mock.envfile import (
    APP_SERVICE_SHAPE,
    AZURE_ML_SHAPE,
    IDENTITY_VARIABLES,
    TOKEN_SHAPES,
    TokenShape,
    mock_env,
)
from secretinj_runtime.mock.model import StateSpec, ThrottleSpec
from secretinj_runtime.mock.server import ThreadedServer
from secretinj_runtime.mock.store import MockState

try:
    import pytest
except ImportError:  # pragma: no cover - run_mock works without pytest
    _HAVE_PYTEST = False
else:
    _HAVE_PYTEST = True

__all__ = [
    "APP_SERVICE_SHAPE",
    "AZURE_ML_SHAPE",
    "TOKEN_SHAPES",
    "ControlError",
    "MockServer",
    "TokenShape",
    "azure_mock",
    "mock_env",
    "run_mock",
]


class MockServer(ControlClient):
    """Handle on a running mock: its URL, its environment and control helpers."""

    def __init__(self, server: ThreadedServer) -> None:
        super().__init__(server.url)
        self._server = server
        self.state: MockState = server.state
        self.env: dict[str, str] = mock_env(
            self.url, self.state.msi_secret, self.state.spec.workspace
        )

    @property
    def workspace(self) -> str:
        """The workspace ARM id the mock serves."""
        return self.state.spec.workspace

    def env_for(self, token_shape: TokenShape = AZURE_ML_SHAPE) -> dict[str, str]:
        """Return :attr:`env` with the identity variables of ``token_shape``."""
        return mock_env(self.url, self.state.msi_secret, self.workspace, token_shape)

    def apply_env(
        self, monkeypatch: pytest.MonkeyPatch, token_shape: TokenShape = AZURE_ML_SHAPE
    ) -> None:
        """Set the mock's variables with ``monkeypatch``, unsetting the other token shape's."""
        for name in IDENTITY_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        for name, value in self.env_for(token_shape).items():
            monkeypatch.setenv(name, value)

    def count(self, route: str, name: str | None = None) -> int:
        """Return how many requests of ``route`` (and ``name``, case-insensitive) were served."""
        return self.state.log.count(route, name)

    def stop(self) -> None:
        """Stop the server (idempotent)."""
        self._server.stop()


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
