"""Rotation you can rely on: recovery after revocation, serve while revalidating, pinned
versions, a refresher that survives, a bounded cache."""

from __future__ import annotations

import logging
import threading

import pytest

import secretinj_runtime as sir
from secretinj_runtime.transport import RetryPolicy
from tests.fakes import (
    Background,
    FakeAdapter,
    FakeClock,
    Reply,
    error,
    key_body,
    make_resolver,
)

REF = "${{azureml://connections/aoai/credentials/key}}"
VERSION = "0123456789abcdef0123456789abcdef"
KV_PINNED = f"${{{{keyvault:https://kv1.vault.azure.net/secrets/db/{VERSION}}}}}"
FULL = RetryPolicy(max_attempts=6, deadline_s=30)


def test_after_a_revocation_the_next_value_is_written_and_announced() -> None:
    adapter = FakeAdapter().add(
        "POST", "listsecrets", key_body("old-key"), error(403), error(403), key_body("new-key")
    )
    clock = FakeClock()
    resolver = make_resolver(adapter, clock=clock, cache_ttl_s=10, revocation_grace_s=60)
    env = {"KEY": REF}
    resolver.resolve_environment(environ=env)
    fired: list[str] = []
    resolver.on_change("KEY", fired.append)
    clock.now += 11
    assert resolver.get_secret("KEY", environ=env) == "old-key", "inside the grace"
    clock.now += 61
    with pytest.raises(sir.AccessDeniedError):
        resolver.get_secret("KEY", environ=env)  # revoked: the cached value is dropped
    assert env["KEY"] == "old-key"
    clock.now += 10  # access comes back (a re-grant, or the connection recreated)
    assert resolver.get_secret("KEY", environ=env) == "new-key"
    assert env["KEY"] == "new-key", "compared with what was last written, and written back"
    assert fired == ["KEY"]


def test_a_caller_with_a_cached_value_never_waits_through_retries() -> None:
    adapter = FakeAdapter().add(
        "POST", "listsecrets", key_body("key-v1"), *[error(503, "Busy")] * 8, key_body("key-v2")
    )
    clock = FakeClock()
    background = Background()
    resolver = make_resolver(
        adapter, clock=clock, cache_ttl_s=10, retry_policy=FULL, spawn=background
    )
    resolver.resolve(REF)
    clock.now += 11
    assert resolver.resolve(REF) == "key-v1", "the stale value, at once"
    assert adapter.count() == 2, "one attempt in the foreground"
    assert clock.sleeps == [], "the caller waited through no retry"
    assert len(background.tasks) == 1, "the retries went to the background"
    for _ in range(20):
        assert resolver.resolve(REF) == "key-v1"
    assert adapter.count() == 2
    background.run()
    assert adapter.count() > 2
    assert resolver.resolve(REF) in ("key-v1", "key-v2")


def test_a_slow_revalidation_gives_the_stale_value_after_a_short_timeout() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", key_body("key-v1"))
    clock = FakeClock()
    resolver = make_resolver(adapter, clock=clock, cache_ttl_s=10, revalidate_timeout_s=1.5)
    resolver.resolve(REF)
    clock.now += 11
    resolver.resolve(REF)
    connect, read = adapter.timeouts[-1]
    assert max(read, connect) <= 1.5, "the foreground attempt is short"


def test_a_successful_revalidation_gives_the_new_value() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", key_body("key-v1"), key_body("key-v2"))
    clock = FakeClock()
    resolver = make_resolver(adapter, clock=clock, cache_ttl_s=10)
    resolver.resolve(REF)
    clock.now += 11
    assert resolver.resolve(REF) == "key-v2"


def test_a_versioned_keyvault_secret_is_fetched_once_per_process() -> None:
    adapter = FakeAdapter().add(
        "GET", f"/secrets/db/{VERSION}", Reply(200, {"value": "pinned-value", "id": "x"})
    )
    clock = FakeClock()
    resolver = make_resolver(adapter, clock=clock, cache_ttl_s=60, max_stale_s=120)
    for _ in range(25):  # a day of hourly TTLs, a refresh, and an outage
        assert resolver.resolve(KV_PINNED) == "pinned-value"
        resolver.refresh()
        clock.now += 3600
    assert adapter.count() == 1
    assert resolver.engine.cache.references(refreshable=True) == []


def test_the_refresher_survives_a_value_the_environment_refuses(
    caplog: pytest.LogCaptureFixture,
) -> None:
    adapter = FakeAdapter().add(
        "POST", "listsecrets", key_body("key-v1"), key_body("bad\x00key"), key_body("key-v3")
    )
    import os

    os.environ.pop("NUL_TEST_KEY", None)
    os.environ["NUL_TEST_KEY"] = REF
    try:
        with make_resolver(adapter, refresh_interval_s=0.01) as resolver:
            resolver.resolve_environment(["NUL_TEST_KEY"])
            done = threading.Event()
            resolver.on_change("NUL_TEST_KEY", lambda _: done.set())
            with caplog.at_level(logging.WARNING):
                assert done.wait(10), "a later good value is written and announced"
            assert resolver.engine.refresher is not None
            assert resolver.engine.refresher.is_alive()
            assert os.environ["NUL_TEST_KEY"] == "key-v3"
        assert "SERVICE_ERROR" in caplog.text
        assert "NUL character" in caplog.text
    finally:
        os.environ.pop("NUL_TEST_KEY", None)


def test_the_refresher_survives_any_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", key_body("key-v1"), key_body("key-v2"))
    env = {"KEY": REF}
    with make_resolver(adapter, refresh_interval_s=0.01) as resolver:
        resolver.resolve_environment(environ=env)
        original = resolver.engine._stored
        calls = {"n": 0}

        def flaky(*args: object) -> None:
            calls["n"] += 1
            if calls["n"] == 1:
                raise RuntimeError("a bug")
            original(*args)  # type: ignore[arg-type]

        monkeypatch.setattr(resolver.engine, "_stored", flaky)
        changed = threading.Event()
        resolver.on_change("KEY", lambda _: changed.set())
        assert changed.wait(10), "the loop went on after the exception"
        assert resolver.engine.refresher is not None
        assert resolver.engine.refresher.is_alive()


def test_the_refresher_fetches_without_making_callers_fetch() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", key_body("key-v1"))
    clock = FakeClock()
    resolver = make_resolver(adapter, clock=clock, refresh_interval_s=3600)
    resolver.resolve(REF)
    resolver.engine.refresh_in_background(resolver.engine.cache.references()[0])
    assert adapter.count() == 2
    resolver.resolve(REF)
    assert adapter.count() == 2, "the entry was not marked stale: callers fetch nothing"
    resolver.close()


def test_the_cache_is_bounded_and_keeps_what_variables_use() -> None:
    adapter = FakeAdapter()
    for i in range(40):
        adapter.add("POST", f"/connections/c{i:03d}/listsecrets", key_body(f"key-{i}"))
    resolver = make_resolver(adapter, max_cache_entries=10)
    env = {"KEEP": "${{azureml://connections/c000/credentials/key}}"}
    resolver.resolve_environment(environ=env)
    for i in range(1, 40):
        resolver.resolve(f"${{{{azureml://connections/c{i:03d}/credentials/key}}}}")
    assert len(resolver.engine.cache) == 10
    assert ("connection", "c000") in resolver.engine.cache._entries, (
        "a written variable's group stays"
    )
