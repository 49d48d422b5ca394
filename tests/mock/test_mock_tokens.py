"""Token issuing and checking against an injectable clock."""

from __future__ import annotations

import pytest

from secretinj_runtime.mock.clock import ManualClock, OffsetClock
from secretinj_runtime.mock.tokens import (
    ARM_AUDIENCE,
    KEYVAULT_AUDIENCE,
    TokenCheck,
    TokenIssuer,
    normalize_audience,
    object_id,
)


def test_normalize_audience() -> None:
    assert normalize_audience("https://management.azure.com/") == ARM_AUDIENCE
    assert normalize_audience("https://vault.azure.net") == KEYVAULT_AUDIENCE
    assert normalize_audience("https://graph.microsoft.com") is None


def test_issue_and_check() -> None:
    clock = ManualClock(1_000.0)
    issuer = TokenIssuer(clock, lifetime_s=60)
    value, token = issuer.issue("system", ARM_AUDIENCE)
    assert token.expires_on == 1_060
    assert issuer.check(f"Bearer {value}", ARM_AUDIENCE).status is TokenCheck.OK
    assert issuer.check(f"bearer  {value} ", ARM_AUDIENCE).status is TokenCheck.OK
    assert issuer.check(None, ARM_AUDIENCE).status is TokenCheck.MISSING
    assert issuer.check(f"Basic {value}", ARM_AUDIENCE).status is TokenCheck.INVALID
    assert issuer.check("Bearer nope", ARM_AUDIENCE).status is TokenCheck.INVALID
    wrong = issuer.check(f"Bearer {value}", KEYVAULT_AUDIENCE)
    assert wrong.status is TokenCheck.WRONG_AUDIENCE
    assert wrong.token == token
    clock.advance(60)
    assert issuer.check(f"Bearer {value}", ARM_AUDIENCE).status is TokenCheck.EXPIRED
    assert issuer.issued_values() == [value]


def test_tokens_are_random_and_bound_to_identity() -> None:
    issuer = TokenIssuer(ManualClock())
    a, ta = issuer.issue("system", ARM_AUDIENCE)
    b, tb = issuer.issue("abc", ARM_AUDIENCE)
    assert a != b
    assert ta.identity == "system"
    assert tb.identity == "abc"
    assert object_id("system") == object_id("system") != object_id("abc")


def test_clocks() -> None:
    clock = ManualClock(5.0)
    offset = OffsetClock(clock)
    assert offset.advance(10) == 15.0
    clock.set(100.0)
    assert offset() == 110.0
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="forward"):
        offset.advance(-1)
