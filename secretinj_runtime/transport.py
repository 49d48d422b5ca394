"""HTTP transport: endpoint allow-list, a requests session, the tenacity retry policy.

Everything that can go wrong on the wire ends here as a typed `SecretInjectionError`; no
exception from ``requests`` leaves this module, and none is chained to ours (its frames hold
the request's headers, the bearer token among them).

Longer than 300 lines because the retry strategies (tenacity waits and stops honouring
``Retry-After`` and the deadline) are part of the one request loop they shape.

The policy (DESIGN.md "Transport policy"):

- one deadline per request covers everything: the token, the connect and read of every
  attempt, and the waits between attempts;
- a plain-http endpoint (only ever a loopback host: the mock, an override) is never reached
  through a proxy from the environment; https endpoints may use it (corporate egress);
- every request carries ``x-ms-client-request-id`` and a User-Agent naming this package, and
  errors carry the service's request and correlation ids.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import platform
import random
import socket
import time
import uuid
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from tenacity import Retrying, retry_if_exception, wait_random_exponential
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from ._constants import VERSION
from ._deadline import deadline_scope
from ._tracing import note_attempt, note_throttled
from .errors import (
    RETRYABLE_STATUS,
    NotFoundError,
    SecretInjectionError,
    ServiceError,
    ThrottledError,
    TimedOutError,
    UntrustedEndpointError,
    error_for_status,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from tenacity import RetryCallState

    from ._ratelimit import Ticket, WriteLimiter

_logger = logging.getLogger(__name__)

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
#: Per-request proxies that override the environment's (requests drops the None entries).
_NO_PROXIES: dict[str, Any] = {"http": None, "https": None, "all": None}
#: `RetryPolicy` modes: pace a resolver's ARM writes once throttled, or retry each on its own.
RETRY_MODES = ("adaptive", "standard")
#: ARM's count of writes left in the subscription's bucket (for this principal).
REMAINING_WRITES_HEADER = "x-ms-ratelimit-remaining-subscription-writes"
USER_AGENT = f"secretinj-runtime/{VERSION} Python/{platform.python_version()} ({platform.system()})"


def is_loopback(host: str) -> bool:
    """Tell whether ``host`` is a loopback name or address (127.0.0.0/8, ::1, localhost)."""
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint(url: str, *, setting: str) -> str:
    """Validate a base URL a token may be sent to; return it without a trailing slash.

    https is required, except plain http to a loopback host (the local mock).
    """
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.username or parts.password or parts.query or parts.fragment or not host:
        raise UntrustedEndpointError(
            f"{setting} must be a plain base URL such as https://host[:port][/path], got {url!r}"
        )
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback(host)):
        return url.strip().rstrip("/")
    raise UntrustedEndpointError(
        f"{setting} must use https (plain http only to a loopback host), got {url!r}"
    )


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


def _is_retryable(ex: BaseException) -> bool:
    return isinstance(ex, SecretInjectionError) and ex.retryable


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
            retry=retry_if_exception(_is_retryable),
            before_sleep=lambda state: _log_retry(state, limiter),
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
            if name_error_is_final and _name_does_not_exist(ex):
                error = NotFoundError(
                    f"the host {urlsplit(url).hostname} does not exist (its name does not resolve)",
                    code="NameResolutionFailed",
                )
            else:
                error = ServiceError(
                    f"could not connect to {service} at {_origin(url)} ({type(ex).__name__})",
                    retryable=True,
                )
        except requests.RequestException as ex:
            error = ServiceError(f"request to {service} failed ({type(ex).__name__})")
        finally:
            client_request_id = headers["x-ms-client-request-id"]
            del headers  # the token stays out of the frames a crash reporter would capture
            if limiter is not None and ticket is not None:
                _record(limiter, ticket, response)
        if error is not None:
            note_attempt(None)
            raise error  # outside the except block: nothing from requests is chained to it
        assert response is not None
        note_attempt(response.status_code)
        _logger.debug(
            "%s %s -> %s in %.0f ms (client request id %s)",
            method,
            _origin(url),
            response.status_code,
            (self.clock() - started) * 1000,
            client_request_id,
        )
        response.request = None  # type: ignore[assignment] # it holds the token
        with response:
            return _handle(response, service)


def _handle(response: requests.Response, service: str) -> dict[str, Any]:
    status = response.status_code
    request_id = response.headers.get("x-ms-request-id")
    correlation_id = response.headers.get("x-ms-correlation-request-id")
    if 200 <= status < 300:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ServiceError(
                f"{service} answered {status} with a body that is not a JSON object "
                f"({response.headers.get('Content-Type', 'no content type')})",
                http_status=status,
                request_id=request_id,
                correlation_id=correlation_id,
            )
        return body
    code, detail = _error_detail(response)
    cls = error_for_status(status)
    if 300 <= status < 400:
        detail = f"unexpected redirect (not followed){': ' + detail if detail else ''}"
    message = f"{service} answered HTTP {status}" + (f" {code}" if code else "")
    if detail:
        message += f": {detail}"
    raise cls(
        message,
        http_status=status,
        request_id=request_id or correlation_id,
        correlation_id=correlation_id,
        retry_after_s=_retry_after_s(response.headers.get("Retry-After")),
        retryable=status in RETRYABLE_STATUS,
        code=code,
    )


_MAX_DETAIL = 300


def _error_detail(response: requests.Response) -> tuple[str | None, str]:
    """Return (code, one-line message) of an Azure error envelope, or a note about the body.

    The code is the innermost ``innererror.code`` where there is one (Key Vault says why a
    403 happened there: ``ForbiddenByRbac``, ``SecretDisabled``, ``ForbiddenByFirewall``).
    The message is flattened to one line and cut; the full text is logged at DEBUG.
    """
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        ctype = response.headers.get("Content-Type", "no content type")
        return None, f"non-JSON error body ({ctype.split(';')[0]})"
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, ""
    code = error.get("code")
    inner = error.get("innererror")
    while isinstance(inner, dict) and inner.get("code"):
        code = inner.get("code")
        inner = inner.get("innererror")
    full = str(error.get("message") or "")
    message = " ".join(full.split())
    if len(message) > _MAX_DETAIL:  # keep errors readable; cut at a word, not inside one
        message = message[:_MAX_DETAIL].rsplit(" ", 1)[0] + " ..."
    if message != full:
        _logger.debug("full error text (HTTP %s %s): %s", response.status_code, code, full)
    return (str(code) if code else None), message


def _record(limiter: WriteLimiter, ticket: Ticket, response: requests.Response | None) -> None:
    """Tell the write limiter what an attempt got: status, Retry-After, writes remaining."""
    if response is None:
        limiter.record(ticket, None)
        return
    headers = response.headers
    try:
        remaining: int | None = int(headers.get(REMAINING_WRITES_HEADER, ""))
    except ValueError:
        remaining = None
    limiter.record(
        ticket,
        response.status_code,
        retry_after_s=_retry_after_s(headers.get("Retry-After")),
        remaining=remaining,
    )


def _retry_after_s(value: str | None) -> float | None:
    """Parse ``Retry-After``: delay seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _name_does_not_exist(ex: BaseException) -> bool:
    """Tell whether a connection error is a DNS answer that the name does not exist.

    A temporary resolver failure (``EAI_AGAIN``) is not: that one is worth retrying.
    """
    final = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}
    seen: set[int] = set()
    stack: list[object] = [ex]
    while stack:
        node = stack.pop()
        if not isinstance(node, BaseException) or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, socket.gaierror):
            return node.errno in final
        stack += [node.__cause__, node.__context__, getattr(node, "reason", None), *node.args]
    return False


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _log_retry(retry_state: RetryCallState, limiter: WriteLimiter | None = None) -> None:
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


def new_session() -> requests.Session:
    """Return a session with a connection pool and no retries of its own (tenacity retries)."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=8, pool_maxsize=32, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
