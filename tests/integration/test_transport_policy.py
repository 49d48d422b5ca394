"""The deadline bounds everything, and no token goes through a proxy to a plain-http endpoint."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

import secretinj_runtime as sir
from secretinj_runtime import Status
from secretinj_runtime.identity import default_credential
from secretinj_runtime.mock.testing import MockServer
from secretinj_runtime.transport import RetryPolicy
from tests.netfakes import RecordingProxy, SilentServer

REF = "${{azureml://connections/aoai-conn/credentials/key}}"
KV_REF = "${{keyvault:https://demo-kv.vault.azure.net/secrets/db-password}}"
DEADLINE_S = 2.0


def callers(resolver: sir.SecretResolver, refs: list[str], timeout_s: float) -> list[object]:
    """Resolve each reference in its own thread; return the outcome of each (or 'hung')."""
    outcomes: list[object] = ["hung"] * len(refs)
    blocked: list[float] = [0.0] * len(refs)

    def call(i: int) -> None:
        started = time.monotonic()
        try:
            outcomes[i] = resolver.resolve(refs[i])
        except sir.SecretInjectionError as ex:
            outcomes[i] = ex
        blocked[i] = time.monotonic() - started

    threads = [threading.Thread(target=call, args=(i,), daemon=True) for i in range(len(refs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout_s)
    callers.longest_s = max(blocked)  # type: ignore[attr-defined]
    return outcomes


def test_a_silent_identity_endpoint_is_bounded_by_the_deadline(
    mock: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SilentServer() as silent:
        monkeypatch.setenv("MSI_ENDPOINT", f"{silent.url}/msi/token")
        resolver = sir.SecretResolver(retry_policy=RetryPolicy(deadline_s=DEADLINE_S))
        outcomes = callers(resolver, [REF] * 4 + [KV_REF] * 4, timeout_s=20)
    assert "hung" not in outcomes, "a caller was still waiting for the identity endpoint"
    for outcome in outcomes:
        assert isinstance(outcome, sir.TimedOutError)
        assert outcome.status is Status.TIMED_OUT
        assert f"MSI_ENDPOINT={silent.url}/msi/token" in str(outcome)
    assert callers.longest_s < DEADLINE_S + 2  # type: ignore[attr-defined]


def test_a_silent_arm_is_bounded_by_the_deadline(
    mock: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SilentServer() as silent:
        monkeypatch.setenv("SECRETINJ_ARM_ENDPOINT", silent.url)
        resolver = sir.SecretResolver(retry_policy=RetryPolicy(deadline_s=DEADLINE_S))
        outcomes = callers(resolver, [REF] * 4, timeout_s=20)
    assert all(isinstance(o, sir.TimedOutError) for o in outcomes), outcomes
    assert callers.longest_s < DEADLINE_S + 2  # type: ignore[attr-defined]


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingProxy]:
    with RecordingProxy() as server:
        for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            monkeypatch.setenv(var, server.url)
            monkeypatch.setenv(var.lower(), server.url)
        yield server


def test_no_token_goes_through_a_proxy_to_a_plain_http_endpoint(
    mock: MockServer, proxy: RecordingProxy
) -> None:
    resolver = sir.SecretResolver()
    report = resolver.resolve_environment(environ={"K": REF, "DB": KV_REF})
    assert report.ok
    assert proxy.connections == 0, f"the proxy saw: {proxy.received[:1]!r}"
    assert mock.count("msi") == 2
    assert mock.count("listsecrets") == 1


def test_the_identity_request_does_not_go_through_the_proxy(
    mock: MockServer, proxy: RecordingProxy
) -> None:
    credential = default_credential(None, mock.env)
    token = credential.get_token("https://management.azure.com/.default")
    assert token.token
    assert proxy.connections == 0
