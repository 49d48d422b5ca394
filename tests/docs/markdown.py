"""Read the shell commands and marked blocks of the docs (README.md and docs/*.md).

A command is a line of a ``bash``/``sh``/``shell`` block (comments and blank lines aside,
``\\`` continuations joined), or a ``$ `` line of any block (a ``console`` transcript: the
lines after it up to the next ``$ `` line are its output). An HTML comment on the line before
a block marks it: ``<!-- transcript: SETUP -->`` (run and compared, see test_transcripts.py)
or ``<!-- file: NAME -->`` (the block is a file the page's transcripts use).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHELL_LANGS = frozenset({"bash", "sh", "shell"})
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w-]*)\s*$")
MARK = re.compile(r"^\s*<!--\s*(?P<kind>transcript|file):\s*(?P<arg>[\w.-]+)\s*-->\s*$")
PROMPT = "$ "


def pages() -> list[Path]:
    """README.md and every page under docs/, in a stable order."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@dataclass
class Command:
    """A command as shown (``text``, continuations joined) and the output shown after it."""

    text: str
    page: str
    line: int
    output: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        """The command with runs of blanks made one space: how the registry names it."""
        return " ".join(self.text.split())


@dataclass
class Block:
    """A fenced code block of a page."""

    page: str
    line: int
    lang: str
    lines: list[str]
    mark: tuple[str, str] | None = None

    def commands(self) -> list[Command]:
        """The shell commands this block shows."""
        if self.lang in SHELL_LANGS and not any(x.startswith(PROMPT) for x in self.lines):
            return _script_commands(self)
        return _prompt_commands(self)


def blocks(path: Path) -> list[Block]:
    """Return the fenced code blocks of a Markdown file, with the mark before each."""
    page = path.relative_to(ROOT).as_posix()
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m is None:
            i += 1
            continue
        indent = len(m.group("indent"))
        mark = MARK.match(lines[i - 1]) if i > 0 else None
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not re.match(r"^\s*```\s*$", lines[j]):
            line = lines[j]
            body.append(line[indent:] if line[:indent].strip() == "" else line.lstrip())
            j += 1
        if j == len(lines):
            raise ValueError(f"{page}:{i + 1}: unclosed code block")
        found.append(
            Block(page, i + 1, m["lang"], body, (mark["kind"], mark["arg"]) if mark else None)
        )
        i = j + 1
    return found


def all_blocks() -> list[Block]:
    """Every fenced block of every page."""
    return [b for p in pages() for b in blocks(p)]


def all_commands() -> list[Command]:
    """Every command every page shows."""
    return [c for b in all_blocks() for c in b.commands()]


def strip_comment(line: str) -> str:
    """Cut a trailing ``# comment`` (a ``#`` after a blank, outside quotes)."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def _joined(lines: list[str], start: int) -> tuple[str, int]:
    """Join ``lines[start]`` and its ``\\`` continuations; return the text and the next index."""
    parts = [lines[start]]
    i = start
    while strip_comment(parts[-1]).endswith("\\") and i + 1 < len(lines):
        parts[-1] = strip_comment(parts[-1])[:-1].rstrip()
        i += 1
        parts.append(lines[i].strip())
    return " ".join(parts), i + 1


def _script_commands(block: Block) -> list[Command]:
    out: list[Command] = []
    i = 0
    while i < len(block.lines):
        text, nxt = _joined(block.lines, i)
        text = strip_comment(text)
        if text.strip():
            out.append(Command(text.strip(), block.page, block.line + 1 + i))
        i = nxt
    return out


def _prompt_commands(block: Block) -> list[Command]:
    out: list[Command] = []
    i = 0
    while i < len(block.lines):
        line = block.lines[i]
        if not line.startswith(PROMPT):
            if out:
                out[-1].output.append(line)
            i += 1
            continue
        lines = [*block.lines[:i], line[len(PROMPT) :], *block.lines[i + 1 :]]
        text, nxt = _joined(lines, i)
        out.append(Command(strip_comment(text).strip(), block.page, block.line + 1 + i))
        i = nxt
    return out
