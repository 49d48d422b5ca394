"""The transcripts the docs show are what the commands print.

Every block marked ``<!-- transcript: SETUP -->`` runs in bash (see `tests.docs.shell`), its
commands one after the other, and what each prints must be the output the block shows after
it, volatile parts aside (see `tests.docs.transcript`). Blocks marked ``<!-- file: NAME -->``
on the same page are written to NAME first.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs import markdown, shell, transcript

TRANSCRIPTS = [b for b in markdown.all_blocks() if b.mark and b.mark[0] == "transcript"]


def _files(page: str) -> dict[str, str]:
    blocks = markdown.blocks(markdown.ROOT / page)
    return {b.mark[1]: "\n".join(b.lines) + "\n" for b in blocks if b.mark and b.mark[0] == "file"}


def test_every_transcript_names_a_known_setup() -> None:
    assert TRANSCRIPTS, "no transcript found: the marker changed?"
    for block in TRANSCRIPTS:
        assert block.mark is not None
        assert block.mark[1] in shell.SETUPS, f"{block.page}:{block.line}: {block.mark[1]}"
        assert block.commands(), f"{block.page}:{block.line}: a transcript without a command"


@pytest.mark.e2e
@pytest.mark.parametrize("block", TRANSCRIPTS, ids=lambda b: f"{b.page}:{b.line}")
def test_the_transcript_is_what_the_commands_print(block: markdown.Block, tmp_path: Path) -> None:
    assert block.mark is not None
    commands = block.commands()
    with shell.session(block.mark[1], tmp_path) as sh:
        for name, text in _files(block.page).items():
            (tmp_path / name).write_text(text)
        ran = sh.run([c.text for c in commands])
    for command, result in zip(commands, ran, strict=True):
        printed = result.output
        words = command.text.split()
        if words[0] == "make":  # make echoes each recipe line before running it
            echoed = shell.make_recipe(words[1], ".venv/bin")
            printed = "\n".join([*echoed, printed])
        shown = "\n".join(command.output)
        assert transcript.matches(shown, printed), (
            f"{command.page}:{command.line}: $ {command.text}\n"
            + transcript.difference(shown, printed)
        )


def test_the_check_example_exports_what_the_references_setup_exports() -> None:
    """``mock-references`` stands for the exports of docs/cli.md's first example."""
    exported = {}
    for command in markdown.all_commands():
        if command.page == "docs/cli.md" and command.text.startswith("export "):
            name, _, value = command.text.removeprefix("export ").partition("=")
            exported[name] = value.strip("'")
    assert exported == shell.REFERENCES


@pytest.mark.parametrize(
    ("shown", "printed", "same"),
    [
        ("a 12 ms", "a 7 ms", True),
        ("A RESOLVED connection 5 ref", "A RESOLVED connection 123 ref", True),
        ("x ... z", "x anything at all z", True),
        ("first\n...\nlast", "first\nb\nc\nlast", True),
        ("first\n...\nlast", "first\nlast", True),
        ("B RESOLVED k 1 r\nA PRESENT i 0 -", "A PRESENT i 0 -\nB RESOLVED k 1 r", True),
        ("2 variables: 2 RESOLVED", "2 variables: 1 RESOLVED", False),
        ("exit 0", "exit 1", False),
        ("first\nlast", "first\nmiddle\nlast", False),
        ("x ... z", "x y", False),
    ],
)
def test_the_comparison(shown: str, printed: str, same: bool) -> None:
    assert transcript.matches(shown, printed) is same
