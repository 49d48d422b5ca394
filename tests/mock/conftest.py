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
