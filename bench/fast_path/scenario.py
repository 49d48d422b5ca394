"""The fast-path commands, the wheel-like interpreter they run in, and their interleaved timing."""

from __future__ import annotations

import os
import random
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import PYTHON, python_figure, run_child, say, shuffled, spawn_timed
from secretinj_runtime.testing.sample import ROOT, child_environ

N_VARS = 50
_NAMES = f"[f'BENCH_VAR_{{i:02d}}' for i in range({N_VARS})]"
OURS_CODE = f"import secretinj_runtime as sir\nsir.resolve_environment({_NAMES})\n"
EAGER_CODE = f"""import os
import azure.identity
import requests

for name in {_NAMES}:
    if os.environ[name].strip().startswith('${{{{'):
        raise SystemExit(name + ' holds an unresolved reference')
"""
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
class Command:
    """One timed command and its measurements."""

    key: str
    label: str
    argv: list[str]
    wall_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    rss_kb: list[float] = field(default_factory=list)


def commands(wheel_python: str) -> list[Command]:
    """The three commands in the wheel-like interpreter, and two in this venv."""
    return [
        Command("bare", "python -c pass", [wheel_python, "-c", "pass"]),
        Command("ours", "secretinj_runtime, 50 injected", [wheel_python, "-c", OURS_CODE]),
        Command(
            "eager", "eager helper (azure-identity + requests)", [wheel_python, "-c", EAGER_CODE]
        ),
        Command("venv_bare", "this venv: python -c pass", [PYTHON, "-c", "pass"]),
        Command("venv_ours", "this venv: secretinj_runtime", [PYTHON, "-c", OURS_CODE]),
    ]


def child_env() -> dict[str, str]:
    """The children's environment: the 50 injected literals."""
    return child_environ(
        {f"BENCH_VAR_{i:02d}": f"injected-literal-value-{i:02d}" for i in range(N_VARS)}
    )


def compile_package() -> None:
    """Byte-compile the package: PYTHONDONTWRITEBYTECODE would leave every import uncached."""
    run_child([PYTHON, "-m", "compileall", "-q", str(ROOT / "secretinj_runtime")])


def wheel_like_python(workdir: Path) -> str:
    """Make a venv that sees the checkout and our site-packages without their ``.pth`` hooks."""
    venv = workdir / "wheel-like-venv"
    run_child([PYTHON, "-m", "venv", "--without-pip", str(venv)])
    python = str(venv / "bin" / "python")
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = run_child([python, "-c", code]).stdout.strip()
    ours = sysconfig.get_paths()
    paths = dict.fromkeys([str(ROOT), ours["purelib"], ours["platlib"]])
    (Path(site) / "bench-paths.pth").write_text("\n".join(paths) + "\n")
    return python


def peak_rss_kb(argv: list[str], env: dict[str, str]) -> float:
    """Run the command with `RSS_PROBE` appended to its code; return its peak RSS (KiB)."""
    return python_figure(argv[-1] + "\n" + RSS_PROBE, env=env, python=argv[0])


def time_commands(cmds: list[Command], env: dict[str, str], params: Params) -> None:
    """Wall and CPU time of every command in shuffled rounds, then peak RSS the same way."""
    rng = random.Random(params.seed)
    say(f"{len(cmds)} commands x {params.reps} interleaved runs (+{params.warmup} warm-up)")
    null = os.open(os.devnull, os.O_RDWR)
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        for rep in range(params.warmup + params.reps):
            for command in shuffled(cmds, rng):
                elapsed_ms, cpu_ms = spawn_timed(command.argv, env, null)
                if rep >= params.warmup:
                    command.wall_ms.append(elapsed_ms)
                    command.cpu_ms.append(cpu_ms)
    finally:
        os.chdir(cwd)
        os.close(null)
    say(f"peak RSS: {params.rss_reps} interleaved runs per command")
    for _ in range(params.rss_reps):
        for command in shuffled(cmds, rng):
            command.rss_kb.append(peak_rss_kb(command.argv, env))
