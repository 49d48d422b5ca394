"""The benchmarks' shape: modules stay small or say why, and imports flow one way.

``bench.run`` (the command) sits on the benchmarks, each benchmark on ``bench.harness``; the
harness imports no benchmark, and no benchmark reaches into another.
"""

from __future__ import annotations

import ast
from pathlib import Path

import bench

BENCH = Path(bench.__file__).parent
MAX_LINES = 300
REASON = "Longer than 300 lines because"


def module_name(path: Path) -> str:
    parts = path.with_suffix("").relative_to(BENCH.parent).parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def bench_imports(path: Path) -> set[str]:
    """The ``bench`` modules and packages a file imports (lazy ones included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            assert not node.level, f"{path.name}: a relative import; bench imports absolutely"
            if node.module == "bench":
                found.update(f"bench.{a.name}" for a in node.names)
            elif (node.module or "").startswith("bench."):
                found.add(str(node.module))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("bench."))
    return found


def owner(module: str) -> str:
    """The top-level room a module belongs to: ``bench.stampede.figures`` -> ``stampede``."""
    return module.split(".")[1] if module.count(".") else ""


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(BENCH.rglob("*.py"))}


def too_long(paths: list[Path]) -> list[str]:
    """The files over `MAX_LINES` lines whose docstring does not say why."""
    long = []
    for path in paths:
        text = path.read_text()
        lines = text.count("\n")
        if lines > MAX_LINES and REASON not in (ast.get_docstring(ast.parse(text)) or ""):
            long.append(f"{path.name}: {lines} lines")
    return long


def test_bench_modules_are_small_or_say_why() -> None:
    assert too_long(list(modules().values())) == [], "over 300 lines without a reason at the top"


def test_the_size_rule_flags_a_long_module_without_a_reason(tmp_path: Path) -> None:
    body = "x = 1\n" * MAX_LINES
    (tmp_path / "short.py").write_text('"""Short."""\n' + "x = 1\n" * (MAX_LINES - 1))
    (tmp_path / "long.py").write_text('"""Long."""\n' + body)
    (tmp_path / "said.py").write_text(f'"""Long.\n\n{REASON} it must be."""\n' + body)
    paths = sorted(tmp_path.glob("*.py"))
    assert too_long(paths) == [f"long.py: {MAX_LINES + 1} lines"]


def test_the_harness_imports_no_benchmark() -> None:
    for name, path in modules().items():
        if owner(name) == "harness":
            assert {owner(m) for m in bench_imports(path)} <= {"harness"}, name


def test_a_benchmark_imports_only_the_harness_and_itself() -> None:
    for name, path in modules().items():
        room = owner(name)
        if room in ("", "run", "harness"):
            continue
        reached = {owner(m) for m in bench_imports(path)}
        assert reached <= {"harness", room}, f"{name} imports {sorted(reached)}"


def test_the_command_knows_every_benchmark() -> None:
    from bench import run

    rooms = {owner(name) for name in modules()} - {"", "run", "harness"}
    assert set(run.BENCHMARKS) == rooms
