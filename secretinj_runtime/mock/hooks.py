"""Per-request plumbing shared by the routes: state, request info, latency and faults."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, cast

from starlette.requests import Request
from starlette.responses import Response

from secretinj_runtime.mock.envelopes import fault_response
from secretinj_runtime.mock.requestlog import RequestInfo, logger
from secretinj_runtime.mock.store import MockState

INFO_KEY = "secretinj.info"
RAW_SEND_KEY = "secretinj.raw_send"


class DroppedConnectionError(ConnectionError):
    """Raised when a drop fault cannot reach the socket (e.g. under a test client)."""


def mock_state(request: Request) -> MockState:
    """Return the :class:`MockState` of the app serving ``request``."""
    return cast(MockState, request.app.state.mock)


def request_info(request: Request) -> RequestInfo:
    """Return the :class:`RequestInfo` the app attached to ``request``."""
    info = request.scope.get(INFO_KEY)
    if isinstance(info, RequestInfo):
        return info
    info = RequestInfo(request.method, request.url.path)
    request.scope[INFO_KEY] = info
    return info


async def drop_connection(request: Request) -> None:
    """Close the client's socket without sending any response."""
    info = request_info(request)
    info.dropped = True
    raw_send = request.scope.get(RAW_SEND_KEY)
    transport: Any = getattr(getattr(raw_send, "__self__", None), "transport", None)
    if transport is None:
        raise DroppedConnectionError("connection dropped by an injected fault")
    transport.close()
    # let the server notice the closed transport before the handler returns
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def prelude(
    request: Request,
    kind: str,
    name: str | None,
    headers: Callable[[], Mapping[str, str]] | None = None,
) -> Response | None:
    """Apply added latency and the next matching fault; return a response to send, if any.

    A latency-only fault delays the request, which then proceeds normally; a status fault
    answers instead of the real handler; a drop fault closes the connection.
    """
    state = mock_state(request)
    info = request_info(request)
    info.route, info.name = kind, name
    fault = state.faults.take(kind, name)
    await state.faults.delay(kind, fault)
    if fault is None or (fault.status is None and not fault.drop_connection):
        return None
    info.fault = True
    logger.debug("injecting fault #%d on %s (%s)", fault.id, kind, name or "*")
    if fault.drop_connection:
        await drop_connection(request)
        return Response(b"", 500)
    return fault_response(fault, headers() if headers else None)
