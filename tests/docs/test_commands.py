"""Every shell command the docs show is one the test suite runs, or says why it cannot.

See `tests.docs.commands` for the registry and docs/test-matrix.md for the rules.
"""

from __future__ import annotations

import ast
import shlex
from functools import cache
from pathlib import Path

import pytest

from tests.docs import commands, markdown, shell

DOCUMENTED = markdown.all_commands()
IN_TRANSCRIPTS = {
    c.key
    for b in markdown.all_blocks()
    if b.mark and b.mark[0] == "transcript"
    for c in b.commands()
}
REGISTRIES = {
    "RUN_HERE": set(commands.RUN_HERE),
    "RUN_BY": set(commands.RUN_BY),
    "NOT_RUNNABLE": set(commands.NOT_RUNNABLE),
}


def is_builtin(key: str) -> bool:
    return key.split(maxsplit=1)[0] in commands.SHELL_BUILTINS


def test_the_docs_show_commands() -> None:
    pages = {c.page for c in DOCUMENTED}
    assert {"README.md", "docs/cli.md", "docs/mock.md", "docs/preflight.md"} <= pages
    assert len(DOCUMENTED) > 40, "fewer commands than the docs show: did the parser break?"


def test_every_documented_command_is_run_or_says_why_not() -> None:
    unknown = sorted(
        {
            f"{c.page}:{c.line}: {c.key}"
            for c in DOCUMENTED
            if not is_builtin(c.key)
            and c.key not in IN_TRANSCRIPTS
            and not any(c.key in keys for keys in REGISTRIES.values())
        }
    )
    assert not unknown, (
        "commands no test runs; run them in a transcript or list them in "
        "tests/docs/commands.py:\n" + "\n".join(unknown)
    )


def test_every_registry_entry_is_documented_once() -> None:
    shown = {c.key for c in DOCUMENTED}
    for name, keys in REGISTRIES.items():
        stale = sorted(keys - shown)
        assert not stale, f"{name} lists commands no page shows any more: {stale}"
        assert not keys & IN_TRANSCRIPTS, f"{name} lists commands a transcript runs"
    pairs = [(a, b) for a in REGISTRIES for b in REGISTRIES if a < b]
    for a, b in pairs:
        assert not REGISTRIES[a] & REGISTRIES[b], f"in both {a} and {b}"
    assert all(k == " ".join(k.split()) for keys in REGISTRIES.values() for k in keys)


def test_not_runnable_commands_say_why() -> None:
    for key, reason in commands.NOT_RUNNABLE.items():
        assert len(reason.split()) >= 4, f"{key}: say why the suite cannot run it"


# -- RUN_BY: the tests exist and run the command ------------------------------------------


def split_node(node: str) -> tuple[Path, str]:
    path, _, name = node.partition("::")
    return markdown.ROOT / path, name.split("[")[0]


@cache
def module_functions(path: Path) -> dict[str, tuple[ast.FunctionDef, str]]:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            found[node.name] = (node, ast.get_source_segment(source, node) or "")
    return found


def source_of(node: str) -> str:
    """The test function's source, with the module-level functions it calls."""
    path, name = split_node(node)
    functions = module_functions(path)
    func, text = functions[name]
    called = {
        c.func.id
        for c in ast.walk(func)
        if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)
    }
    return "\n".join([text, *(functions[n][1] for n in sorted(called) if n in functions)])


def evidence(key: str, by: commands.By) -> tuple[str, ...]:
    if by.evidence is not None:
        return by.evidence
    words = shlex.split(key)
    options = tuple(w.split("=")[0] for w in words if w.startswith("--"))
    return (words[1], *options) if len(words) > 1 else (words[0],)


@pytest.mark.parametrize("key", sorted(commands.RUN_BY))
def test_the_tests_named_exist_and_run_the_command(key: str) -> None:
    by = commands.RUN_BY[key]
    assert by.tests
    for node in by.tests:
        path, name = split_node(node)
        assert path.is_file(), f"{node}: no such file"
        assert name in module_functions(path), f"{node}: no such test function"
        if path.name != "noxfile.py":
            assert name.startswith("test_"), f"{node}: not a test"
    needed = evidence(key, by)
    sources = [source_of(node) for node in by.tests]
    assert any(all(e in s for e in needed) for s in sources), (
        f"none of {by.tests} shows {needed}: does it run `{key}`?"
    )


# -- RUN_HERE: run as shown ---------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(commands.RUN_HERE))
def test_the_command_runs_as_shown(key: str, tmp_path: Path) -> None:
    here = commands.RUN_HERE[key]
    shown = next(c for c in DOCUMENTED if c.key == key)
    with shell.session(here.setup, tmp_path) as sh:
        (result,) = sh.run([shown.text])
    assert result.returncode == here.status, f"$ {key}\n{result.output[-3000:]}"
    assert "Traceback" not in result.output, result.output


def test_the_cheap_commands_print_what_they_should(tmp_path: Path) -> None:
    """Beyond the exit status: a few of them print what the pages say they print."""
    with shell.session("mock", tmp_path) as sh:
        env_url, state, exports, listed = sh.run(
            [
                "secretinj-mock env --url http://127.0.0.1:8731",
                "secretinj-mock state > state.yml && cat state.yml",
                ".venv/bin/python -m secretinj_runtime.testing.demo --env http://127.0.0.1:8731",
                'eval "$(secretinj-mock env --as deployer)" && echo "$SECRETINJ_CLIENT_ID"',
            ]
        )
        assert sh.mock is not None
        url = sh.mock.url  # the mock's port replaces the default one (8731) in the commands
    assert f"export MSI_ENDPOINT={url}/msi/token" in env_url.output
    assert "connections:" in state.output
    assert "aoai-conn:" in state.output
    assert "export AOAI_API_KEY=" in exports.output
    assert f"export SECRETINJ_ARM_ENDPOINT={url}" in exports.output
    assert listed.output.strip() == "d0d0d0d0-0000-4000-8000-00000000de01"


def test_make_targets_the_registry_names_exist() -> None:
    for key in [*commands.NOT_RUNNABLE, *commands.RUN_HERE, *IN_TRANSCRIPTS]:
        words = key.split()
        if words[0] == "make":
            shell.make_recipe(words[1], "bin")  # LookupError when the Makefile has no such target
