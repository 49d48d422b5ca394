"""Fixtures for the mock's own tests: one shared server, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from secretinj_runtime.mock.clock import ManualClock
from secretinj_runtime.mock.testing import (
    MockServer,
    azure_mock,  # noqa: F401 - a fixture
    run_mock,
)


@pytest.fixture(autouse=True)
def _no_instance_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    # A credential built without a managed-identity endpoint must never reach the instance
    # metadata address: point azure-identity's probe at a closed loopback port.
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9")


@pytest.fixture(scope="session")
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="session")
def shared_mock(clock: ManualClock) -> Iterator[MockServer]:
    with run_mock(clock=clock) as server:
        yield server


@pytest.fixture
def mock(shared_mock: MockServer) -> MockServer:
    shared_mock.reset()
    return shared_mock


@pytest.fixture
def clock_now(clock: ManualClock) -> float:
    return clock()
