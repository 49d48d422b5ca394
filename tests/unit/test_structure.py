"""The package's shape: imports flow one way, and modules stay small or say why not."""

from __future__ import annotations

import ast
from pathlib import Path

import secretinj_runtime

PACKAGE = Path(secretinj_runtime.__file__).parent
MAX_LINES = 300
REASON = "Longer than 300 lines because"


def module_name(path: Path) -> str:
    parts = path.with_suffix("").relative_to(PACKAGE.parent).parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Every import between the package's modules, including lazy and TYPE_CHECKING ones."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    parts = parts[: len(parts) - node.level + 1]
                    base = ".".join([*parts, *([node.module] if node.module else [])])
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            found = next((t for t in targets if t in modules), None)
            if found is not None and found != name:
                graph[name].add(found)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_in_the_package() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_cycles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_resolver_layers_read_top_down() -> None:
    graph = import_graph()
    order = [
        "secretinj_runtime.resolver",
        "secretinj_runtime.environment",
        "secretinj_runtime.engine",
        "secretinj_runtime.variables",
        "secretinj_runtime.cache",
        "secretinj_runtime.transport",
        "secretinj_runtime.retry",
        "secretinj_runtime.errors",
    ]
    for i, upper in enumerate(order):
        for lower in order[i + 1 :]:
            assert upper not in graph[lower], f"{lower} imports {upper}: an upward import"


def test_modules_are_small_or_say_why() -> None:
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text().count("\n")
        docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
        if lines > MAX_LINES and REASON not in docstring:
            long.append(f"{path.relative_to(PACKAGE.parent)}: {lines} lines")
    assert long == [], "over 300 lines without a reason at the top"
