"""Rotation without restart: TTL refresh, stale-if-error, revocation, on_change, access wait."""

from __future__ import annotations

import logging
import threading

import pytest

import secretinj_runtime as sir
from secretinj_runtime import Status
from secretinj_runtime.transport import RetryPolicy
from tests.fakes import (
    FakeAdapter,
    FakeClock,
    FakeCredential,
    Reply,
    connection_body,
    make_resolver,
)

REF = "${{azureml://connections/aoai/credentials/key}}"


def key_body(key: str) -> Reply:
    return Reply(200, connection_body("aoai", credentials={"key": key}))


def error(status: int) -> Reply:
    return Reply(status, {"error": {"code": "E", "message": f"status {status}"}})


FAST = RetryPolicy(max_attempts=1, deadline_s=5)


def test_stale_value_is_served_while_the_service_fails(caplog: pytest.LogCaptureFixture) -> None:
    adapter = FakeAdapter().add(
        "POST", "listsecrets", key_body("key-v1"), error(503), key_body("key-v2")
    )
    clock = FakeClock()
    resolver = make_resolver(adapter, clock=clock, cache_ttl_s=10, retry_policy=FAST)
    assert resolver.resolve(REF) == "key-v1"
    clock.now += 11
    with caplog.at_level(logging.WARNING):
        assert resolver.resolve(REF) == "key-v1"
    assert "refresh failed (SERVICE_ERROR" in caplog.text
    assert "serving the value fetched 11 s ago" in caplog.text
    assert resolver.resolve(REF) == "key-v1"
    assert adapter.count() == 2, "no hammering: the next try waits"
    clock.now += 10
    assert resolver.resolve(REF) == "key-v2"


def test_stale_value_expires_after_max_staleness() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", key_body("key-v1"), error(503))
    clock = FakeClock()
    resolver = make_resolver(
        adapter, clock=clock, cache_ttl_s=10, max_stale_s=100, retry_policy=FAST
    )
    resolver.resolve(REF)
    clock.now += 101
    with pytest.raises(sir.ServiceError):
        resolver.resolve(REF)


def test_403_on_refresh_is_revocation_after_the_grace_period() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", key_body("key-v1"), error(403))
    clock = FakeClock()
    resolver = make_resolver(adapter, clock=clock, cache_ttl_s=10, revocation_grace_s=60)
    resolver.resolve(REF)
    clock.now += 11
    assert resolver.resolve(REF) == "key-v1", "within the grace period"
    clock.now += 30
    assert resolver.resolve(REF) == "key-v1"
    clock.now += 31
    with pytest.raises(sir.AccessDeniedError, match="Secrets Reader"):
        resolver.resolve(REF)
    with pytest.raises(sir.AccessDeniedError):
        resolver.resolve(REF)  # the value is gone for good


def test_on_change_fires_with_the_name_and_updates_the_environment() -> None:
    adapter = FakeAdapter().add(
        "POST", "listsecrets", key_body("key-v1"), key_body("key-v1"), key_body("key-v2")
    )
    clock = FakeClock()
    resolver = make_resolver(adapter, clock=clock, cache_ttl_s=10)
    env = {"KEY": REF, "URL": "${{azureml://connections/aoai/target}}"}
    resolver.resolve_environment(environ=env)
    seen: list[str] = []
    resolver.on_change("KEY", seen.append)
    resolver.on_change("URL", seen.append)
    resolver.refresh()
    assert resolver.get_secret("KEY", environ=env) == "key-v1"
    assert seen == [], "same value: no callback"
    clock.now += 6  # forced refreshes of one group are spaced (5 s by default)
    resolver.refresh()
    assert resolver.get_secret("KEY", environ=env) == "key-v2"
    assert seen == ["KEY"], "only the variable whose value changed"
    assert env["KEY"] == "key-v2"


def test_on_change_needs_a_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    resolver = make_resolver(FakeAdapter())
    monkeypatch.setenv("PLAIN", "literal")
    with pytest.raises(sir.MissingSecretError, match="nothing to watch"):
        resolver.on_change("PLAIN", print)
    monkeypatch.setenv("WATCHED", REF)
    resolver.on_change("WATCHED", print)


def test_a_failing_callback_does_not_break_the_refresh(caplog: pytest.LogCaptureFixture) -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", key_body("key-v1"), key_body("key-v2"))
    resolver = make_resolver(adapter)
    env = {"KEY": REF}
    resolver.resolve_environment(environ=env)

    def broken(name: str) -> None:
        raise RuntimeError("callback bug")

    resolver.on_change("KEY", broken)
    resolver.refresh()
    with caplog.at_level(logging.ERROR):
        assert resolver.get_secret("KEY", environ=env) == "key-v2"
    assert "on_change callback for KEY failed" in caplog.text


def test_background_refresh_picks_up_a_rotation() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", key_body("key-v1"), key_body("key-v2"))
    env = {"KEY": REF}
    with make_resolver(adapter, refresh_interval_s=0.01) as resolver:
        resolver.resolve_environment(environ=env)
        changed = threading.Event()
        resolver.on_change("KEY", lambda name: changed.set())
        assert changed.wait(5), "the background refresh ran"
    assert env["KEY"] == "key-v2"


def test_background_refresh_is_off_by_default() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", key_body("key-v1"))
    resolver = make_resolver(adapter)
    resolver.resolve(REF)
    assert resolver.engine.refresher is None
    assert not [t for t in threading.enumerate() if t.name == "secretinj-refresh"]


def test_wait_for_access_retries_403_until_the_role_arrives(
    caplog: pytest.LogCaptureFixture,
) -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", error(403), error(403), key_body("key-v1"))
    clock = FakeClock()
    resolver = make_resolver(adapter, clock=clock)
    with caplog.at_level(logging.INFO):
        report = resolver.resolve_environment(environ={"KEY": REF}, wait_for_access_s=60)
    assert report.variables["KEY"].status is Status.RESOLVED
    assert len(clock.sleeps) == 2
    lines = [r.getMessage() for r in caplog.records if "waiting for access" in r.getMessage()]
    assert len(lines) == 2
    assert "attempt 1" in lines[0]
    assert "s left" in lines[0]


def test_wait_for_access_gives_up_at_the_deadline_naming_the_role() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", error(403))
    clock = FakeClock()
    resolver = make_resolver(adapter, clock=clock, wait_for_access_s=20)
    report = resolver.resolve_environment(environ={"KEY": REF}, required=False)
    status = report.variables["KEY"]
    assert status.status is Status.ACCESS_DENIED
    assert "Azure Machine Learning Workspace Connection Secrets Reader" in (status.error or "")
    assert sum(clock.sleeps) == pytest.approx(20)
    assert adapter.count() == len(clock.sleeps) + 1


def test_wait_for_access_also_waits_for_the_identity() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", key_body("key-v1"))
    credential = FakeCredential(error=RuntimeError("identity not ready"))
    clock = FakeClock()
    resolver = make_resolver(adapter, credential, clock=clock)

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        credential.error = None  # the identity shows up during the first wait

    resolver.engine.sleep = sleep
    report = resolver.resolve_environment(environ={"KEY": REF}, wait_for_access_s=30)
    assert report.ok


def test_no_wait_by_default_and_none_for_404() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", error(404))
    clock = FakeClock()
    report = make_resolver(adapter, clock=clock, wait_for_access_s=30).resolve_environment(
        environ={"KEY": REF}, required=False
    )
    assert report.variables["KEY"].status is Status.NOT_FOUND
    assert clock.sleeps == []


def test_access_wait_from_the_environment() -> None:
    resolver = sir.SecretResolver(environ={"SECRETINJ_ACCESS_WAIT_S": "45"})
    assert resolver.wait_for_access_s == 45
