"""Persistent failures are remembered and refreshes spaced: no ARM write storm (DESIGN.md)."""

from __future__ import annotations

import threading

import pytest

import secretinj_runtime as sir
from secretinj_runtime import Status
from secretinj_runtime.transport import RetryPolicy
from tests.fakes import FakeAdapter, FakeClock, error, key_body, make_resolver

REF = "${{azureml://connections/aoai/credentials/key}}"
FAST = RetryPolicy(max_attempts=3, deadline_s=30)


def test_a_persistent_403_costs_one_call_for_many_uses() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", error(403))
    clock = FakeClock()
    resolver = make_resolver(adapter, clock=clock)
    for _ in range(100):
        with pytest.raises(sir.AccessDeniedError, match="Secrets Reader"):
            resolver.resolve(REF)
    assert adapter.count("listsecrets") == 1, "the failure is remembered"


def test_the_memory_grows_and_is_capped() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", error(403))
    clock = FakeClock()
    resolver = make_resolver(adapter, clock=clock)
    calls = []
    for _ in range(600):  # ten minutes, one use per second
        with pytest.raises(sir.AccessDeniedError):
            resolver.resolve(REF)
        calls.append(adapter.count("listsecrets"))
        clock.now += 1
    # 2, 4, 8, 16, 32 then 60 s (each +-20 %): about a dozen calls in ten minutes
    assert 8 <= calls[-1] <= 16
    assert calls[1] == 1, "one second later the failure still answers"


def test_refresh_does_not_bypass_the_memory() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", error(403))
    resolver = make_resolver(adapter)
    for _ in range(30):
        resolver.refresh()
        with pytest.raises(sir.AccessDeniedError):
            resolver.resolve(REF)
    assert adapter.count("listsecrets") == 1


def test_a_cold_503_storm_is_one_retried_fetch() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", error(503, "ServiceUnavailable"))
    clock = FakeClock()
    resolver = make_resolver(adapter, clock=clock, retry_policy=FAST)
    for _ in range(10):
        with pytest.raises(sir.ServiceError):
            resolver.resolve(REF)
    assert adapter.count("listsecrets") == 3, "one fetch of three attempts, then fail fast"
    assert sum(clock.sleeps) < 20, "later calls did not wait through retries"


def test_the_memory_ends_and_a_success_clears_it() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", error(403), key_body("key-v1"))
    clock = FakeClock()
    resolver = make_resolver(adapter, clock=clock)
    with pytest.raises(sir.AccessDeniedError):
        resolver.resolve(REF)
    clock.now += 2.5  # past the first interval (2 s +- 20 %)
    assert resolver.resolve(REF) == "key-v1"
    assert adapter.count("listsecrets") == 2


def test_stale_if_error_still_serves_during_the_memory() -> None:
    adapter = FakeAdapter().add(
        "POST", "listsecrets", key_body("key-v1"), error(503, "ServiceUnavailable")
    )
    clock = FakeClock()
    resolver = make_resolver(adapter, clock=clock, cache_ttl_s=10, retry_policy=FAST)
    assert resolver.resolve(REF) == "key-v1"
    clock.now += 11
    for _ in range(50):
        assert resolver.resolve(REF) == "key-v1"
    assert adapter.count("listsecrets") == 2, "one short attempt, then the stale value"


def test_forced_refreshes_are_spaced() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", key_body("key-v1"))
    clock = FakeClock()
    resolver = make_resolver(adapter, clock=clock)
    resolver.resolve(REF)
    resolver.refresh()  # the first refresh after a fetch always goes through
    resolver.resolve(REF)
    assert adapter.count("listsecrets") == 2
    for _ in range(30):  # a 401 storm: every request refreshes
        resolver.refresh()
        assert resolver.resolve(REF) == "key-v1"
    assert adapter.count("listsecrets") == 2, "inside the interval: served from the cache"
    clock.now += 5
    resolver.refresh()
    resolver.resolve(REF)
    assert adapter.count("listsecrets") == 3


def test_the_minimum_interval_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", key_body("key-v1"))
    resolver = make_resolver(adapter, min_refresh_interval_s=0)
    resolver.resolve(REF)
    for _ in range(3):
        resolver.refresh()
        resolver.resolve(REF)
    assert adapter.count("listsecrets") == 4
    env_resolver = sir.SecretResolver(environ={"SECRETINJ_MIN_REFRESH_INTERVAL_S": "1.5"})
    assert env_resolver.engine.cache.min_refresh_interval_s == 1.5


def test_a_short_ttl_is_not_spaced() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", key_body("key-v1"))
    clock = FakeClock()
    resolver = make_resolver(adapter, clock=clock, cache_ttl_s=1)
    for _ in range(5):
        resolver.resolve(REF)
        clock.now += 1.5
    assert adapter.count("listsecrets") == 5, "a TTL of one second is what the user asked for"


def test_the_access_wait_keeps_its_own_schedule() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", *[error(403)] * 4, key_body("key-v1"))
    clock = FakeClock()
    resolver = make_resolver(adapter, clock=clock, wait_for_access_s=60)
    report = resolver.resolve_environment(environ={"KEY": REF}, required=False)
    assert report.variables["KEY"].status is Status.RESOLVED
    assert adapter.count("listsecrets") == 5


def test_an_on_change_callback_may_read_its_own_variable() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", key_body("key-v1"), key_body("key-v2"))
    resolver = make_resolver(adapter, cache_ttl_s=0)
    env = {"KEY": REF}
    resolver.resolve_environment(environ=env)
    seen: list[str] = []
    resolver.on_change("KEY", lambda name: seen.append(resolver.get_secret(name, environ=env)))
    done = threading.Event()

    def use() -> None:
        resolver.get_secret("KEY", environ=env)
        done.set()

    threading.Thread(target=use, daemon=True).start()
    assert done.wait(10), "the callback joined its own fetch and deadlocked"
    assert seen == ["key-v2"]


def test_callbacks_run_outside_every_lock() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", key_body("key-v1"), key_body("key-v2"))
    resolver = make_resolver(adapter)
    env = {"KEY": REF}
    resolver.resolve_environment(environ=env)
    held: list[bool] = []
    engine = resolver.engine
    resolver.on_change(
        "KEY", lambda _: held.append(engine._lock.locked() or engine.variables._lock.locked())
    )
    resolver.refresh()
    resolver.get_secret("KEY", environ=env)
    assert held == [False]
    assert len(resolver.engine._flights) == 0
