"""The per-variable resolution report: statuses and sources, never a value."""

from __future__ import annotations

import enum

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any


class Status(enum.Enum):
    """Outcome of resolving one environment variable."""

    PRESENT = "PRESENT"
    """The variable held a literal value (injected by the platform or set by hand)."""
    RESOLVED = "RESOLVED"
    """The variable held a reference that the runtime fetched."""
    MISSING = "MISSING"
    """The variable is not set."""
    INVALID_SYNTAX = "INVALID_SYNTAX"
    """The value looks like a reference but does not parse."""
    WORKSPACE_UNKNOWN = "WORKSPACE_UNKNOWN"
    """A connection reference, but no variable says which workspace it lives in."""
    IDENTITY_UNAVAILABLE = "IDENTITY_UNAVAILABLE"
    """No credential could produce a token."""
    ACCESS_DENIED = "ACCESS_DENIED"
    """The service refused the identity (401/403): a role is missing."""
    NOT_FOUND = "NOT_FOUND"
    """The connection, secret, version or field does not exist."""
    THROTTLED = "THROTTLED"
    """Still throttled (429) when the retry deadline ran out."""
    TIMED_OUT = "TIMED_OUT"
    """The service did not answer in time, after retries."""
    UNTRUSTED_ENDPOINT = "UNTRUSTED_ENDPOINT"
    """The reference points at a host the token must not be sent to."""
    SERVICE_ERROR = "SERVICE_ERROR"
    """The service failed (5xx, connection error, malformed answer) after retries."""

    def __str__(self) -> str:
        return self.value

    @property
    def ok(self) -> bool:
        """Whether the variable now holds a usable value."""
        return self in _OK


_OK = frozenset({Status.PRESENT, Status.RESOLVED})


class Source:
    """Where a variable's value came from (the ``source`` of a `VariableStatus`)."""

    INJECTED = "injected"
    """A literal value already in the environment (the platform injected it)."""
    CONNECTION = "connection"
    """Fetched from a workspace connection (ARM ListSecrets)."""
    KEYVAULT = "keyvault"
    """Fetched from Key Vault."""
    RUN = "run"
    """Resolved by ``secretinj run`` before this process started (``SECRETINJ_RESOLVED``)."""


class VariableStatus:
    """What happened to one variable. Holds no value, only safe facts."""

    __slots__ = ("elapsed_ms", "error", "name", "reference", "source", "status")

    def __init__(
        self,
        name: str,
        status: Status,
        source: str | None = None,
        reference: str | None = None,
        error: str | None = None,
        elapsed_ms: float = 0.0,
    ) -> None:
        self.name = name
        self.status = status
        self.source = source
        self.reference = reference
        self.error = error
        self.elapsed_ms = elapsed_ms

    @property
    def ok(self) -> bool:
        """Whether the variable holds a usable value."""
        return self.status.ok

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of the status."""
        return {
            "name": self.name,
            "status": self.status.value,
            "source": self.source,
            "reference": self.reference,
            "error": self.error,
            "elapsed_ms": round(self.elapsed_ms, 3),
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VariableStatus):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"VariableStatus(name={self.name!r}, status={self.status.value}, "
            f"source={self.source!r}, reference={self.reference!r}, error={self.error!r}, "
            f"elapsed_ms={self.elapsed_ms:.1f})"
        )


class ResolutionReport:
    """The outcome of `resolve_environment`: one `VariableStatus` per variable, in order."""

    __slots__ = ("elapsed_ms", "variables")

    def __init__(self, statuses: Iterable[VariableStatus] = (), elapsed_ms: float = 0.0) -> None:
        self.variables: dict[str, VariableStatus] = {s.name: s for s in statuses}
        self.elapsed_ms = elapsed_ms

    @property
    def ok(self) -> bool:
        """Whether every variable holds a usable value."""
        return all(s.ok for s in self.variables.values())

    @property
    def failed(self) -> list[VariableStatus]:
        """The variables that did not resolve."""
        return [s for s in self.variables.values() if not s.ok]

    def counts(self) -> dict[str, int]:
        """Return how many variables ended in each status (only statuses that occur)."""
        out: dict[str, int] = {}
        for s in self.variables.values():
            out[s.status.value] = out.get(s.status.value, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict: ``ok``, ``elapsed_ms``, ``counts`` and ``variables``."""
        return {
            "ok": self.ok,
            "elapsed_ms": round(self.elapsed_ms, 3),
            "counts": self.counts(),
            "variables": {name: s.to_dict() for name, s in self.variables.items()},
        }

    def summary(self) -> str:
        """Return a one-line summary, e.g. ``3 variables: 2 RESOLVED, 1 PRESENT in 12 ms``."""
        parts = ", ".join(f"{n} {status}" for status, n in sorted(self.counts().items()))
        noun = "variable" if len(self.variables) == 1 else "variables"
        return f"{len(self.variables)} {noun}: {parts or 'none'} in {self.elapsed_ms:.0f} ms"

    def __str__(self) -> str:
        return format_table(self.variables.values())

    def __repr__(self) -> str:
        return f"ResolutionReport(ok={self.ok}, {self.summary()})"


_COLUMNS = ("VARIABLE", "STATUS", "SOURCE", "MS", "REFERENCE", "ERROR")


def format_table(statuses: Iterable[VariableStatus]) -> str:
    """Render statuses as an aligned text table (no values, only safe facts)."""
    rows: list[tuple[str, ...]] = [
        (
            s.name,
            s.status.value,
            s.source or "-",
            f"{s.elapsed_ms:.0f}",
            s.reference or "-",
            s.error or "",
        )
        for s in statuses
    ]
    columns = _COLUMNS if any(r[-1] for r in rows) else _COLUMNS[:-1]  # ERROR only if any
    rows = [r[: len(columns)] for r in rows]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)
