"""What an answer means: the status-to-error map, Azure's error envelope, Retry-After.

`handle` turns an HTTP response into the JSON object or the typed `SecretInjectionError`
it stands for (status from `errors.error_for_status`), with the service's error code (Key
Vault's innermost ``innererror.code``), a one-line message, the request and correlation
ids and ``Retry-After``. `record` tells the write limiter what an attempt got.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from urllib.parse import urlsplit

from .errors import RETRYABLE_STATUS, ServiceError, error_for_status

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    import requests

    from ._ratelimit import Ticket, WriteLimiter

_logger = logging.getLogger("secretinj_runtime.transport")

#: ARM's count of writes left in the subscription's bucket (for this principal).
REMAINING_WRITES_HEADER = "x-ms-ratelimit-remaining-subscription-writes"


def handle(response: requests.Response, service: str) -> dict[str, Any]:
    """Return a 2xx answer's JSON object; raise the typed error any other answer means."""
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
    code, detail = error_detail(response)
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
        retry_after_s=retry_after_s(response.headers.get("Retry-After")),
        retryable=status in RETRYABLE_STATUS,
        code=code,
    )


_MAX_DETAIL = 300


def error_detail(response: requests.Response) -> tuple[str | None, str]:
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


def record(limiter: WriteLimiter, ticket: Ticket, response: requests.Response | None) -> None:
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
        retry_after_s=retry_after_s(headers.get("Retry-After")),
        remaining=remaining,
    )


def retry_after_s(value: str | None) -> float | None:
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


def name_does_not_exist(ex: BaseException) -> bool:
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


def origin(url: str) -> str:
    """Return ``scheme://host[:port]/path`` of a URL (no query: it may carry a version)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
