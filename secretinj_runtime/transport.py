"""HTTP transport: one request with a bearer token, retried under the policy, mapped to errors.

Everything that can go wrong on the wire ends here as a typed `SecretInjectionError`; no
exception from ``requests`` leaves this module, and none is chained to ours (its frames hold
the request's headers, the bearer token among them).

The policy (DESIGN.md "Transport policy"):

- one deadline per request covers everything: the token, the connect and read of every
  attempt, and the waits between attempts;
- a plain-http endpoint (only ever a loopback host: the mock, an override) is never reached
  through a proxy from the environment; https endpoints may use it (corporate egress);
- every request carries ``x-ms-client-request-id`` and a User-Agent naming this package, and
  errors carry the service's request and correlation ids.
"""

from __future__ import annotations

import logging
import platform
import time
import uuid
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from tenacity import Retrying, retry_if_exception, wait_random_exponential
from tenacity.wait import wait_base

from ._constants import VERSION
from ._deadline import deadline_scope
from ._tracing import note_attempt, note_throttled
from .endpoints import check_endpoint, is_loopback
from .errors import (
    NotFoundError,
    SecretInjectionError,
    ServiceError,
    ThrottledError,
    TimedOutError,
)
from .responses import REMAINING_WRITES_HEADER, handle, name_does_not_exist, origin, record
from .retry import (
    RETRY_MODES,
    RetryPolicy,
    is_retryable,
    log_retry,
    stop_after_failures,
    stop_at_deadline,
    stop_paced_past_deadline,
    wait_paced,
    wait_retry_after,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ._ratelimit import Ticket, WriteLimiter

_logger = logging.getLogger(__name__)

__all__ = [
    "REMAINING_WRITES_HEADER",
    "RETRY_MODES",
    "USER_AGENT",
    "RetryPolicy",
    "Transport",
    "check_endpoint",
    "is_loopback",
    "new_session",
]

#: Per-request proxies that override the environment's (requests drops the None entries).
_NO_PROXIES: dict[str, Any] = {"http": None, "https": None, "all": None}
USER_AGENT = f"secretinj-runtime/{VERSION} Python/{platform.python_version()} ({platform.system()})"


class Transport:
    """Sends JSON requests with a bearer token, retrying transient failures.

    ``session``, ``sleep`` and ``clock`` are injectable so tests neither sleep nor touch the
    network beyond loopback.
    """

    def __init__(
        self,
        *,
        session: requests.Session | None = None,
        policy: RetryPolicy | None = None,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 15.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session or new_session()
        self.policy = policy or RetryPolicy()
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.sleep = sleep
        self.clock = clock

    def request_json(
        self,
        method: str,
        url: str,
        *,
        token: Callable[[], str],
        service: str,
        policy: RetryPolicy | None = None,
        name_error_is_final: bool = False,
        limiter: WriteLimiter | None = None,
    ) -> dict[str, Any]:
        """Send a request with ``Authorization: Bearer <token()>``; return the JSON object.

        ``token()`` runs inside the request's deadline (see `_deadline`). ``policy`` overrides
        the transport's retry policy for this call. With ``name_error_is_final``, a host name
        that does not resolve is a `NotFoundError` (code ``NameResolutionFailed``) at once;
        otherwise it is retried like any connection error. With a ``limiter`` (ARM writes),
        every attempt waits for the resolver's write rate and throttled retries wait there.

        Raises a typed `SecretInjectionError` (status from `error_for_status`) once the retry
        policy gives up or for a failure not worth retrying.
        """
        policy = policy or self.policy
        started = self.clock()
        deadline = started + policy.deadline_s
        stop = stop_after_failures(policy.max_attempts) | stop_at_deadline(deadline, self.clock)
        wait: wait_base = wait_retry_after(
            wait_random_exponential(multiplier=policy.backoff_base_s, max=policy.backoff_max_s),
            cap_s=policy.max_retry_after_s,
            jitter=policy.retry_after_jitter,
        )
        if limiter is not None:  # throttled retries wait for the resolver's write rate
            stop = stop | stop_paced_past_deadline(limiter, deadline, self.clock)
            wait = wait_paced(wait)
        retrying = Retrying(
            sleep=self._sleep_some,
            stop=stop,
            wait=wait,
            retry=retry_if_exception(is_retryable),
            before_sleep=lambda state: log_retry(state, limiter),
            reraise=True,
        )
        if limiter is not None:
            limiter.begin()
        try:
            result: dict[str, Any] = retrying(
                self._attempt, method, url, token, service, deadline, name_error_is_final, limiter
            )
        except SecretInjectionError as ex:
            attempts = int(retrying.statistics.get("attempt_number", 1))
            if attempts > 1:
                elapsed = self.clock() - started
                ex.with_message(f"{ex.message} ({attempts} attempts in {elapsed:.1f} s)")
            raise
        finally:
            if limiter is not None:
                limiter.finish()
        return result

    def _sleep_some(self, seconds: float) -> None:
        if seconds > 0:  # a throttled retry's wait is the limiter's: tenacity asks for 0
            self.sleep(seconds)

    def _attempt(
        self,
        method: str,
        url: str,
        token: Callable[[], str],
        service: str,
        deadline: float,
        name_error_is_final: bool,
        limiter: WriteLimiter | None = None,
    ) -> dict[str, Any]:
        remaining = deadline - self.clock()
        if remaining <= 0:
            raise TimedOutError(f"{service}: no time left before the deadline")
        with deadline_scope(deadline, self.clock):
            bearer = token()
        ticket: Ticket | None = None
        if limiter is not None:  # wait for this resolver's write rate (`_ratelimit`)
            asked = self.clock()
            ticket = limiter.acquire(deadline)
            note_throttled(self.clock() - asked)
            if ticket is None:
                del bearer
                raise ThrottledError(
                    f"{service}: still throttled: this replica's write rate allows no further "
                    "attempt before the deadline"
                )
            remaining = max(0.0, deadline - self.clock())
        timeout = (
            max(0.05, min(self.connect_timeout_s, remaining)),
            max(0.05, min(self.read_timeout_s, remaining)),
        )
        headers = {
            "Authorization": f"Bearer {bearer}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            "x-ms-client-request-id": str(uuid.uuid4()),
            "x-ms-return-client-request-id": "true",
        }
        del bearer
        started = self.clock()
        error: SecretInjectionError | None = None
        response: requests.Response | None = None
        try:
            response = self.session.request(
                method,
                url,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                proxies=_NO_PROXIES if url.lower().startswith("http://") else None,
            )
        except requests.Timeout as ex:
            error = TimedOutError(
                f"{service} did not answer within {timeout[1]:.1f} s ({type(ex).__name__})",
                retryable=True,
            )
        except requests.ConnectionError as ex:
            if name_error_is_final and name_does_not_exist(ex):
                error = NotFoundError(
                    f"the host {urlsplit(url).hostname} does not exist (its name does not resolve)",
                    code="NameResolutionFailed",
                )
            else:
                error = ServiceError(
                    f"could not connect to {service} at {origin(url)} ({type(ex).__name__})",
                    retryable=True,
                )
        except requests.RequestException as ex:
            error = ServiceError(f"request to {service} failed ({type(ex).__name__})")
        finally:
            client_request_id = headers["x-ms-client-request-id"]
            del headers  # the token stays out of the frames a crash reporter would capture
            if limiter is not None and ticket is not None:
                record(limiter, ticket, response)
        if error is not None:
            note_attempt(None)
            raise error  # outside the except block: nothing from requests is chained to it
        assert response is not None
        note_attempt(response.status_code)
        _logger.debug(
            "%s %s -> %s in %.0f ms (client request id %s)",
            method,
            origin(url),
            response.status_code,
            (self.clock() - started) * 1000,
            client_request_id,
        )
        response.request = None  # type: ignore[assignment] # it holds the token
        with response:
            return handle(response, service)


def new_session() -> requests.Session:
    """Return a session with a connection pool and no retries of its own (tenacity retries)."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=8, pool_maxsize=32, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
