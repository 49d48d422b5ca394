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

Modules: `scenario` (the commands, the wheel-like interpreter, the interleaved timings),
`imports` (``-X importtime`` and the modules the fast path loads), `figures` (records, chart).
"""

from __future__ import annotations

from pathlib import Path

from bench.fast_path import figures, imports, scenario
from bench.fast_path.figures import chart
from bench.fast_path.scenario import Params
from bench.harness import Outcome, say

__all__ = ["Params", "chart", "run"]


def run(params: Params, workdir: Path) -> Outcome:
    """Time the commands, interleaved; then what the import costs and loads."""
    scenario.compile_package()
    wheel_python = scenario.wheel_like_python(workdir)
    commands = scenario.commands(wheel_python)
    env = scenario.child_env()
    scenario.time_commands(commands, env, params)
    say("import time (-X importtime) and the modules the fast path loads")
    importtime = [imports.import_time_us(wheel_python, env) for _ in range(params.importtime_reps)]
    breakdown = imports.import_breakdown(wheel_python, env)
    heavy, added = imports.heavy_modules(wheel_python, env)
    return figures.outcome(commands, importtime, breakdown, heavy, added)
