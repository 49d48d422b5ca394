"""Fault handling: every failure ends in a typed error and status, within the deadline."""

from __future__ import annotations

import pytest
import requests

import secretinj_runtime as sir
from secretinj_runtime import Status
from secretinj_runtime.transport import RetryPolicy, check_endpoint, is_loopback
from tests.fakes import FakeAdapter, FakeClock, Reply, connection_body, make_resolver

REF = "${{azureml://connections/aoai/credentials/key}}"
KV_REF = "${{keyvault:https://mykv.vault.azure.net/secrets/pw}}"
OK = Reply(200, connection_body("aoai"))


def arm_error(status: int, code: str = "Err", message: str = "boom", **headers: str) -> Reply:
    return Reply(status, {"error": {"code": code, "message": message}}, headers=headers)


def run(
    adapter: FakeAdapter, clock: FakeClock, ref: str = REF, **kwargs: object
) -> sir.VariableStatus:
    resolver = make_resolver(adapter, clock=clock, **kwargs)  # type: ignore[arg-type]
    report = resolver.resolve_environment(environ={"V": ref}, required=False)
    return report.variables["V"]


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retried_until_success(status: int) -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", arm_error(status), arm_error(status), OK)
    clock = FakeClock()
    result = run(adapter, clock)
    assert result.status is Status.RESOLVED
    assert adapter.count() == 3
    assert len(clock.sleeps) == 2


def test_retry_after_is_honoured() -> None:
    adapter = FakeAdapter().add(
        "POST",
        "listsecrets",
        arm_error(429, "SubscriptionRequestsThrottled", **{"Retry-After": "7"}),
        OK,
    )
    clock = FakeClock()
    assert run(adapter, clock).status is Status.RESOLVED
    assert len(clock.sleeps) == 1
    assert 7.0 <= clock.sleeps[0] <= 7.0 * 1.5, "Retry-After plus up to half of it as jitter"


def test_retry_after_without_jitter_is_exact() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", arm_error(429, **{"Retry-After": "7"}), OK)
    clock = FakeClock()
    assert (
        run(adapter, clock, retry_policy=RetryPolicy(retry_after_jitter=0)).status
        is Status.RESOLVED
    )
    assert clock.sleeps == [7.0]


@pytest.mark.parametrize("mode", ["adaptive", "standard"])
def test_throttling_does_not_use_up_the_attempts(mode: str) -> None:
    throttled = arm_error(429, **{"Retry-After": "1"})
    adapter = FakeAdapter().add("POST", "listsecrets", *[throttled] * 6, OK)
    clock = FakeClock()
    policy = RetryPolicy(max_attempts=3, deadline_s=60, mode=mode)
    assert run(adapter, clock, retry_policy=policy).status is Status.RESOLVED
    assert adapter.count() == 7
    failing = FakeAdapter().add("POST", "listsecrets", arm_error(503))
    assert run(failing, FakeClock(), retry_policy=policy).status is Status.SERVICE_ERROR
    assert failing.count() == 3


def test_429_without_retry_after_backs_off_with_full_jitter_in_standard_mode() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", *[arm_error(429)] * 5, OK)
    clock = FakeClock()
    policy = RetryPolicy(
        max_attempts=6, deadline_s=60, backoff_base_s=0.5, backoff_max_s=8, mode="standard"
    )
    assert run(adapter, clock, retry_policy=policy).status is Status.RESOLVED
    assert len(clock.sleeps) == 5
    for attempt, slept in enumerate(clock.sleeps, start=1):
        assert 0 <= slept <= min(8, 0.5 * 2**attempt)


def test_throttled_past_the_deadline_ends_throttled_without_waiting_for_nothing() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", arm_error(429, **{"Retry-After": "120"}))
    clock = FakeClock()
    result = run(adapter, clock, retry_policy=RetryPolicy(max_attempts=10, deadline_s=30))
    assert result.status is Status.THROTTLED
    assert adapter.count() == 1, "a Retry-After beyond the deadline is not waited for"
    assert clock.sleeps == []
    assert "HTTP 429" in (result.error or "")


def test_deadline_bounds_total_retry_time() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", arm_error(503, **{"Retry-After": "4"}))
    clock = FakeClock()
    policy = RetryPolicy(max_attempts=100, deadline_s=10, retry_after_jitter=0)
    result = run(adapter, clock, retry_policy=policy)
    assert result.status is Status.SERVICE_ERROR
    assert sum(clock.sleeps) <= 10
    assert adapter.count() == 3  # t=0, 4, 8; the next would start at 12 > 10


@pytest.mark.parametrize(
    ("status", "expected", "fragment"),
    [
        (400, Status.SERVICE_ERROR, "HTTP 400"),
        (401, Status.ACCESS_DENIED, "rejected the managed identity's token"),
        (403, Status.ACCESS_DENIED, "Azure Machine Learning Workspace Connection Secrets Reader"),
        (404, Status.NOT_FOUND, "connection 'aoai' was not found in workspace"),
    ],
)
def test_client_errors_are_not_retried(status: int, expected: Status, fragment: str) -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", arm_error(status), OK)
    clock = FakeClock()
    result = run(adapter, clock)
    assert result.status is expected
    assert fragment in (result.error or "")
    assert adapter.count() == 1
    assert clock.sleeps == []


def test_keyvault_403_names_the_role_and_404_the_secret() -> None:
    forbidden = Reply(403, {"error": {"code": "Forbidden", "message": "Caller is not authorized"}})
    adapter = FakeAdapter().add("GET", "/secrets/pw", forbidden)
    result = run(adapter, FakeClock(), KV_REF)
    assert result.status is Status.ACCESS_DENIED
    assert "'Key Vault Secrets User' role on the vault" in (result.error or "")
    assert "vault 'mykv'" in (result.error or "")
    adapter = FakeAdapter().add(
        "GET", "/secrets/pw", Reply(404, {"error": {"code": "SecretNotFound"}})
    )
    result = run(adapter, FakeClock(), KV_REF)
    assert result.status is Status.NOT_FOUND
    assert "secret 'pw' (latest version) was not found in vault 'mykv'" in (result.error or "")


def test_keyvault_401_challenge_is_access_denied() -> None:
    challenge = Reply(
        401,
        {
            "error": {
                "code": "Unauthorized",
                "message": "AKV10000: Request is missing a Bearer token.",
            }
        },
        headers={"WWW-Authenticate": 'Bearer authorization="https://login.microsoftonline.com/t"'},
    )
    result = run(FakeAdapter().add("GET", "/secrets/pw", challenge), FakeClock(), KV_REF)
    assert result.status is Status.ACCESS_DENIED
    assert "rejected the managed identity's token" in (result.error or "")


def test_connection_refused_is_retried_then_service_error() -> None:
    adapter = FakeAdapter().add(
        "POST", "listsecrets", Reply(error=requests.ConnectionError("refused: secret-free text"))
    )
    clock = FakeClock()
    result = run(adapter, clock, retry_policy=RetryPolicy(max_attempts=3, deadline_s=30))
    assert result.status is Status.SERVICE_ERROR
    assert "could not connect to ARM ListSecrets at https://management.azure.com" in (
        result.error or ""
    )
    assert adapter.count() == 3


def test_read_timeout_is_timed_out() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", Reply(error=requests.ReadTimeout("slow")))
    result = run(adapter, FakeClock(), retry_policy=RetryPolicy(max_attempts=2, deadline_s=30))
    assert result.status is Status.TIMED_OUT
    assert adapter.count() == 2


def test_read_timeout_never_exceeds_the_remaining_deadline() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", OK)
    run(adapter, FakeClock(), retry_policy=RetryPolicy(deadline_s=2))
    _connect, read = adapter.timeouts[0]
    assert read <= 2


@pytest.mark.parametrize(
    ("reply", "fragment"),
    [
        (
            Reply(200, body=b"{not json", headers={"Content-Type": "application/json"}),
            "not a JSON object",
        ),
        (
            Reply(200, body=b"<html>oops</html>", headers={"Content-Type": "text/html"}),
            "(text/html)",
        ),
        (Reply(200, [1, 2]), "not a JSON object"),
    ],
)
def test_malformed_success_bodies_are_service_errors(reply: Reply, fragment: str) -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", reply)
    result = run(adapter, FakeClock())
    assert result.status is Status.SERVICE_ERROR
    assert fragment in (result.error or "")
    assert adapter.count() == 1


def test_html_error_page_is_retried_and_described_by_content_type() -> None:
    page = Reply(
        502, body=b"<html><body>Bad Gateway</body></html>", headers={"Content-Type": "text/html"}
    )
    adapter = FakeAdapter().add("POST", "listsecrets", page)
    result = run(adapter, FakeClock(), retry_policy=RetryPolicy(max_attempts=3, deadline_s=30))
    assert result.status is Status.SERVICE_ERROR
    assert "HTTP 502: non-JSON error body (text/html)" in (result.error or "")
    assert "Bad Gateway" not in (result.error or "")
    assert adapter.count() == 3


def test_redirects_are_not_followed() -> None:
    adapter = FakeAdapter().add(
        "POST",
        "listsecrets",
        Reply(302, body=b"", headers={"Location": "https://evil.example.com/"}),
    )
    result = run(adapter, FakeClock())
    assert result.status is Status.SERVICE_ERROR
    assert "redirect (not followed)" in (result.error or "")
    assert adapter.count() == 1


def test_request_id_is_carried_into_the_error() -> None:
    adapter = FakeAdapter().add(
        "POST", "listsecrets", arm_error(403, **{"x-ms-request-id": "req-42"})
    )
    result = run(adapter, FakeClock())
    assert "[request id req-42]" in (result.error or "")


def test_identity_failure_is_identity_unavailable() -> None:
    from tests.fakes import FakeCredential

    adapter = FakeAdapter().add("POST", "listsecrets", OK)
    credential = FakeCredential(error=RuntimeError("ManagedIdentityCredential: no endpoint"))
    result = run(adapter, FakeClock(), credential=credential)
    assert result.status is Status.IDENTITY_UNAVAILABLE
    assert "no token for https://management.azure.com/.default" in (result.error or "")
    assert adapter.calls == []


def test_http_date_retry_after() -> None:
    from secretinj_runtime.responses import retry_after_s as _retry_after_s

    assert _retry_after_s("3") == 3.0
    assert _retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert _retry_after_s("garbage") is None
    assert _retry_after_s(None) is None


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("10.0.0.1", False),
        ("example.com", False),
        ("0.0.0.0", False),  # noqa: S104,
    ],
)
def test_loopback(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected


def test_check_endpoint() -> None:
    assert (
        check_endpoint("https://management.azure.com/", setting="X")
        == "https://management.azure.com"
    )
    assert (
        check_endpoint("http://127.0.0.1:8731/keyvault", setting="X")
        == "http://127.0.0.1:8731/keyvault"
    )
    for bad in (
        "http://example.com",
        "https://example.com/?a=1",
        "https://u:p@example.com",
        "nohost",
    ):
        with pytest.raises(sir.UntrustedEndpointError):
            check_endpoint(bad, setting="X")


def test_long_service_messages_are_cut_at_a_word() -> None:
    long = "The client 'x' with object id 'y' does not have authorization " * 20
    adapter = FakeAdapter().add("POST", "listsecrets", arm_error(403, "AuthorizationFailed", long))
    error = run(adapter, FakeClock()).error or ""
    assert error.endswith(" ...")
    last_word = error.removesuffix(" ...").split()[-1]
    assert last_word in long.split(), "cut between words"
    assert len(error) < 1000
