"""Queued faults and added latency, through the real server."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from secretinj_runtime.mock.envelopes import status_code_name
from secretinj_runtime.mock.faults import Fault, FaultQueue
from secretinj_runtime.mock.testing import ControlError, MockServer
from tests.mock.mockhelp import KV_API, get_token, kv_get, kv_token, list_secrets


def test_queue_matches_kind_and_name() -> None:
    queue = FaultQueue()
    queue.add(Fault("keyvault", 500, count=2, name="DB-password"))
    queue.add(Fault("keyvault", 503))
    assert queue.take("listsecrets", None) is None
    first = queue.take("keyvault", "other")
    assert first is not None
    assert first.status == 503
    assert [f.status for f in queue.pending()] == [500]
    assert queue.take("keyvault", "db-password") is not None
    assert queue.take("keyvault", "db-password") is not None
    assert queue.take("keyvault", "db-password") is None
    queue.set_latency("all", 0.5)
    assert set(queue.latency_s) == {
        "msi",
        "listsecrets",
        "keyvault",
        "keyvault_versions",
        "arm",
        "downstream",
    }
    queue.set_latency("msi", 0)
    assert "msi" not in queue.latency_s


def test_status_name() -> None:
    assert status_code_name(503) == "ServiceUnavailable"
    assert status_code_name(429) == "TooManyRequests"
    assert status_code_name(599) == "Status599"


def test_status_fault_with_count_and_retry_after(mock: MockServer) -> None:
    token = get_token(mock)
    mock.queue_fault("listsecrets", 503, count=2, retry_after_s=1.5)
    first = list_secrets(mock, "aoai-conn", token)
    assert first.status_code == 503
    assert first.headers["Retry-After"] == "2"
    assert first.headers["x-ms-ratelimit-remaining-subscription-writes"]
    assert first.json()["error"]["code"] == "ServiceUnavailable"
    assert list_secrets(mock, "aoai-conn", token).status_code == 503
    assert list_secrets(mock, "aoai-conn", token).status_code == 200
    log = mock.requests("listsecrets")
    assert [e["fault"] for e in log] == [True, True, False]


def test_fault_by_name_only(mock: MockServer) -> None:
    token = kv_token(mock)
    mock.queue_fault("keyvault", 429, name="other-secret")
    assert kv_get(mock, "demo-kv", "db-password", token).status_code == 200
    mock.set_secret("demo-kv", "other-secret", "x")
    resp = kv_get(mock, "demo-kv", "other-secret", token)
    assert resp.status_code == 429
    assert resp.json()["error"]["code"] == "Throttled"


def test_msi_fault_and_throttle_code(mock: MockServer) -> None:
    mock.queue_fault("msi", 500)
    resp = requests.get(
        mock.env["MSI_ENDPOINT"],
        params={"api-version": "2017-09-01", "resource": "https://vault.azure.net"},
        headers={"secret": mock.env["MSI_SECRET"]},
        timeout=10,
    )
    assert resp.status_code == 500
    assert resp.json()["error"] == "InternalServerError"
    mock.queue_fault("listsecrets", 429)
    throttled = list_secrets(mock, "aoai-conn", get_token(mock))
    assert throttled.json()["error"]["code"] == "SubscriptionRequestsThrottled"


def test_drop_connection(mock: MockServer) -> None:
    mock.queue_fault("keyvault", drop_connection=True)
    with pytest.raises(requests.ConnectionError):
        kv_get(mock, "demo-kv", "db-password", kv_token(mock))
    entry = mock.requests("keyvault")[-1]
    assert entry["dropped"] is True
    assert entry["status"] is None
    assert kv_get(mock, "demo-kv", "db-password", kv_token(mock)).status_code == 200


@pytest.mark.parametrize(
    ("body", "content_type"),
    [("html", "text/html"), ("invalid_json", "application/json"), ("empty", None)],
)
def test_body_presets(mock: MockServer, body: str, content_type: str | None) -> None:
    mock.queue_fault("downstream", 502, body=body)
    resp = requests.post(f"{mock.url}/openai/deployments/d/chat/completions", timeout=10)
    assert resp.status_code == 502
    if content_type:
        assert resp.headers["content-type"].startswith(content_type)
    with pytest.raises(requests.JSONDecodeError):
        resp.json()


def test_custom_json_body(mock: MockServer) -> None:
    mock.queue_fault("downstream", 418, body={"hello": "teapot"})
    resp = requests.post(f"{mock.url}/openai/deployments/d/chat/completions", timeout=10)
    assert (resp.status_code, resp.json()) == (418, {"hello": "teapot"})


def test_latency_calls_overlap(mock: MockServer) -> None:
    mock.set_latency("keyvault", 0.2)
    token = kv_token(mock)
    started = time.perf_counter()
    with ThreadPoolExecutor(10) as pool:
        codes = list(
            pool.map(lambda _: kv_get(mock, "demo-kv", "db-password", token).status_code, range(10))
        )
    elapsed = time.perf_counter() - started
    assert codes == [200] * 10
    assert 0.2 <= elapsed < 1.0
    assert all(e["duration_ms"] >= 200 for e in mock.requests("keyvault"))
    assert mock.call("GET", "/latency") == {"keyvault": 0.2}


def test_latency_only_fault_then_proceeds(mock: MockServer) -> None:
    mock.queue_fault("keyvault", latency_s=0.05)
    started = time.perf_counter()
    assert kv_get(mock, "demo-kv", "db-password", kv_token(mock)).status_code == 200
    assert time.perf_counter() - started >= 0.05


def test_fault_validation_and_listing(mock: MockServer) -> None:
    with pytest.raises(ControlError) as err:
        mock.queue_fault("keyvault")
    assert err.value.status == 422
    assert "status: required" in err.value.body
    with pytest.raises(ControlError, match="kind"):
        mock.call("POST", "/faults", {"kind": "dns", "status": 500})
    with pytest.raises(ControlError, match="count"):
        mock.queue_fault("msi", 500, count=0)
    with pytest.raises(ControlError, match="drop_connection"):
        mock.queue_fault("msi", 500, drop_connection=True)
    fault_id = mock.queue_fault("msi", 500, count=3)
    assert [f["id"] for f in mock.call("GET", "/faults")] == [fault_id]
    mock.call("DELETE", "/faults")
    assert mock.call("GET", "/faults") == []
    unused = requests.get(f"{mock.url}/keyvault/demo-kv/secrets/x", params=KV_API, timeout=10)
    assert unused.status_code == 401
