"""What importing the package costs and loads: ``-X importtime``, and the heavy modules."""

from __future__ import annotations

import re

from bench.fast_path.scenario import OURS_CODE
from bench.harness import run_child

#: Top-level packages the injected fast path must not load.
HEAVY = ("azure", "requests", "urllib3", "tenacity", "yaml", "msal", "concurrent")
LIST_MODULES = "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))\n"
#: Standard-library modules worth naming when a module of ours pulls them in.
_NOTABLE = ("threading", "enum", "re", "functools", "collections", "typing", "logging")


def importtime_lines(python: str, env: dict[str, str]) -> list[tuple[float, float, str]]:
    """``-X importtime`` of the package: (self us, cumulative us, indented name) per line."""
    code = "import secretinj_runtime"
    done = run_child([python, "-X", "importtime", "-c", code], env=env)
    out: list[tuple[float, float, str]] = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(.*)$", line)
        if match:
            out.append((float(match[1]), float(match[2]), match[3]))
    return out


def import_time_us(python: str, env: dict[str, str]) -> float:
    """The package's cumulative import time, in microseconds."""
    for _, cumulative, name in importtime_lines(python, env):
        if name.strip() == "secretinj_runtime":
            return cumulative
    raise RuntimeError("-X importtime printed no line for secretinj_runtime")


def import_breakdown(python: str, env: dict[str, str]) -> list[tuple[str, float]]:
    """Direct imports of ``secretinj_runtime`` in ms, each with the notable modules it loads."""
    lines = importtime_lines(python, env)
    end = next(i for i, (_, _, n) in enumerate(lines) if n.strip() == "secretinj_runtime")
    start = end
    while start > 0 and lines[start - 1][2].startswith("   "):  # its subtree
        start -= 1
    depth = min(len(n) - len(n.lstrip()) for _, _, n in lines[start:end])
    items: list[tuple[str, float]] = []
    subtree: list[str] = []  # -X importtime prints a module's imports before the module
    for _, cumulative, name in lines[start:end]:
        if len(name) - len(name.lstrip()) > depth:
            subtree.append(name.strip())
            continue
        notable = [m for m in _NOTABLE if m in subtree]
        label = name.strip() + (f" ({', '.join(notable)})" if notable else "")
        items.append((label, cumulative / 1000))
        subtree = []
    items.append(("secretinj_runtime (own code)", lines[end][0] / 1000))
    return sorted(items, key=lambda item: -item[1])


def heavy_modules(python: str, env: dict[str, str]) -> tuple[list[str], int]:
    """The heavy packages the fast path loads, and how many modules it adds in all."""

    def modules(code: str) -> set[str]:
        return set(run_child([python, "-c", code], env=env).stdout.split())

    bare = modules(LIST_MODULES)
    ours = modules(OURS_CODE + LIST_MODULES)
    added = ours - bare
    heavy = sorted({m.split(".")[0] for m in added if m.split(".")[0] in HEAVY})
    return heavy, len(added)
