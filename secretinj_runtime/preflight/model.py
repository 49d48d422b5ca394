"""Checks and the preflight report: statuses, the JSON shape, the table, the exit code."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


class Outcome(enum.Enum):
    """What one check found."""

    PASS = "PASS"  # noqa: S105 - a status, not a password
    FAIL = "FAIL"
    WARN = "WARN"
    UNKNOWN = "UNKNOWN"  # could not be checked; the detail says why

    def __str__(self) -> str:
        return self.value


#: Exit codes of ``secretinj preflight``.
EXIT_OK, EXIT_FAIL, EXIT_CONFIG = 0, 1, 2


@dataclass(frozen=True)
class Check:
    """One line of the report: which check, about what, the outcome, why, and the fix."""

    check: str
    subject: str
    status: Outcome
    detail: str
    fix: str | None = None

    def __post_init__(self) -> None:
        if self.status in (Outcome.FAIL, Outcome.WARN) and not self.fix:
            raise ValueError(f"a {self.status} check needs a fix: {self.check} {self.subject}")

    def to_dict(self) -> dict[str, Any]:
        """Return ``{check, subject, status, detail, fix}`` (fix may be null)."""
        return {
            "check": self.check,
            "subject": self.subject,
            "status": self.status.value,
            "detail": self.detail,
            "fix": self.fix,
        }


@dataclass
class Report:
    """Every check in the order it ran; ``config_error`` when the input itself is unusable."""

    checks: list[Check] = field(default_factory=list)
    config_error: bool = False

    def add(
        self, check: str, subject: str, status: Outcome, detail: str, fix: str | None = None
    ) -> Check:
        """Append a check and return it."""
        item = Check(check, subject, status, _one_line(detail), fix)
        self.checks.append(item)
        return item

    def extend(self, checks: Iterable[Check]) -> None:
        """Append checks made elsewhere."""
        self.checks.extend(checks)

    @property
    def ok(self) -> bool:
        """True when no check FAILed and the configuration was usable."""
        return not self.config_error and all(c.status is not Outcome.FAIL for c in self.checks)

    def exit_code(self) -> int:
        """2 for a configuration error, 1 when a check FAILed, else 0."""
        if self.config_error:
            return EXIT_CONFIG
        return EXIT_OK if self.ok else EXIT_FAIL

    def counts(self) -> dict[str, int]:
        """How many checks ended in each outcome (outcomes that occur, in a fixed order)."""
        out: dict[str, int] = {}
        for outcome in Outcome:
            n = sum(c.status is outcome for c in self.checks)
            if n:
                out[outcome.value] = n
        return out

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"ok": bool, "checks": [...]}`` (the ``--json`` output)."""
        return {"ok": self.ok, "checks": [c.to_dict() for c in self.checks]}

    def summary(self) -> str:
        """One line: ``12 checks: 10 PASS, 1 WARN, 1 FAIL``."""
        parts = ", ".join(f"{n} {s}" for s, n in self.counts().items())
        noun = "check" if len(self.checks) == 1 else "checks"
        return f"{len(self.checks)} {noun}: {parts or 'none'}"

    def render(self) -> str:
        """Return the report as an aligned table, each fix on the line under its check."""
        rows = [(c.status.value, c.check, c.subject, c.detail) for c in self.checks]
        head = ("STATUS", "CHECK", "SUBJECT", "DETAIL")
        widths = [max([len(head[i])] + [len(r[i]) for r in rows]) for i in range(3)]

        def line(cells: tuple[str, ...]) -> str:
            fixed = "  ".join(v.ljust(w) for v, w in zip(cells[:3], widths, strict=True))
            return f"{fixed}  {cells[3]}".rstrip()

        lines = [line(head)]
        indent = " " * (widths[0] + 2)
        for check, row in zip(self.checks, rows, strict=True):
            lines.append(line(row))
            if check.fix:
                fix_lines = check.fix.splitlines()
                lines.append(f"{indent}fix: {fix_lines[0]}")
                lines += [f"{indent}     {more}" for more in fix_lines[1:]]
        return "\n".join(lines)


def _one_line(text: str, limit: int = 600) -> str:
    """Flatten service text to one line and keep it readable."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 4].rsplit(" ", 1)[0] + " ..."
