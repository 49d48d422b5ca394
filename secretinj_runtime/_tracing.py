"""OpenTelemetry spans for production tracing, when ``opentelemetry-api`` is importable.

azmlinfsrv exports traces to Application Insights when a deployment enables it. The runtime
adds a span for each `resolve_environment` that fetches (``secretinj.resolve_environment``)
and one per fetch group (``secretinj.fetch``), with attributes that explain every fetch: how
many variables ended in each status, the source, the connection or vault and secret name,
whether the cache answered, the HTTP status, attempts and throttled waits. Never a value, a
token, or a secret's version. Nothing is imported on the injected fast path: spans exist
only where something is fetched, and without ``opentelemetry-api`` this module does nothing.

What happens on the wire is noted into the `FetchStats` of the enclosing `fetch_span`
(a context variable), by the engine and the transport, which never import OpenTelemetry.
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from typing import Any

    from .references import Reference

#: The span attributes' prefix.
PREFIX = "secretinj."


class FetchStats:
    """What one fetch group did: filled in by the engine and the transport."""

    __slots__ = ("attempts", "cache", "code", "http_status", "status", "throttled_s")

    def __init__(self) -> None:
        self.attempts = 0
        self.throttled_s = 0.0
        self.http_status: int | None = None
        self.cache = "joined"  # until the engine says otherwise: another caller's fetch
        self.status = "RESOLVED"
        """The group's outcome: ``RESOLVED`` or the failure's status."""
        self.code: str | None = None
        """The service's error code of a failure."""


_stats: contextvars.ContextVar[FetchStats | None] = contextvars.ContextVar(
    "secretinj_fetch_stats", default=None
)


def note_attempt(http_status: int | None) -> None:
    """Count an attempt on the wire (and its status) in the enclosing fetch span."""
    stats = _stats.get()
    if stats is not None:
        stats.attempts += 1
        stats.http_status = http_status


def note_throttled(seconds: float) -> None:
    """Add a wait for a throttled attempt (429) to the enclosing fetch span."""
    stats = _stats.get()
    if stats is not None and seconds > 0:
        stats.throttled_s += seconds


def note_cache(outcome: str) -> None:
    """Say how the cache answered: ``hit``, ``stale``, ``remembered failure``, ``miss``."""
    stats = _stats.get()
    if stats is not None:
        stats.cache = outcome


_tracer: Any = None
_tried = False


def tracer() -> Any:
    """Return OpenTelemetry's tracer for this package, or None when it is not installed."""
    global _tracer, _tried  # noqa: PLW0603 - imported once, on the first fetch
    if not _tried:
        _tried = True
        try:
            from opentelemetry import trace
        except ImportError:
            return None
        from ._constants import VERSION

        _tracer = trace.get_tracer("secretinj_runtime", VERSION)
    return _tracer


def current_context() -> Any:
    """Return the active OpenTelemetry context (to parent spans started in worker threads)."""
    if tracer() is None:
        return None
    from opentelemetry import context

    return context.get_current()


@contextmanager
def resolve_span(attributes: Mapping[str, Any]) -> Iterator[Any]:
    """Open a ``secretinj.resolve_environment`` span (None inside when tracing is off)."""
    active = tracer()
    if active is None:
        yield None
        return
    with active.start_as_current_span(
        "secretinj.resolve_environment", attributes=_prefixed(attributes)
    ) as span:
        yield span


@contextmanager
def fetch_span(ref: Reference, parent: Any) -> Iterator[FetchStats]:
    """Open a ``secretinj.fetch`` span for one group, child of ``parent``; yield its stats."""
    stats = FetchStats()
    token = _stats.set(stats)
    active = tracer()
    try:
        if active is None:
            yield stats
            return
        with active.start_as_current_span(
            "secretinj.fetch", context=parent, attributes=_prefixed(describe(ref))
        ) as span:
            try:
                yield stats
            finally:
                span.set_attributes(
                    _prefixed(
                        {
                            "status": stats.status,
                            "cache": stats.cache,
                            "attempts": stats.attempts,
                            "throttled_wait_s": round(stats.throttled_s, 3),
                            "http.status_code": stats.http_status,
                            "error.code": stats.code,
                        }
                    )
                )
                if stats.status != "RESOLVED":
                    from opentelemetry.trace import Status, StatusCode

                    span.set_status(Status(StatusCode.ERROR, stats.status))
    finally:
        _stats.reset(token)


def describe(ref: Reference) -> dict[str, Any]:
    """Return the attributes that name a group: source and names, never a version."""
    from .references import ConnectionReference

    if isinstance(ref, ConnectionReference):
        return {"source": "connection", "connection": ref.connection}
    return {
        "source": "keyvault",
        "vault": ref.vault_name,
        "secret": ref.secret,
        "versioned": ref.version is not None,
    }


def _prefixed(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {PREFIX + k: v for k, v in attributes.items() if v is not None}
