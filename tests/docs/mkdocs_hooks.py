"""MkDocs hook: links from a page to repository files outside ``docs/``.

A page may link a file elsewhere in the repository with a relative link
(``[bench/README.md](../bench/README.md)``): on GitHub it opens the file. The site holds only
``docs/``, so MkDocs would report such a link as not found. This hook checks, before MkDocs
does, that each such link names an existing file of the repository (a warning otherwise, which
fails ``mkdocs build --strict``), and shows it in the site as the file's path in code.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

log = logging.getLogger("mkdocs.hooks.repo_links")

#: ``[text](target)`` and ``![text](target)``; a target has no spaces, an optional ``#anchor``.
LINK = re.compile(r"!?\[(?P<text>[^\]\n]*)\]\((?P<target>[^)\s#]+)(?P<anchor>#[^)\s]*)?\)")
FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"`[^`\n]*`")


class Link(NamedTuple):
    """A link of a page: where it is in its line, its text and its target."""

    start: int
    end: int
    text: str
    target: str
    anchor: str


def links(line: str) -> Iterator[Link]:
    """Yield the links of one line of prose (not those inside code spans)."""
    blanked = CODE_SPAN.sub(lambda m: "\0" * len(m.group(0)), line)
    for m in LINK.finditer(blanked):
        if "\0" in m.group("target"):
            continue
        text = line[m.start("text") : m.end("text")]
        yield Link(m.start(), m.end(), text, m.group("target"), (m.group("anchor") or "")[1:])


def prose(markdown: str) -> Iterator[tuple[int, str]]:
    """Yield (index, line) of the lines outside fenced code blocks."""
    in_code = False
    for index, line in enumerate(markdown.splitlines(keepends=True)):
        if FENCE.match(line):
            in_code = not in_code
        elif not in_code:
            yield index, line


def leaves(target: str, page_path: Path, docs_dir: Path) -> Path | None:
    """Return where a relative link leads when that is outside ``docs_dir``, else None."""
    if "://" in target or target.startswith(("/", "mailto:")):
        return None
    resolved = (page_path.parent / target).resolve()
    return None if resolved.is_relative_to(docs_dir.resolve()) else resolved


def rewrite(markdown: str, page_path: Path, docs_dir: Path, root: Path) -> tuple[str, list[str]]:
    """Replace links that leave ``docs_dir`` by the file's path; return the text and problems."""
    problems: list[str] = []
    lines = markdown.splitlines(keepends=True)
    for index, line in prose(markdown):
        out, last = [], 0
        for link in links(line):
            resolved = leaves(link.target, page_path, docs_dir)
            if resolved is None:
                continue
            if not resolved.is_relative_to(root.resolve()):
                problems.append(f"{link.target}: outside the repository")
                continue
            relative = resolved.relative_to(root.resolve()).as_posix()
            if not resolved.exists():
                problems.append(f"{link.target}: no such file in the repository ({relative})")
                continue
            code = f"`{relative}`"
            shown = code if link.text.strip("`") == relative else f"{link.text} ({code})"
            out += [line[last : link.start], shown]
            last = link.end
        lines[index] = "".join([*out, line[last:]])
    return "".join(lines), problems


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Check and rewrite the page's links to repository files outside ``docs/``."""
    docs_dir = Path(config["docs_dir"])
    root = Path(config["config_file_path"]).parent
    text, problems = rewrite(markdown, Path(page.file.abs_src_path), docs_dir, root)
    for problem in problems:
        log.warning("Doc file '%s' links %s", page.file.src_uri, problem)
    return text
