from __future__ import annotations

from collections.abc import Iterator

import pytest

from secretinj_runtime.mock.testing import MockServer, run_mock
from tests.cli.clihelp import Cli


@pytest.fixture
def azure_mock() -> Iterator[MockServer]:
    """A fresh mock of the Azure services (demo state) on a free loopback port."""
    with run_mock() as server:
        yield server


@pytest.fixture
def cli(azure_mock: MockServer) -> Cli:
    """Run ``secretinj`` against the mock; every call checks that no secret is printed."""
    return Cli(azure_mock)
