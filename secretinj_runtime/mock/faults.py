"""Queued faults and added latency per route kind (``msi``, ``listsecrets``, ...)."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

ROUTE_KINDS = ("msi", "listsecrets", "keyvault", "keyvault_versions", "arm", "downstream")
RouteKind = Literal["msi", "listsecrets", "keyvault", "keyvault_versions", "arm", "downstream"]
BODY_PRESETS = ("html", "invalid_json", "empty")


@dataclass
class Fault:
    """One queued fault: applies to the next ``count`` matching requests.

    ``status`` answers with that status (default error envelope of the route kind, or
    ``body``); ``drop_connection`` closes the socket without any response; ``latency_s``
    delays the request (alone, it is a latency-only fault and the request then proceeds).
    ``name`` restricts it to one connection / secret / identity / deployment.
    """

    kind: str
    status: int | None = None
    count: int = 1
    name: str | None = None
    retry_after_s: float | None = None
    latency_s: float | None = None
    drop_connection: bool = False
    body: str | dict[str, Any] | None = None
    id: int = 0

    def matches(self, kind: str, name: str | None) -> bool:
        """Return whether this fault applies to a request of ``kind`` for ``name``."""
        if self.kind != kind:
            return False
        return self.name is None or (name is not None and self.name.lower() == name.lower())

    def to_dict(self) -> dict[str, Any]:
        """Return the fault as JSON-ready data."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "count": self.count,
            "name": self.name,
            "retry_after_s": self.retry_after_s,
            "latency_s": self.latency_s,
            "drop_connection": self.drop_connection,
            "body": self.body,
        }


@dataclass
class FaultQueue:
    """FIFO of faults, plus a global added latency per route kind."""

    latency_s: dict[str, float] = field(default_factory=dict)
    _faults: list[Fault] = field(default_factory=list)
    _next_id: int = 1
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, fault: Fault) -> Fault:
        """Queue ``fault`` and return it with its id set."""
        with self._lock:
            fault.id = self._next_id
            self._next_id += 1
            self._faults.append(fault)
        return fault

    def take(self, kind: str, name: str | None) -> Fault | None:
        """Consume one use of the first fault matching ``kind``/``name``, if any."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(kind, name):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> list[Fault]:
        """Return the queued faults."""
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._faults.clear()

    def set_latency(self, kind: str, seconds: float) -> None:
        """Set the added latency for ``kind`` (``all`` sets every kind)."""
        kinds = ROUTE_KINDS if kind == "all" else (kind,)
        for k in kinds:
            if seconds > 0:
                self.latency_s[k] = seconds
            else:
                self.latency_s.pop(k, None)

    async def delay(self, kind: str, fault: Fault | None) -> None:
        """Sleep (cooperatively) for the global plus the fault's latency."""
        total = self.latency_s.get(kind, 0.0) + ((fault.latency_s or 0.0) if fault else 0.0)
        if total > 0:
            await asyncio.sleep(total)
