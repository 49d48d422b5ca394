"""The runtime against the real mock (uvicorn on a free port) with the real azure-identity."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import pytest
from azure.identity import ManagedIdentityCredential

import secretinj_runtime as sir
from secretinj_runtime import Status
from secretinj_runtime.mock import defaults
from secretinj_runtime.mock.testing import MockServer
from secretinj_runtime.transport import RetryPolicy
from tests.fakes import CREDENTIALS, Background, FakeClock

AOAI_KEY = "${{azureml://connections/aoai-conn/credentials/key}}"
DB = "${{keyvault:https://demo-kv.vault.azure.net/secrets/db-password}}"


class MockTime:
    """The runtime's sleep: moves the mock's clock instead of waiting, and records it."""

    def __init__(self, mock: MockServer) -> None:
        self.mock = mock
        self.sleeps: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.mock.advance_clock(seconds)


def resolver(mock: MockServer, **kwargs: Any) -> sir.SecretResolver:
    kwargs.setdefault("sleep", MockTime(mock))
    kwargs.setdefault("retry_policy", RetryPolicy(max_attempts=3, deadline_s=60))
    return sir.SecretResolver(**kwargs)


def test_every_auth_type(mock: MockServer) -> None:
    env: dict[str, str] = {}
    expected: dict[str, str] = {}
    for auth_type, creds in CREDENTIALS.items():
        name = f"conn-{auth_type.lower()}"
        mock.put_connection(
            name,
            {
                "authType": auth_type,
                "category": "CustomKeys",
                "target": f"https://{name}.example",
                "metadata": {"kind": auth_type},
                "credentials": creds,
            },
        )
        for key, value in creds.get("keys", creds).items():
            var = f"{auth_type}_{key}".upper()
            env[var] = f"${{{{azureml://connections/{name}/credentials/{key}}}}}"
            expected[var] = value
        env[f"{auth_type}_TARGET".upper()] = f"${{{{azureml://connections/{name}/target}}}}"
        expected[f"{auth_type}_TARGET".upper()] = f"https://{name}.example"
    for auth_type in ("AAD", "None"):
        name = f"conn-{auth_type.lower()}"
        mock.put_connection(
            name,
            {
                "authType": auth_type,
                "category": "AzureOpenAI",
                "target": "https://aad.example",
                "metadata": {},
            },
        )
        env[f"{auth_type}_TARGET".upper()] = f"${{{{azureml://connections/{name}/target}}}}"
        expected[f"{auth_type}_TARGET".upper()] = "https://aad.example"
    report = resolver(mock).resolve_environment(environ=env)
    assert report.ok, str(report)
    assert env == expected
    assert mock.count("listsecrets") == len(CREDENTIALS) + 2
    assert mock.count("msi") == 1


def versions(mock: MockServer) -> list[str]:
    return list(mock.call("GET", "/vaults")["demo-kv"]["db-password"])


def test_every_form_against_the_demo_state(mock: MockServer) -> None:
    first = versions(mock)[0]
    env = {
        "KEY": AOAI_KEY,
        "URL": "${{azureml://connections/aoai-conn/target}}",
        "VERSION": "${{azureml://connections/aoai-conn/metadata/ApiVersion}}",
        "WHOLE": "${{azureml://connections/multi-conn}}",
        "CUSTOM": "${{azureml://connections/multi-conn/credentials/OPENAI_API_KEY}}",
        "DB": DB,
        "DB_V1": f"${{{{keyvault:https://demo-kv.vault.azure.net/secrets/db-password/{first}}}}}",
    }
    report = resolver(mock).resolve_environment(environ=env)
    assert report.ok, str(report)
    assert env["KEY"] == defaults.AOAI_KEY
    assert env["URL"] == f"{mock.url}/openai"
    assert env["VERSION"] == "2024-02-01"
    assert json.loads(env["WHOLE"])["properties"]["authType"] == "CustomKeys"
    assert env["CUSTOM"] == defaults.OPENAI_API_KEY
    assert env["DB"] == defaults.DB_PASSWORD_VERSIONS[-1]
    assert env["DB_V1"] == defaults.DB_PASSWORD_VERSIONS[0]
    assert mock.count("listsecrets") == 2
    assert mock.count("keyvault") == 2
    assert mock.count("msi") == 2


@pytest.mark.parametrize(
    ("fault", "expected", "calls"),
    [
        ({"status": 500, "count": 2}, Status.RESOLVED, 3),
        ({"status": 502, "count": 1}, Status.RESOLVED, 2),
        ({"status": 503, "count": 2}, Status.RESOLVED, 3),
        ({"status": 504, "count": 1}, Status.RESOLVED, 2),
        ({"status": 429, "count": 2, "retry_after_s": 3}, Status.RESOLVED, 3),
        ({"drop_connection": True, "count": 1}, Status.RESOLVED, 2),
        ({"status": 502, "count": 5, "body": "html"}, Status.SERVICE_ERROR, 3),
        ({"status": 200, "count": 1, "body": "invalid_json"}, Status.SERVICE_ERROR, 1),
        ({"status": 200, "count": 1, "body": "empty"}, Status.SERVICE_ERROR, 1),
        ({"status": 400, "count": 1}, Status.SERVICE_ERROR, 1),
        ({"status": 401, "count": 1}, Status.ACCESS_DENIED, 1),
        ({"status": 403, "count": 1}, Status.ACCESS_DENIED, 1),
        ({"status": 404, "count": 1}, Status.NOT_FOUND, 1),
    ],
)
@pytest.mark.parametrize("kind", ["listsecrets", "keyvault"])
def test_every_fault(
    mock: MockServer, kind: str, fault: dict[str, Any], expected: Status, calls: int
) -> None:
    mock.queue_fault(kind, **fault)  # type: ignore[arg-type]
    ref = AOAI_KEY if kind == "listsecrets" else DB
    time = MockTime(mock)
    report = resolver(mock, sleep=time).resolve_environment(environ={"V": ref}, required=False)
    status = report.variables["V"]
    assert status.status is expected, status
    assert mock.count(kind) == calls
    if "retry_after_s" in fault:
        assert all(s >= 3 for s in time.sleeps), "Retry-After honoured"


def test_slow_answer_times_out(mock: MockServer) -> None:
    mock.queue_fault("listsecrets", latency_s=1, count=2)
    r = resolver(mock, read_timeout_s=0.2, retry_policy=RetryPolicy(max_attempts=2))
    report = r.resolve_environment(environ={"V": AOAI_KEY}, required=False)
    assert report.variables["V"].status is Status.TIMED_OUT


def test_identity_endpoint_refusing_is_identity_unavailable(mock: MockServer) -> None:
    mock.queue_fault("msi", 400, count=5)
    report = resolver(mock).resolve_environment(environ={"V": AOAI_KEY}, required=False)
    assert report.variables["V"].status is Status.IDENTITY_UNAVAILABLE
    assert mock.count("listsecrets") == 0


def test_role_revoked_then_granted_after_a_delay(
    mock: MockServer, caplog: pytest.LogCaptureFixture
) -> None:
    mock.revoke()
    mock.revoke(vault="demo-kv")
    report = resolver(mock).resolve_environment(environ={"K": AOAI_KEY, "D": DB}, required=False)
    assert report.variables["K"].status is Status.ACCESS_DENIED
    assert "Azure Machine Learning Workspace Connection Secrets Reader" in str(report)
    assert report.variables["D"].status is Status.ACCESS_DENIED
    assert "Key Vault Secrets User" in str(report)

    mock.grant(propagation_delay_s=90)
    mock.grant(vault="demo-kv", propagation_delay_s=40)
    time = MockTime(mock)
    with caplog.at_level(logging.INFO, logger="secretinj_runtime"):
        report = resolver(mock, sleep=time).resolve_environment(
            environ={"K": AOAI_KEY, "D": DB}, wait_for_access_s=300
        )
    assert report.ok
    assert 89 <= sum(time.sleeps) < 300  # the mock clock also moves with real time
    assert "waiting for access: 2 of 2 fetches refused" in caplog.text


def test_rotation_is_seen_after_refresh(mock: MockServer) -> None:
    env = {"K": AOAI_KEY, "D": DB}
    r = resolver(mock)
    r.resolve_environment(environ=env)
    changed: list[str] = []
    r.on_change("K", changed.append)
    r.on_change("D", changed.append)
    new_key = mock.rotate_connection_key("aoai-conn")
    mock.rotate_secret("demo-kv", "db-password", "rotated-db-password")
    assert r.get_secret("K", environ=env) == defaults.AOAI_KEY, "cached until refreshed"
    r.refresh()
    assert r.get_secret("K", environ=env) == new_key
    assert r.get_secret("D", environ=env) == "rotated-db-password"
    assert sorted(changed) == ["D", "K"]
    assert env == {"K": new_key, "D": "rotated-db-password"}


def test_throttling_bucket_drained_by_300_calls_and_recovered(mock: MockServer) -> None:
    mock.configure_throttle(capacity=200, refill_per_s=10)
    credential = ManagedIdentityCredential()  # shared: 300 resolvers, one token
    time = MockTime(mock)
    statuses = []
    for _ in range(300):  # 300 replicas, each with its own cache
        r = resolver(mock, credential=credential, sleep=time)
        statuses.append(r.resolve_environment(environ={"K": AOAI_KEY}).variables["K"].status)
    assert statuses == [Status.RESOLVED] * 300
    log = mock.requests("listsecrets")
    throttled = [e for e in log if e["status"] == 429]
    assert len([e for e in log if e["status"] == 200]) == 300
    assert len(throttled) >= 1, "the bucket of 200 was drained"
    assert time.sleeps, "and the runtime waited as Retry-After asked"
    assert all(s >= 0.1 for s in time.sleeps)


def test_concurrent_cold_callers_share_one_call_per_connection(mock: MockServer) -> None:
    mock.set_latency("listsecrets", 0.2)
    r = resolver(mock)
    results: list[str] = []
    barrier = threading.Barrier(16, timeout=10)

    def worker() -> None:
        barrier.wait()
        results.append(r.resolve(AOAI_KEY))

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == [defaults.AOAI_KEY] * 16
    assert mock.count("listsecrets") == 1
    assert mock.count("msi") == 1


def test_rotation_reaches_a_running_process_after_the_ttl_on_a_fake_clock(
    mock: MockServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    background = Background()
    r = resolver(mock, clock=clock, cache_ttl_s=60, max_stale_s=600, spawn=background)
    env = {"K": AOAI_KEY}
    r.resolve_environment(environ=env)
    changed: list[str] = []
    r.on_change("K", changed.append)
    new_key = mock.rotate_connection_key("aoai-conn")
    clock.now += 59
    assert r.get_secret("K", environ=env) == defaults.AOAI_KEY, "still fresh"
    clock.now += 2
    assert r.get_secret("K", environ=env) == new_key, "stale: fetched again, no refresh() needed"
    assert changed == ["K"]
    assert env["K"] == new_key

    # The next refresh fails (503s): one short attempt, then the last good value at once,
    # with a warning; the retries go to the background.
    mock.queue_fault("listsecrets", 503, count=10)
    clock.now += 61
    with caplog.at_level(logging.WARNING, logger="secretinj_runtime"):
        assert r.get_secret("K", environ=env) == new_key
    assert "serving the value fetched 61 s ago" in caplog.text
    assert mock.count("listsecrets") == 2 + 1  # two fetches, then one failed attempt
    assert r.get_secret("K", environ=env) == new_key
    assert mock.count("listsecrets") == 3, "the failure is remembered: no attempt"
    assert background.run() == 1
    assert mock.count("listsecrets") == 3 + 3, "the background retried with the full policy"
    assert r.get_secret("K", environ=env) == new_key
