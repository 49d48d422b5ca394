"""Test doubles shared by the unit tests: a scripted requests adapter and a fake credential."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import requests
from azure.core.credentials import AccessToken
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

import secretinj_runtime as sir
from secretinj_runtime.transport import RetryPolicy

WORKSPACE_ID = (
    "/subscriptions/sub-1/resourceGroups/rg-1/providers/"
    "Microsoft.MachineLearningServices/workspaces/ws-1"
)
ARM = "https://management.azure.com"

#: Credentials of one connection per authType of REFERENCE.md (AAD and None carry none).
CREDENTIALS: dict[str, dict[str, Any]] = {
    "ApiKey": {"key": "api-key-value"},
    "CustomKeys": {"keys": {"OPENAI_API_KEY": "openai-value", "OTHER": "other-value"}},
    "AccessKey": {"accessKeyId": "akid-value", "secretAccessKey": "sak-value"},
    "AccountKey": {"key": "account-key-value"},
    "SAS": {"sas": "sv=2024&sig=abc"},
    "PAT": {"pat": "pat-value"},
    "UsernamePassword": {"username": "svc", "password": "pw-value", "securityToken": "st-value"},
    "ServicePrincipal": {"clientId": "cid", "clientSecret": "cs-value", "tenantId": "tid"},
    "ManagedIdentity": {"resourceId": "/subscriptions/x/uai", "clientId": "mi-cid"},
    "OAuth2": {
        "authUrl": "https://login.example.com",
        "clientId": "oc",
        "clientSecret": "ocs-value",
        "developerToken": "dt-value",
        "password": "opw",
        "refreshToken": "rt-value",
        "tenantId": "ot",
        "username": "ou",
    },
}


class Reply:
    """One scripted answer: a status with a JSON (or raw) body, or an exception to raise."""

    def __init__(
        self,
        status: int = 200,
        json_body: Any = None,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        error: Exception | None = None,
    ) -> None:
        self.status = status
        self.json_body = json_body
        self.body = body
        self.headers = headers or {}
        self.error = error


class FakeAdapter(BaseAdapter):
    """Answers requests from scripted replies per (method, path fragment), in order.

    The last reply of a route repeats. Every request is recorded in ``calls``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.routes: list[tuple[str, str, list[Reply]]] = []
        self.calls: list[requests.PreparedRequest] = []
        self.timeouts: list[Any] = []
        self._lock = threading.Lock()
        self.gate: threading.Event | None = None

    def add(self, method: str, fragment: str, *replies: Reply) -> FakeAdapter:
        self.routes.append((method, fragment, list(replies)))
        return self

    def count(self, fragment: str = "") -> int:
        return sum(1 for c in self.calls if fragment in (c.url or ""))

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        if self.gate is not None:
            self.gate.wait(5)
        with self._lock:
            self.calls.append(request)
            self.timeouts.append(timeout)
            reply = self._next(request)
        if reply.error is not None:
            raise reply.error
        response = requests.Response()
        response.status_code = reply.status
        body = reply.body
        headers = dict(reply.headers)
        if body is None:
            body = json.dumps(reply.json_body).encode() if reply.json_body is not None else b""
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        response._content = body
        response.headers = CaseInsensitiveDict(headers)
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        return response

    def _next(self, request: requests.PreparedRequest) -> Reply:
        for method, fragment, replies in self.routes:
            if method == request.method and fragment.lower() in (request.url or "").lower():
                return replies.pop(0) if len(replies) > 1 else replies[0]
        return Reply(
            404, {"error": {"code": "NoRoute", "message": f"no fake route for {request.url}"}}
        )

    def close(self) -> None:
        pass


def session_with(adapter: FakeAdapter) -> requests.Session:
    session = requests.Session()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class FakeCredential:
    """A TokenCredential that counts calls per scope and hands out unique tokens."""

    def __init__(
        self, *, error: Exception | None = None, delay_s: float = 0.0, expires_in_s: int = 3600
    ) -> None:
        self.calls: Counter[str] = Counter()
        self.tokens: list[str] = []
        self.error = error
        self.delay_s = delay_s
        self.expires_in_s = expires_in_s
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        if self.delay_s:
            time.sleep(self.delay_s)  # widens the race window in single-flight tests
        with self._lock:
            self.calls[scopes[0]] += 1
            if self.error is not None:
                raise self.error
            token = f"tok-{next(self._ids)}-{'x' * 16}"
            self.tokens.append(token)
        return AccessToken(token, int(time.time()) + self.expires_in_s)


class FakeClock:
    """A monotonic clock the test moves by hand; ``sleep`` advances it and records the wait."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def connection_body(
    name: str,
    auth_type: str = "ApiKey",
    credentials: dict[str, Any] | None = None,
    *,
    category: str = "AzureOpenAI",
    target: str = "https://aoai.example.com/",
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A ListSecrets 200 body in the ARM shape of REFERENCE.md."""
    return {
        "id": f"{WORKSPACE_ID}/connections/{name}",
        "name": name,
        "type": "Microsoft.MachineLearningServices/workspaces/connections",
        "properties": {
            "authType": auth_type,
            "category": category,
            "credentials": credentials
            if credentials is not None
            else {"key": f"{name}-secret-key"},
            "target": target,
            "metadata": metadata if metadata is not None else {"ApiVersion": "2024-02-01"},
        },
    }


class Background:
    """A resolver's ``spawn``: queues background tasks; the test runs them when it wants."""

    def __init__(self) -> None:
        self.tasks: list[Callable[[], None]] = []

    def __call__(self, task: Callable[[], None]) -> None:
        self.tasks.append(task)

    def run(self) -> int:
        """Run (and drop) every queued task, including ones they queue; return how many."""
        count = 0
        while self.tasks:
            self.tasks.pop(0)()
            count += 1
        return count


def key_body(key: str, connection: str = "aoai") -> Reply:
    """A ListSecrets 200 of an ApiKey connection whose key is ``key``."""
    return Reply(200, connection_body(connection, credentials={"key": key}))


def error(status: int, code: str = "AuthorizationFailed") -> Reply:
    """An Azure error envelope with ``status`` and ``code``."""
    return Reply(status, {"error": {"code": code, "message": f"status {status}"}})


def make_resolver(
    adapter: FakeAdapter,
    credential: FakeCredential | None = None,
    clock: FakeClock | None = None,
    **kwargs: Any,
) -> sir.SecretResolver:
    """A resolver wired to fakes: no network, no real sleep."""
    clock = clock or FakeClock()
    kwargs.setdefault("workspace", WORKSPACE_ID)
    kwargs.setdefault("retry_policy", RetryPolicy(max_attempts=4, deadline_s=30))
    kwargs.setdefault("spawn", Background())
    return sir.SecretResolver(
        credential=credential or FakeCredential(),
        session=session_with(adapter),
        clock=clock,
        sleep=clock.sleep,
        environ={},
        **kwargs,
    )
