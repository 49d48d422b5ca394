"""The MkDocs site builds strictly, and a broken link fails it; the README's links work.

``make lint`` runs the same build (``mkdocs build --strict``); here it also proves that the
build fails on what it must catch: a link to a missing page, a missing anchor, a link to a
repository file that does not exist, a page left out of the navigation.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs import markdown, mkdocs_hooks

ROOT = markdown.ROOT


def build(config_dir: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=config_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    done = build(ROOT, tmp_path / "site")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "site" / "cli" / "index.html").is_file()
    benchmarks = (tmp_path / "site" / "benchmarks" / "index.html").read_text()
    assert "<code>bench/README.md</code>" in benchmarks, "links out of docs/ shown as paths"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the docs, the config and the hook, to break."""
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "docs", root / "docs")
    shutil.copy(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    (root / "tests" / "docs").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "docs" / "mkdocs_hooks.py", root / "tests" / "docs")
    (root / "bench").mkdir()
    (root / "bench" / "README.md").write_text("# Benchmarks\n")
    (root / "bench" / "results").mkdir()
    for name in ("fast_path", "fallback", "stampede", "scoring", "workers", "masking"):
        (root / "bench" / "results" / f"{name}.png").write_bytes(b"")
    (root / "bench" / "results" / "latest.json").write_text("[]")
    (root / "sample_score").mkdir()
    (root / "sample_score" / "README.md").write_text("# Sample\n")
    return root


def test_the_copy_builds(copy: Path, tmp_path: Path) -> None:
    done = build(copy, tmp_path / "site")
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("broken", "warning"),
    [
        ("[x](nope.md)", "'nope.md', but the target is not found"),
        ("[x](cli.md#no-such-anchor)", "does not contain an anchor '#no-such-anchor'"),
        ("[x](../bench/nope.md)", "links ../bench/nope.md: no such file in the repository"),
    ],
)
def test_a_broken_link_fails_the_build(
    copy: Path, tmp_path: Path, broken: str, warning: str
) -> None:
    index = copy / "docs" / "index.md"
    index.write_text(index.read_text() + f"\nSee {broken}.\n")
    done = build(copy, tmp_path / "site")
    assert done.returncode != 0
    assert warning in done.stderr


def test_a_page_left_out_of_the_nav_fails_the_build(copy: Path, tmp_path: Path) -> None:
    (copy / "docs" / "orphan.md").write_text("# Orphan\n")
    done = build(copy, tmp_path / "site")
    assert done.returncode != 0
    assert "orphan.md" in done.stderr


def test_the_hook_rewrites_only_prose_links_that_leave_docs(tmp_path: Path) -> None:
    root = tmp_path
    (root / "docs").mkdir()
    (root / "bench").mkdir()
    (root / "bench" / "README.md").write_text("")
    page = root / "docs" / "page.md"
    text = (
        "See [`bench/README.md`](../bench/README.md), [the method](../bench/README.md) and "
        "[a page](other.md).\n"
        "`[code](../bench/README.md)` stays.\n"
        "```\n[in a block](../bench/README.md)\n```\n"
        "[gone](../bench/gone.md)\n"
    )
    out, problems = mkdocs_hooks.rewrite(text, page, root / "docs", root)
    lines = out.splitlines()
    assert lines[0] == (
        "See `bench/README.md`, the method (`bench/README.md`) and [a page](other.md)."
    )
    assert lines[1] == "`[code](../bench/README.md)` stays."
    assert lines[3] == "[in a block](../bench/README.md)"
    assert problems == ["../bench/gone.md: no such file in the repository (bench/gone.md)"]


def _slug(heading: str) -> str:
    """The anchor GitHub and MkDocs give a heading (lower case, punctuation dropped)."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_every_readme_link_leads_somewhere() -> None:
    readme = ROOT / "README.md"
    checked = 0
    for _, line in mkdocs_hooks.prose(readme.read_text()):
        for link in mkdocs_hooks.links(line):
            if "://" in link.target:
                continue
            target, anchor = ROOT / link.target, link.anchor
            assert target.exists(), f"README.md links {link.target}: no such file"
            if anchor:
                headings = [
                    _slug(h.lstrip("#"))
                    for h in target.read_text().splitlines()
                    if h.startswith("#")
                ]
                assert anchor in headings, f"README.md links {link.target}: no such heading"
            checked += 1
    assert checked >= 15
