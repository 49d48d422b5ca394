"""What goes on the wire and what comes back: timeouts, request ids, Key Vault's reasons, DNS."""

from __future__ import annotations

import socket

import pytest
import requests

import secretinj_runtime as sir
from secretinj_runtime import Status
from secretinj_runtime.transport import USER_AGENT, RetryPolicy
from tests.fakes import FakeAdapter, FakeClock, Reply, connection_body, make_resolver

REF = "${{azureml://connections/aoai/credentials/key}}"
KV_REF = "${{keyvault:https://mykv.vault.azure.net/secrets/pw}}"
OK = Reply(200, connection_body("aoai"))


def run(adapter: FakeAdapter, ref: str = REF, **kwargs: object) -> sir.VariableStatus:
    resolver = make_resolver(adapter, **kwargs)  # type: ignore[arg-type]
    report = resolver.resolve_environment(environ={"V": ref}, required=False)
    return report.variables["V"]


def kv_error(code: str, inner: str | None, message: str = "refused") -> Reply:
    error: dict[str, object] = {"code": code, "message": message}
    if inner is not None:
        error["innererror"] = {"code": inner}
    return Reply(403, {"error": error})


def test_the_connect_timeout_is_capped_by_the_deadline() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", OK)
    run(adapter, retry_policy=RetryPolicy(deadline_s=1.5))
    connect, read = adapter.timeouts[0]
    assert connect <= 1.5
    assert read <= 1.5


def test_every_call_carries_a_client_request_id_and_our_user_agent() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", Reply(503, {}), OK)
    run(adapter)
    ids = [c.headers["x-ms-client-request-id"] for c in adapter.calls]
    assert len(set(ids)) == len(ids) == 2, "one id per attempt"
    assert all(c.headers["User-Agent"] == USER_AGENT for c in adapter.calls)
    assert USER_AGENT.startswith(f"secretinj-runtime/{sir.__version__} Python/")


def test_errors_show_the_request_and_correlation_ids() -> None:
    headers = {"x-ms-request-id": "req-1", "x-ms-correlation-request-id": "corr-2"}
    denied = Reply(
        403, {"error": {"code": "AuthorizationFailed", "message": "no"}}, headers=headers
    )
    result = run(FakeAdapter().add("POST", "listsecrets", denied))
    assert "[request id req-1, correlation id corr-2]" in (result.error or "")


def test_retried_failures_say_how_many_attempts_and_how_long() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", Reply(error=requests.ReadTimeout("slow")))
    clock = FakeClock()
    result = run(adapter, clock=clock, retry_policy=RetryPolicy(max_attempts=2, deadline_s=30))
    assert result.status is Status.TIMED_OUT
    assert "(2 attempts in " in (result.error or "")


def test_service_text_is_one_line() -> None:
    text = "Caller is not authorized.\r\nCaller: appid=1;oid=2\nVault: mykv;location=x"
    result = run(FakeAdapter().add("GET", "/secrets/pw", kv_error("Forbidden", None, text)), KV_REF)
    assert "\n" not in (result.error or "")
    assert "\r" not in (result.error or "")
    assert "Caller: appid=1;oid=2 Vault: mykv" in (result.error or "")


@pytest.mark.parametrize(
    ("inner", "fix", "propagating"),
    [
        ("ForbiddenByRbac", "grant it the 'Key Vault Secrets User' role", True),
        (None, "grant it the 'Key Vault Secrets User' role", True),
        ("SecretDisabled", "is disabled: enable it", False),
        ("ForbiddenByFirewall", "allow it in the vault's networking settings", False),
        ("ForbiddenByPolicy", "needs the Azure RBAC permission model", False),
    ],
)
def test_keyvault_403_reasons(inner: str | None, fix: str, propagating: bool) -> None:
    adapter = FakeAdapter().add("GET", "/secrets/pw", kv_error("Forbidden", inner))
    clock = FakeClock()
    result = run(adapter, KV_REF, clock=clock, wait_for_access_s=600)
    assert result.status is Status.ACCESS_DENIED
    assert fix in (result.error or "")
    if propagating:
        assert adapter.count() > 5, "a missing role may be propagating: the wait retries it"
    else:
        assert adapter.count() == 1, "not a role: no waiting, no retry"
        assert clock.sleeps == []


def name_error(errno: int) -> Reply:
    cause = socket.gaierror(errno, "lookup failed")
    error = requests.ConnectionError("Failed to resolve 'nope-kv.vault.azure.net'")
    error.__cause__ = cause
    return Reply(error=error)


def test_a_vault_whose_name_does_not_resolve_is_not_found_at_once() -> None:
    adapter = FakeAdapter().add("GET", "/secrets/pw", name_error(socket.EAI_NONAME))
    clock = FakeClock()
    result = run(adapter, KV_REF, clock=clock)
    assert result.status is Status.NOT_FOUND
    assert "there is no vault named 'mykv' in this cloud" in (result.error or "")
    assert adapter.count() == 1
    assert clock.sleeps == []


def test_a_temporary_resolver_failure_is_retried() -> None:
    adapter = FakeAdapter().add("GET", "/secrets/pw", name_error(socket.EAI_AGAIN))
    result = run(adapter, KV_REF, retry_policy=RetryPolicy(max_attempts=3, deadline_s=30))
    assert result.status is Status.SERVICE_ERROR
    assert adapter.count() == 3


def test_arm_names_that_do_not_resolve_are_retried() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", name_error(socket.EAI_NONAME))
    result = run(adapter, retry_policy=RetryPolicy(max_attempts=2, deadline_s=30))
    assert result.status is Status.SERVICE_ERROR
    assert adapter.count() == 2
