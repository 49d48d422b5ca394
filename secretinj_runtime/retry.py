"""When and how long to retry: the policy and its tenacity strategies.

`RetryPolicy` is the knobs; the strategies are what `transport.Transport` composes into one
``tenacity.Retrying`` per request: waits that honour ``Retry-After`` (or, in adaptive mode,
leave a throttled attempt's wait to the resolver's write rate, `_ratelimit`), and stops at the
attempt budget or the deadline.
"""

from __future__ import annotations

import logging
import random

from tenacity.stop import stop_base
from tenacity.wait import wait_base

from ._tracing import note_throttled
from .errors import SecretInjectionError, ThrottledError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from tenacity import RetryCallState

    from ._ratelimit import WriteLimiter

_logger = logging.getLogger("secretinj_runtime.transport")

#: `RetryPolicy` modes: pace a resolver's ARM writes once throttled, or retry each on its own.
RETRY_MODES = ("adaptive", "standard")


class RetryPolicy:
    """When and how long to retry (DESIGN.md "Retries").

    Retries 408, 429, 500, 502, 503, 504, connection errors and read timeouts, with full-jitter
    exponential backoff or the server's ``Retry-After`` (plus up to ``retry_after_jitter`` of
    it, so that replicas throttled together do not come back together), until
    ``max_attempts`` failures or until the next attempt would start after ``deadline_s``.
    Throttled attempts (429) do not count toward ``max_attempts``: under a shared ARM budget
    only the deadline bounds them.

    ``mode`` (named like the AWS SDKs' retry modes): ``"adaptive"`` (default) paces a
    resolver's ARM writes (ListSecrets) with a client-side rate once ARM throttles it (see
    `_ratelimit`); ``"standard"`` retries each fetch on its own schedule, as above, with
    nothing shared between a resolver's fetches.
    """

    __slots__ = (
        "backoff_base_s",
        "backoff_max_s",
        "deadline_s",
        "max_attempts",
        "max_retry_after_s",
        "mode",
        "retry_after_jitter",
    )

    def __init__(
        self,
        *,
        max_attempts: int = 6,
        deadline_s: float = 30.0,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 8.0,
        max_retry_after_s: float = 60.0,
        retry_after_jitter: float = 0.5,
        mode: str = "adaptive",
    ) -> None:
        if mode not in RETRY_MODES:
            raise ValueError(f"mode must be one of {', '.join(RETRY_MODES)}, got {mode!r}")
        self.mode = mode
        self.max_attempts = max_attempts
        self.deadline_s = deadline_s
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.max_retry_after_s = max_retry_after_s
        self.retry_after_jitter = retry_after_jitter

    def __repr__(self) -> str:
        return (
            f"RetryPolicy(max_attempts={self.max_attempts}, deadline_s={self.deadline_s}, "
            f"backoff_base_s={self.backoff_base_s}, backoff_max_s={self.backoff_max_s}, "
            f"mode={self.mode!r})"
        )


class wait_retry_after(wait_base):  # noqa: N801 - named like tenacity's strategies
    """Wait what the server's ``Retry-After`` asked for, else fall back to another wait."""

    def __init__(
        self, fallback: Callable[[RetryCallState], float], cap_s: float, jitter: float = 0.0
    ) -> None:
        self.fallback = fallback
        self.cap_s = cap_s
        self.jitter = jitter

    def __call__(self, retry_state: RetryCallState) -> float:
        """Return the seconds to wait before the next attempt."""
        outcome = retry_state.outcome
        ex = outcome.exception() if outcome is not None else None
        if isinstance(ex, SecretInjectionError) and ex.retry_after_s is not None:
            asked = min(max(ex.retry_after_s, 0.0), self.cap_s)
            wait = asked + random.uniform(0.0, asked * self.jitter)  # noqa: S311 - jitter
        else:
            wait = self.fallback(retry_state)
        if isinstance(ex, ThrottledError):
            note_throttled(wait)
        return wait


class stop_after_failures(stop_base):  # noqa: N801 - named like tenacity's strategies
    """Stop after ``max_failures`` failed attempts, not counting throttled (429) ones."""

    def __init__(self, max_failures: int) -> None:
        self.max_failures = max_failures
        self.failures = 0

    def __call__(self, retry_state: RetryCallState) -> bool:
        """Tell whether to give up."""
        outcome = retry_state.outcome
        ex = outcome.exception() if outcome is not None else None
        if not isinstance(ex, ThrottledError):
            self.failures += 1
        return self.failures >= self.max_failures


class stop_at_deadline(stop_base):  # noqa: N801 - named like tenacity's strategies
    """Stop when the next attempt would start after the deadline (on an injectable clock)."""

    def __init__(self, deadline: float, clock: Callable[[], float]) -> None:
        self.deadline = deadline
        self.clock = clock

    def __call__(self, retry_state: RetryCallState) -> bool:
        """Tell whether to give up."""
        return self.clock() + retry_state.upcoming_sleep > self.deadline


class wait_paced(wait_base):  # noqa: N801 - named like tenacity's strategies
    """With a write limiter, a throttled attempt waits in the limiter (0 here); others fall back."""

    def __init__(self, fallback: Callable[[RetryCallState], float]) -> None:
        self.fallback = fallback

    def __call__(self, retry_state: RetryCallState) -> float:
        """Return the seconds to wait before the next attempt."""
        outcome = retry_state.outcome
        if outcome is not None and isinstance(outcome.exception(), ThrottledError):
            return 0.0
        return self.fallback(retry_state)


class stop_paced_past_deadline(stop_base):  # noqa: N801 - named like tenacity's strategies
    """Stop when the write limiter allows no attempt before the deadline."""

    def __init__(self, limiter: WriteLimiter, deadline: float, clock: Callable[[], float]) -> None:
        self.limiter = limiter
        self.deadline = deadline
        self.clock = clock

    def __call__(self, retry_state: RetryCallState) -> bool:
        """Tell whether to give up."""
        return self.clock() + self.limiter.delay_s() > self.deadline


def is_retryable(ex: BaseException) -> bool:
    """Tell whether a failure is worth another attempt."""
    return isinstance(ex, SecretInjectionError) and ex.retryable


def log_retry(retry_state: RetryCallState, limiter: WriteLimiter | None = None) -> None:
    """Log one DEBUG line per failed attempt before its wait."""
    outcome = retry_state.outcome
    ex = outcome.exception() if outcome is not None else None
    delay, note = retry_state.upcoming_sleep, ""
    if limiter is not None and isinstance(ex, ThrottledError):  # the write rate's wait
        delay, note = limiter.delay_s(), f" (paced: one write per {limiter.interval_s:.1f} s)"
    _logger.debug(
        "attempt %d failed (%s); retrying in %.2f s%s",
        retry_state.attempt_number,
        ex.message if isinstance(ex, SecretInjectionError) else type(ex).__name__,
        delay,
        note,
    )
