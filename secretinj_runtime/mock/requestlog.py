"""Request log and counters. Entries carry no query string, header, token or value."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger("secretinj_runtime.mock")

MAX_ENTRIES = 10_000


@dataclass
class RequestInfo:
    """What a handler learned about a request, filled in while it is served."""

    method: str
    path: str
    route: str = "unknown"
    name: str | None = None
    identity: str | None = None
    status: int | None = None
    dropped: bool = False
    fault: bool = False
    client: str | None = None
    """The client's ``host:port``: one per TCP connection (tells processes apart)."""


class RequestLog:
    """A bounded list of request entries plus per-route and per-name counters."""

    def __init__(self) -> None:
        self._entries: list[dict[str, Any]] = []
        self._routes: Counter[str] = Counter()
        self._names: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def record(self, info: RequestInfo, duration_ms: float, ts: float) -> None:
        """Append an entry for a finished request and log one line about it."""
        entry = {
            "method": info.method,
            "path": info.path,
            "route": info.route,
            "name": info.name,
            "status": info.status,
            "dropped": info.dropped,
            "fault": info.fault,
            "duration_ms": round(duration_ms, 3),
            "identity": info.identity,
            "client": info.client,
            "ts": ts,
        }
        with self._lock:
            self._entries.append(entry)
            del self._entries[:-MAX_ENTRIES]
            self._routes[info.route] += 1
            if info.name is not None:
                self._names[(info.route, info.name.lower())] += 1
        logger.info(
            "%s %s -> %s (%.1f ms) route=%s identity=%s%s",
            info.method,
            info.path,
            "dropped" if info.dropped else info.status,
            duration_ms,
            info.route,
            info.identity or "-",
            " fault" if info.fault else "",
        )

    def entries(self, route: str | None = None) -> list[dict[str, Any]]:
        """Return copies of the entries, optionally only those of one route kind."""
        with self._lock:
            return [dict(e) for e in self._entries if route is None or e["route"] == route]

    def count(self, route: str, name: str | None = None) -> int:
        """Return how many requests of ``route`` (and ``name``) were served."""
        with self._lock:
            if name is None:
                return self._routes[route]
            return self._names[(route, name.lower())]

    def counters(self) -> dict[str, Any]:
        """Return all counters as JSON-ready data."""
        with self._lock:
            by_name: dict[str, dict[str, int]] = {}
            for (route, name), n in sorted(self._names.items()):
                by_name.setdefault(route, {})[name] = n
            return {
                "total": sum(self._routes.values()),
                "routes": dict(sorted(self._routes.items())),
                "names": by_name,
            }

    def clear(self) -> None:
        """Forget every entry and counter."""
        with self._lock:
            self._entries.clear()
            self._routes.clear()
            self._names.clear()
