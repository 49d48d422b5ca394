from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from secretinj_runtime.mock.testing import MockServer, run_mock
from tests.cli.clihelp import Cli


@pytest.fixture(autouse=True)
def sigint_as_usual() -> Iterator[None]:
    """The commands start with Python's usual SIGINT handling, whatever launched the tests.

    A test run started in the background of a non-interactive shell (``make test &``,
    ``nohup``) inherits SIGINT ignored, and so would every command it starts; the signal
    tests are about what ``secretinj`` does with a normal disposition (one of them ignores
    SIGINT on purpose).
    """
    previous = signal.getsignal(signal.SIGINT)
    if previous == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    if previous == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.fixture
def azure_mock() -> Iterator[MockServer]:
    """A fresh mock of the Azure services (demo state) on a free loopback port."""
    with run_mock() as server:
        yield server


@pytest.fixture
def cli(azure_mock: MockServer) -> Cli:
    """Run ``secretinj`` against the mock; every call checks that no secret is printed."""
    return Cli(azure_mock)
