"""The write limiter inside a resolver: ListSecrets keeps to one replica's rate, nothing else."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests

from secretinj_runtime import Status
from secretinj_runtime.transport import REMAINING_WRITES_HEADER, RetryPolicy
from tests.fakes import FakeAdapter, FakeClock, Reply, connection_body, make_resolver


def refs(count: int) -> dict[str, str]:
    """``count`` variables, one connection each."""
    ref = "${{{{azureml://connections/conn-{}/credentials/key}}}}"
    return {f"V{i}": ref.format(i) for i in range(count)}


def ok(name: str, remaining: int) -> Reply:
    return Reply(200, connection_body(name), headers={REMAINING_WRITES_HEADER: str(remaining)})


THROTTLED = Reply(
    429,
    {"error": {"code": "SubscriptionRequestsThrottled", "message": "try later"}},
    headers={"Retry-After": "1", REMAINING_WRITES_HEADER: "0"},
)


class Together(FakeAdapter):
    """Answers only once ``count`` requests are in flight at the same time (else it fails)."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.barrier = threading.Barrier(count, timeout=5)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        self.barrier.wait()  # BrokenBarrierError if the writes were serialized
        return super().send(request, *args, **kwargs)


@pytest.mark.parametrize("mode", ["adaptive", "standard"])
def test_one_replica_without_throttling_is_not_slowed(mode: str) -> None:
    adapter = Together(8)
    for i in range(8):
        adapter.add("POST", f"/connections/conn-{i}/", ok(f"conn-{i}", remaining=1199 - i))
    clock = FakeClock()
    resolver = make_resolver(adapter, clock=clock, retry_policy=RetryPolicy(mode=mode))
    report = resolver.resolve_environment(environ=refs(8))
    assert report.ok
    assert adapter.count("listsecrets") == 8, "all eight went out at once, in one round trip"
    assert clock.sleeps == []


class Overlap(FakeAdapter):
    """Notes how many requests after the first ``skip`` were in flight at the same time.

    The first ``skip`` (the unthrottled burst) are answered only once all of them arrived, so
    that a slow thread of the burst is never counted with the paced retries.
    """

    def __init__(self, skip: int) -> None:
        super().__init__()
        self.skip = skip
        self.seen = 0
        self.in_flight = 0
        self.most_at_once = 0
        self.lock = threading.Lock()
        self.burst = threading.Barrier(skip, timeout=5)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            self.seen += 1
            watched = self.seen > self.skip
            self.in_flight += watched
            self.most_at_once = max(self.most_at_once, self.in_flight)
        if not watched:
            self.burst.wait()
        try:
            if watched:
                time.sleep(0.005)  # a window in which an overlapping write would be seen
            return super().send(request, *args, **kwargs)
        finally:
            with self.lock:
                self.in_flight -= watched


def test_after_a_429_the_replica_sends_one_write_at_a_time() -> None:
    adapter = Overlap(skip=5)
    adapter.add("POST", "listsecrets", *[THROTTLED] * 5, ok("conn-0", remaining=0))
    resolver = make_resolver(adapter, retry_policy=RetryPolicy(deadline_s=120))
    assert resolver.resolve_environment(environ=refs(5)).ok
    assert adapter.count("listsecrets") == 10, "5 refused, then each fetch once"
    assert adapter.most_at_once == 1


class SecondWaveTogether(FakeAdapter):
    """Refuses the first ``count`` requests; answers the next ``count`` only all together."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count_ = count
        self.seen = 0
        self.lock = threading.Lock()
        self.barrier = threading.Barrier(count, timeout=5)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            self.seen += 1
            second_wave = self.seen > self.count_
        if second_wave:
            self.barrier.wait()
        return super().send(request, *args, **kwargs)


def test_the_standard_mode_retries_each_fetch_on_its_own() -> None:
    adapter = SecondWaveTogether(5)
    adapter.add("POST", "listsecrets", *[THROTTLED] * 5, ok("conn-0", remaining=0))
    policy = RetryPolicy(mode="standard", deadline_s=120)
    assert make_resolver(adapter, retry_policy=policy).resolve_environment(environ=refs(5)).ok
    assert adapter.count("listsecrets") == 10


def test_a_429_without_retry_after_waits_for_the_write_rate() -> None:
    refused = Reply(429, {"error": {"code": "SubscriptionRequestsThrottled"}})
    adapter = FakeAdapter().add("POST", "listsecrets", *[refused] * 3, ok("conn-0", remaining=0))
    clock = FakeClock()
    policy = RetryPolicy(deadline_s=60, retry_after_jitter=0)
    resolver = make_resolver(adapter, clock=clock, retry_policy=policy)
    assert resolver.resolve_environment(environ=refs(1)).ok
    # 1 s assumed, 4 times longer per refused round, at most 30 % of the time left
    assert clock.sleeps == pytest.approx([4.0, 16.0, 0.3 * (60 - 20)])


def test_the_standard_mode_has_no_limiter_and_key_vault_never_has_one() -> None:
    adapter = FakeAdapter()
    standard = make_resolver(adapter, retry_policy=RetryPolicy(mode="standard"))
    clients = standard.engine._ensure_clients()
    assert clients.connections is not None
    assert clients.connections.limiter is None
    adaptive = make_resolver(adapter).engine._ensure_clients()
    assert adaptive.connections is not None
    assert adaptive.connections.limiter is not None
    assert not hasattr(adaptive.keyvault, "limiter")


def test_the_retry_mode_is_checked_and_shown() -> None:
    with pytest.raises(ValueError, match="adaptive, standard"):
        RetryPolicy(mode="fast")
    assert "mode='adaptive'" in repr(RetryPolicy())


def test_a_throttled_fetch_ends_throttled_after_a_few_paced_attempts() -> None:
    adapter = FakeAdapter().add("POST", "listsecrets", THROTTLED)
    clock = FakeClock()
    policy = RetryPolicy(deadline_s=20, retry_after_jitter=0)
    resolver = make_resolver(adapter, clock=clock, retry_policy=policy)
    report = resolver.resolve_environment(environ=refs(1), required=False)
    status = report.variables["V0"]
    assert status.status is Status.THROTTLED
    assert "HTTP 429" in (status.error or "")
    assert "9 attempts in" in (status.error or "")
    # 4 s, then never more than 30 % of the time left, never less than Retry-After (1 s)
    assert clock.sleeps == pytest.approx([4, 4.8, 3.36, 2.352, 1.6464, 1.15248, 1, 1])
    assert adapter.count() == 9
