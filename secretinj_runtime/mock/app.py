"""FastAPI app factory: ``create_app(state) -> FastAPI``."""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from secretinj_runtime.mock import (
    arm,
    arm_read,
    control,
    control_access,
    control_vaults,
    downstream,
    keyvault,
    msi,
)
from secretinj_runtime.mock.envelopes import error_response, status_code_name
from secretinj_runtime.mock.hooks import INFO_KEY, RAW_SEND_KEY
from secretinj_runtime.mock.requestlog import RequestInfo, logger
from secretinj_runtime.mock.store import MockState

CONTROL_PREFIX = "/_mock/"


class MockApp(FastAPI):
    """FastAPI app that records every non-control request and can drop connections."""

    mock: MockState

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope, logging HTTP requests."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        client = scope.get("client")
        info = RequestInfo(
            method=scope["method"],
            path=scope["path"],
            client=f"{client[0]}:{client[1]}" if client else None,
        )
        scope[INFO_KEY] = info
        scope[RAW_SEND_KEY] = send
        started = time.perf_counter()
        recorded = info.path.startswith(CONTROL_PREFIX)  # control calls are not logged

        def record() -> None:
            nonlocal recorded
            if not recorded:
                recorded = True
                elapsed_ms = (time.perf_counter() - started) * 1000
                self.mock.log.record(info, elapsed_ms, self.mock.now())

        async def guarded_send(message: Message) -> None:
            if info.dropped:
                return
            if message["type"] == "http.response.start":
                info.status = int(message["status"])
                # Record before the client can see any of the response (with an empty body
                # the headers alone complete it), so that counts are in sync with clients.
                record()
            await send(message)

        try:
            await super().__call__(scope, receive, guarded_send)
        finally:
            record()


def _field_path(loc: Any) -> str:
    parts = [str(p) for p in loc if p != "body"] if isinstance(loc, list | tuple) else [str(loc)]
    return ".".join(parts) or "body"


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = [
        {
            "field": _field_path(err.get("loc", ())),
            "message": str(err.get("msg", "invalid")).removeprefix("Value error, "),
        }
        for err in exc.errors()
    ]
    message = "; ".join(
        d["message"] if d["field"] == "body" else f"{d['field']}: {d['message']}" for d in details
    )
    return error_response(422, "InvalidRequest", message, details=details)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 404:
        message = f"No mock route for {request.method} {request.url.path}"
    elif status == 405:
        message = f"Method {request.method} not allowed for {request.url.path}"
    else:
        message = str(exc.detail)
    return error_response(status, status_code_name(status), message, headers=exc.headers)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    logger.error("mock bug while serving %s %s: %r", request.method, request.url.path, type(exc))
    return error_response(500, "InternalServerError", "The mock failed unexpectedly.")


def create_app(state: MockState | None = None) -> FastAPI:
    """Build the mock's FastAPI app around ``state`` (default: the built-in demo state)."""
    app = MockApp(
        title="secretinj-mock",
        docs_url="/_mock/docs",
        redoc_url=None,
        openapi_url="/_mock/openapi.json",
        redirect_slashes=False,
    )
    app.mock = state if state is not None else MockState()
    app.state.mock = app.mock
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
    for module in (
        msi,
        arm,
        arm_read,
        keyvault,
        downstream,
        control,
        control_vaults,
        control_access,
    ):
        app.include_router(module.router)
    return app
