"""Fixtures for the sample's in-process tests: a threaded mock and the score module."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import secretinj_runtime as sir
from sample_score import score
from secretinj_runtime.mock.testing import MockServer, run_mock
from secretinj_runtime.testing import sample as procs


@pytest.fixture
def mock() -> Iterator[MockServer]:
    with run_mock(throttle=None) as server:
        yield server


@pytest.fixture
def scoring(mock: MockServer, monkeypatch: pytest.MonkeyPatch) -> MockServer:
    """The deployment's references and the mock's environment set; score's globals reset."""
    for name in ("AZURE_CLIENT_ID", "UAI_CLIENT_ID", "SECRETINJ_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    mock.apply_env(monkeypatch)
    for name, value in procs.deployment_variables().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(score, "resolver", None)
    monkeypatch.setattr(score, "client", None)
    monkeypatch.setattr(score, "sources", {})
    # init() adds a stderr handler for azmlinfsrv; pytest captures the records already.
    monkeypatch.setattr(sir, "configure_logging", lambda *names, **kwargs: None)
    return mock


def body_of(answer: Any) -> tuple[int, dict[str, Any]]:
    """Return (status, JSON body) of what run() returned: a dict or an AMLResponse."""
    if isinstance(answer, dict):
        return 200, answer
    return answer.status_code, json.loads(answer.get_data(as_text=True))
