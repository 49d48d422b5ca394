"""The ARM write token bucket, with a manual clock (no real waiting)."""

from __future__ import annotations

import pytest

from secretinj_runtime.mock.clock import ManualClock
from secretinj_runtime.mock.throttle import UNTHROTTLED_REMAINING, Throttle, TokenBucket


def test_bucket_drains_and_refills() -> None:
    clock = ManualClock(0.0)
    bucket = TokenBucket(200, 10.0, clock)
    decisions = [bucket.take() for _ in range(300)]
    allowed = [d for d in decisions if d.allowed]
    assert len(allowed) == 200
    assert allowed[0].remaining == 199
    assert allowed[-1].remaining == 0
    refused = decisions[200]
    assert not refused.allowed
    assert refused.retry_after_s == 1
    clock.advance(refused.retry_after_s)
    assert bucket.remaining() == 10
    assert sum(bucket.take().allowed for _ in range(11)) == 10


def test_retry_after_is_the_ceiling_of_time_to_one_token() -> None:
    clock = ManualClock(0.0)
    bucket = TokenBucket(1, 0.3, clock)
    assert bucket.take().allowed
    assert bucket.take().retry_after_s == 4  # 1 / 0.3 = 3.33 s
    clock.advance(2.0)
    assert bucket.take().retry_after_s == 2  # 0.4 s of 1 token missing -> 1.33 s
    clock.advance(10.0)
    assert bucket.remaining() == 1
    bucket.take()
    bucket.refill()
    assert bucket.remaining() == 1


def test_bucket_never_exceeds_capacity() -> None:
    clock = ManualClock(0.0)
    bucket = TokenBucket(5, 100.0, clock)
    clock.advance(1_000)
    assert bucket.remaining() == 5


def test_invalid_bucket() -> None:
    with pytest.raises(ValueError, match="capacity"):
        TokenBucket(0, 1.0, ManualClock())


def test_disabled_throttle() -> None:
    throttle = Throttle(ManualClock(), None)
    assert all(throttle.take().allowed for _ in range(1_000))
    assert throttle.remaining() == UNTHROTTLED_REMAINING
    assert throttle.describe()["enabled"] is False
    throttle.configure(3, 1.0)
    assert throttle.describe() == {
        "enabled": True,
        "capacity": 3,
        "refill_per_s": 1.0,
        "remaining": 3,
    }
