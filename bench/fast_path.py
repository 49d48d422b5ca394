"""Fast path: what a fresh process pays to import the package and read 50 injected variables.

Three commands are timed, interleaved in a shuffled order every round:

- ``bare``: ``python -c pass``;
- ``ours``: ``import secretinj_runtime as sir; sir.resolve_environment(names)`` with 50
  literal (injected) values;
- ``eager``: a helper that imports azure-identity and requests up front, then runs the same
  loop over the 50 variables.

They run in a *wheel-like* interpreter: a throw-away venv (no pip) whose only ``.pth`` puts
the checkout and this venv's site-packages on ``sys.path``. In this venv the editable
install's ``.pth`` import hook loads ``re``, ``enum``, ``functools``, ``collections``... at
every interpreter start, which would hide the part of our import a wheel install pays; the
same two commands are also timed in this venv, as an extra figure.

Wall time: ``os.posix_spawn`` + ``os.wait4`` around each child. Peak RSS: each child prints
its own ``VmHWM`` (``/proc/self/status``) in separate, interleaved runs. ``ru_maxrss`` from
``wait4`` cannot be used on Linux: a child's ``maxrss`` starts from the hiwater of the
process that spawned it (it is carried over ``exec``), so every child would report this
benchmark process's own peak.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._common import PYTHON, Outcome, Record, median, pyplot, record, say
from secretinj_runtime.testing.sample import ROOT, child_environ

NAME = "fast_path"
N_VARS = 50
#: Top-level packages the injected fast path must not load.
HEAVY = ("azure", "requests", "urllib3", "tenacity", "yaml", "msal", "concurrent")

_NAMES = f"[f'BENCH_VAR_{{i:02d}}' for i in range({N_VARS})]"
OURS_CODE = f"import secretinj_runtime as sir\nsir.resolve_environment({_NAMES})\n"
EAGER_CODE = f"""import os
import azure.identity
import requests

for name in {_NAMES}:
    if os.environ[name].strip().startswith('${{{{'):
        raise SystemExit(name + ' holds an unresolved reference')
"""
LIST_MODULES = "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))\n"
#: Appended to a command in the RSS runs: print the process's peak RSS (KiB).
RSS_PROBE = """
with open('/proc/self/status') as f:
    print(next(line.split()[1] for line in f if line.startswith('VmHWM:')))
"""


@dataclass
class Params:
    """How many repetitions."""

    reps: int = 40
    rss_reps: int = 10
    warmup: int = 3
    importtime_reps: int = 15
    seed: int = 1

    @classmethod
    def smoke(cls) -> Params:
        """One repetition, for CI."""
        return cls(reps=2, rss_reps=1, warmup=0, importtime_reps=1)


@dataclass
class _Command:
    key: str
    label: str
    argv: list[str]
    wall_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    rss_kb: list[float] = field(default_factory=list)


def _commands(wheel_python: str) -> list[_Command]:
    return [
        _Command("bare", "python -c pass", [wheel_python, "-c", "pass"]),
        _Command("ours", "secretinj_runtime, 50 injected", [wheel_python, "-c", OURS_CODE]),
        _Command(
            "eager", "eager helper (azure-identity + requests)", [wheel_python, "-c", EAGER_CODE]
        ),
        _Command("venv_bare", "this venv: python -c pass", [PYTHON, "-c", "pass"]),
        _Command("venv_ours", "this venv: secretinj_runtime", [PYTHON, "-c", OURS_CODE]),
    ]


def child_env() -> dict[str, str]:
    """The children's environment: the 50 injected literals."""
    return child_environ(
        {f"BENCH_VAR_{i:02d}": f"injected-literal-value-{i:02d}" for i in range(N_VARS)}
    )


def compile_package() -> None:
    """Byte-compile the package: PYTHONDONTWRITEBYTECODE would leave every import uncached."""
    subprocess.run(
        [PYTHON, "-m", "compileall", "-q", str(ROOT / "secretinj_runtime")],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def wheel_like_python(workdir: Path) -> str:
    """Make a venv that sees the checkout and our site-packages without their ``.pth`` hooks."""
    venv = workdir / "wheel-like-venv"
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = sysconfig.get_paths()
    paths = dict.fromkeys([str(ROOT), ours["purelib"], ours["platlib"]])
    (Path(site) / "bench-paths.pth").write_text("\n".join(paths) + "\n")
    return python


def _spawn_ms(argv: list[str], env: dict[str, str], null: int) -> tuple[float, float]:
    """Run one child; return its wall time and its CPU time (user + sys), in ms."""
    actions = [(os.POSIX_SPAWN_DUP2, null, fd) for fd in (0, 1, 2)]
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    elapsed_ms = (time.perf_counter_ns() - t0) / 1e6
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{argv[:2]} exited with status {os.waitstatus_to_exitcode(status)}")
    return elapsed_ms, (usage.ru_utime + usage.ru_stime) * 1000


def _peak_rss_kb(argv: list[str], env: dict[str, str]) -> float:
    done = subprocess.run(
        [*argv[:-1], argv[-1] + "\n" + RSS_PROBE],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.split()[-1])


def run(params: Params, workdir: Path) -> Outcome:
    """Time the commands, interleaved; return the records."""
    compile_package()
    wheel_python = wheel_like_python(workdir)
    commands = _commands(wheel_python)
    env = child_env()
    rng = random.Random(params.seed)
    say(f"{len(commands)} commands x {params.reps} interleaved runs (+{params.warmup} warm-up)")
    null = os.open(os.devnull, os.O_RDWR)
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        for rep in range(params.warmup + params.reps):
            for index in rng.sample(range(len(commands)), len(commands)):
                elapsed_ms, cpu_ms = _spawn_ms(commands[index].argv, env, null)
                if rep >= params.warmup:
                    commands[index].wall_ms.append(elapsed_ms)
                    commands[index].cpu_ms.append(cpu_ms)
    finally:
        os.chdir(cwd)
        os.close(null)
    say(f"peak RSS: {params.rss_reps} interleaved runs per command")
    for _ in range(params.rss_reps):
        for index in rng.sample(range(len(commands)), len(commands)):
            commands[index].rss_kb.append(_peak_rss_kb(commands[index].argv, env))
    say("import time (-X importtime) and the modules the fast path loads")
    importtime = [_import_time_us(wheel_python, env) for _ in range(params.importtime_reps)]
    breakdown = _import_breakdown(wheel_python, env)
    heavy, added = _heavy_modules(wheel_python, env)
    return _outcome(commands, importtime, breakdown, heavy, added)


def _import_time_us(python: str, env: dict[str, str]) -> float:
    lines = _importtime_lines(python, env)
    for _, cumulative, name in lines:
        if name.strip() == "secretinj_runtime":
            return cumulative
    raise RuntimeError("-X importtime printed no line for secretinj_runtime")


def _importtime_lines(python: str, env: dict[str, str]) -> list[tuple[float, float, str]]:
    done = subprocess.run(
        [python, "-X", "importtime", "-c", "import secretinj_runtime"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    out: list[tuple[float, float, str]] = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(.*)$", line)
        if match:
            out.append((float(match[1]), float(match[2]), match[3]))
    return out


#: Standard-library modules worth naming when a module of ours pulls them in.
_NOTABLE = ("threading", "enum", "re", "functools", "collections", "typing", "logging")


def _import_breakdown(python: str, env: dict[str, str]) -> list[tuple[str, float]]:
    """Direct imports of ``secretinj_runtime`` in ms, each with the notable modules it loads."""
    lines = _importtime_lines(python, env)
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


def _heavy_modules(python: str, env: dict[str, str]) -> tuple[list[str], int]:
    def modules(code: str) -> set[str]:
        done = subprocess.run(
            [python, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
        )
        return set(done.stdout.split())

    bare = modules(LIST_MODULES)
    ours = modules(OURS_CODE + LIST_MODULES)
    added = ours - bare
    heavy = sorted({m.split(".")[0] for m in added if m.split(".")[0] in HEAVY})
    return heavy, len(added)


def _outcome(
    commands: list[_Command],
    importtime_us: list[float],
    breakdown: list[tuple[str, float]],
    heavy: list[str],
    added_modules: int,
) -> Outcome:
    by = {c.key: c for c in commands}
    wall = {k: median(c.wall_ms) for k, c in by.items()}
    cpu = {k: median(c.cpu_ms) for k, c in by.items()}
    rss = {k: median(c.rss_kb) / 1024 for k, c in by.items()}
    ours_ms = wall["ours"] - wall["bare"]
    eager_ms = wall["eager"] - wall["bare"]
    ours_mb = rss["ours"] - rss["bare"]
    eager_mb = rss["eager"] - rss["bare"]
    records: list[Record] = [
        record(
            NAME,
            f"wall time added over `python -c pass` (import + {N_VARS} injected vars, wheel-like)",
            ours_ms,
            "ms",
            baseline=f"python -c pass: {wall['bare']:.1f} ms",
            target="< 10 ms",
            met=ours_ms < 10,
        ),
        record(
            NAME,
            "CPU time (user + sys) added over `python -c pass` (less sensitive to load)",
            cpu["ours"] - cpu["bare"],
            "ms",
            baseline=f"python -c pass: {cpu['bare']:.1f} ms CPU",
        ),
        record(
            NAME,
            "added wall time, ours vs eager helper (azure-identity + requests up front)",
            ours_ms,
            "ms",
            baseline=eager_ms,
            target="<= 0.1 (eager >= 10x ours)",
            met=eager_ms >= 10 * ours_ms,
        ),
        record(
            NAME,
            "peak RSS added over `python -c pass` (VmHWM), ours vs eager helper",
            ours_mb,
            "MB",
            baseline=eager_mb,
            target="<= 3 MB",
            met=ours_mb <= 3,
        ),
        record(
            NAME,
            "import time of secretinj_runtime (-X importtime, cumulative, wheel-like)",
            median(importtime_us) / 1000,
            "ms",
            baseline="informational",
        ),
        record(
            NAME,
            "wall time added in this venv (its editable-install hook preloads re, enum...)",
            wall["venv_ours"] - wall["venv_bare"],
            "ms",
            baseline=f"venv python -c pass: {wall['venv_bare']:.1f} ms",
        ),
        record(
            NAME,
            f"heavy modules loaded on the fast path ({', '.join(heavy) or 'none'})",
            len(heavy),
            "modules",
            baseline=f"{added_modules} modules added in all",
            target="= 0",
            met=not heavy,
        ),
    ]
    samples: dict[str, Any] = {
        "commands": [
            {
                "key": c.key,
                "label": c.label,
                "wall_ms": c.wall_ms,
                "cpu_ms": c.cpu_ms,
                "rss_kb": c.rss_kb,
            }
            for c in commands
        ],
        "importtime_us": importtime_us,
        "breakdown": breakdown,
    }
    return Outcome(records, samples)


def chart(outcome: Outcome, path: Path) -> None:
    """Wall time per command, peak RSS, and where our import time goes."""
    plt = pyplot()
    cmds = [c for c in outcome.samples["commands"] if c["key"] in ("bare", "ours", "eager")]
    short = {
        "bare": "python -c pass",
        "ours": "secretinj_runtime\n50 injected vars",
        "eager": "eager helper\nazure-identity\n+ requests",
    }
    labels = [short[c["key"]] for c in cmds]
    fig, (ax1, ax2, ax3) = plt.subplots(
        1, 3, figsize=(16, 5), layout="constrained", gridspec_kw={"width_ratios": [1, 1, 1.4]}
    )
    ax1.boxplot([c["wall_ms"] for c in cmds], showfliers=False)
    for i, c in enumerate(cmds, start=1):
        jitter = [i + random.uniform(-0.12, 0.12) for _ in c["wall_ms"]]
        ax1.scatter(jitter, c["wall_ms"], s=6, alpha=0.5)
    ax1.set_xticks(range(1, len(cmds) + 1), labels, fontsize=8)
    ax1.set_yscale("log")
    ax1.set_ylabel("wall time per process (ms, log)")
    ax1.set_title("wall time of a fresh process (wheel-like)", fontsize=10)
    medians = [median(c["rss_kb"]) / 1024 for c in cmds]
    ax2.bar(range(len(cmds)), medians, color=["#999999", "#1f77b4", "#d62728"])
    ax2.set_xticks(range(len(cmds)), labels, fontsize=8)
    ax2.set_ylabel("peak RSS (MB, median)")
    ax2.set_title("peak RSS (VmHWM)", fontsize=10)
    for i, m in enumerate(medians):
        ax2.text(i, m, f"{m:.1f}", ha="center", va="bottom", fontsize=8)
    breakdown = outcome.samples["breakdown"][:10]
    ax3.barh([n for n, _ in breakdown][::-1], [ms for _, ms in breakdown][::-1])
    ax3.set_xlabel("cumulative ms (-X importtime, one run)")
    ax3.set_title("direct imports of secretinj_runtime", fontsize=10)
    ax3.tick_params(axis="y", labelsize=8)
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":  # pragma: no cover - python -m bench.fast_path
    sys.exit("run it through: python -m bench.run --only fast_path")
