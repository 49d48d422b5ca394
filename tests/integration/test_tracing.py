"""OpenTelemetry spans explain every fetch, and never carry a value, a token or a version."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import secretinj_runtime as sir
from secretinj_runtime.mock import defaults
from secretinj_runtime.mock.testing import MockServer, run_mock
from secretinj_runtime.transport import RetryPolicy
from tests.fakes import FakeClock

VERSION = "db9876f69aa3129eda287bf51b74d7c7"  # the demo vault's first version
ENV = {
    "AOAI_API_KEY": "${{azureml://connections/aoai-conn/credentials/key}}",
    "AOAI_ENDPOINT": "${{azureml://connections/aoai-conn/target}}",
    "OTHER_API_KEY": "${{azureml://connections/multi-conn/credentials/OTHER_KEY}}",
    "DB_PASSWORD": "${{keyvault:https://demo-kv.vault.azure.net/secrets/db-password}}",
    "MISSING_CONN": "${{azureml://connections/nope-conn/credentials/key}}",
    "INJECTED": "literal",
}

_EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def provider() -> None:
    """One SDK provider for the process (OpenTelemetry allows setting it once)."""
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
    trace.set_tracer_provider(tracer_provider)


@pytest.fixture
def mock(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockServer]:
    with run_mock(throttle=None) as server:
        server.apply_env(monkeypatch)
        _EXPORTER.clear()
        yield server


def by_name(exporter: InMemorySpanExporter, name: str) -> list[Any]:
    return [s for s in exporter.get_finished_spans() if s.name == name]


def test_one_span_per_resolution_and_per_fetch_group(mock: MockServer) -> None:
    spans = _EXPORTER
    mock.queue_fault("listsecrets", 429, name="multi-conn", retry_after_s=1)
    clock = FakeClock()
    resolver = sir.SecretResolver(
        clock=clock, sleep=clock.sleep, retry_policy=RetryPolicy(deadline_s=30)
    )
    resolver.resolve_environment(list(ENV), environ=dict(ENV), required=False)
    (outer,) = by_name(spans, "secretinj.resolve_environment")
    assert outer.attributes["secretinj.variables"] == 6
    assert outer.attributes["secretinj.references"] == 5
    assert outer.attributes["secretinj.status.RESOLVED"] == 4
    assert outer.attributes["secretinj.status.NOT_FOUND"] == 1
    assert outer.attributes["secretinj.status.PRESENT"] == 1
    fetches = {
        s.attributes.get("secretinj.connection") or s.attributes["secretinj.secret"]: s
        for s in by_name(spans, "secretinj.fetch")
    }
    assert set(fetches) == {"aoai-conn", "multi-conn", "nope-conn", "db-password"}
    for span in fetches.values():
        assert span.parent is not None
        assert span.parent.span_id == outer.context.span_id, "children of the resolution"
    multi = fetches["multi-conn"].attributes
    assert multi["secretinj.source"] == "connection"
    assert multi["secretinj.cache"] == "miss"
    assert multi["secretinj.attempts"] == 2
    assert multi["secretinj.throttled_wait_s"] >= 1
    assert multi["secretinj.http.status_code"] == 200
    missing = fetches["nope-conn"]
    assert missing.attributes["secretinj.status"] == "NOT_FOUND"
    assert missing.attributes["secretinj.http.status_code"] == 404
    assert missing.status.status_code == trace.StatusCode.ERROR
    kv = fetches["db-password"].attributes
    assert kv["secretinj.vault"] == "demo-kv"
    assert kv["secretinj.versioned"] is False

    _EXPORTER.clear()
    resolver.resolve_environment(["AOAI_API_KEY"], environ=dict(ENV), required=False)
    (again,) = by_name(spans, "secretinj.fetch")
    assert again.attributes["secretinj.cache"] == "hit"
    assert again.attributes["secretinj.attempts"] == 0


def test_spans_carry_no_value_token_or_version(mock: MockServer) -> None:
    versioned = f"${{{{keyvault:https://demo-kv.vault.azure.net/secrets/db-password/{VERSION}}}}}"
    sir.SecretResolver().resolve_environment(environ={**ENV, "DB_V": versioned}, required=False)
    dumped = json.dumps(
        [{"name": s.name, **dict(s.attributes or {})} for s in _EXPORTER.get_finished_spans()]
    )
    assert "secretinj.fetch" in dumped
    secrets = [
        defaults.AOAI_KEY,
        defaults.OTHER_KEY,
        *defaults.DB_PASSWORD_VERSIONS,
        *mock.state.tokens.issued_values(),
        VERSION,
    ]
    for value in secrets:
        assert value not in dumped


def test_the_fast_path_imports_no_opentelemetry() -> None:
    import subprocess
    import sys

    code = (
        "import os, sys; os.environ['A'] = 'x'; import secretinj_runtime as sir; "
        "sir.resolve_environment(['A']); print('opentelemetry' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
