"""Compare what a command printed with the output a page shows.

Both sides are normalised the same way first: what changes from run to run (ports, process
ids, timestamps, timings, request ids, the MS column of a report) becomes a placeholder,
blanks are collapsed, and the rows of a report table are sorted (a shell passes the
environment in an order of its own). In the page's text, ``...`` stands for any text within a
line, and a line that is only ``...`` for any number of lines. Everything else must be equal.
"""

from __future__ import annotations

import re

from secretinj_runtime import Status

_STATUSES = frozenset(s.value for s in Status)
_VOLATILE = (
    (re.compile(r"\b\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?Z?"), "<TIME>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<UUID>"),
    (re.compile(r"\b(localhost|127\.0\.0\.1):\d+"), r"\1:<PORT>"),
    (re.compile(r"--port \d+"), "--port <PORT>"),
    (re.compile(r"\bpid \d+"), "pid <PID>"),
    (re.compile(r"\[\d+\]"), "[<PID>]"),
    (re.compile(r"\b\d+(?:\.\d+)? (ms|s)\b"), r"<N> \1"),
    (re.compile(r'"elapsed_ms": [\d.]+'), '"elapsed_ms": <N>'),
)


def is_table_row(words: list[str]) -> bool:
    """Tell whether a line's words are a row of a report table (NAME STATUS SOURCE MS ...)."""
    return len(words) >= 4 and words[1] in _STATUSES


def normalise(text: str) -> list[str]:
    """Return ``text``'s lines with volatile parts replaced, blanks collapsed, rows sorted."""
    lines: list[str] = []
    rows: list[str] = []
    for raw in text.splitlines():
        line = raw
        for pattern, placeholder in _VOLATILE:
            line = pattern.sub(placeholder, line)
        words = line.split()
        if is_table_row(words):
            if words[3].isdigit():
                words[3] = "<N>"
            rows.append(" ".join(words))
            continue
        lines.extend(sorted(rows))
        rows = []
        lines.append(" ".join(words))
    lines.extend(sorted(rows))
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _pattern(shown: list[str]) -> re.Pattern[str]:
    parts = []
    for line in shown:
        if line == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*?".join(re.escape(p) for p in line.split("...")) + r"\n")
    return re.compile("".join(parts))


def matches(shown: str, printed: str) -> bool:
    """Tell whether ``printed`` is what the page ``shown`` says, volatile parts aside."""
    expected = normalise(shown)
    actual = normalise(printed)
    return _pattern(expected).fullmatch("".join(f"{x}\n" for x in actual)) is not None


def difference(shown: str, printed: str) -> str:
    """Explain a mismatch: both normalised texts, for an assertion message."""
    expected = "\n".join(normalise(shown))
    actual = "\n".join(normalise(printed))
    return (
        f"the page shows (normalised):\n{expected}\n\nthe command printed (normalised):\n{actual}"
    )
