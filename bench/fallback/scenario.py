"""The fallback benchmark's rounds: clients interleaved, the growth series, a fresh process."""

from __future__ import annotations

import json
from dataclasses import dataclass

from bench.fallback.clients import CLIENTS, run_limit, run_runtime
from bench.fallback.workload import Params, Size, Var, plan
from bench.harness import Samples, abba, python_figure, say, timed_ms
from secretinj_runtime.testing import sample as procs


@dataclass
class Measured:
    """What the rounds measured, in ms: by client, for the main size and each growth size."""

    main: Samples
    calls: list[int]  # calls to the mock per runtime resolution
    growth: dict[Size, Samples]
    first_in_process: list[float]


def _timed(client: str, variables: list[Var], expected: dict[str, str]) -> float:
    values, elapsed_ms = timed_ms(lambda: CLIENTS[client](variables))
    got = {v.name: values[v.name] for v in variables}
    if got != expected:
        raise RuntimeError(f"{client} resolved different values than the limit client")
    return elapsed_ms


def _calls(mock: procs.MockProcess) -> int:
    routes = mock.counters()["routes"]
    return sum(int(routes.get(r, 0)) for r in ("msi", "listsecrets", "keyvault"))


def measure(params: Params, mock: procs.MockProcess, env: dict[str, str]) -> Measured:
    """Every round, against the mock `env` points at (already in ``os.environ``)."""
    main_vars = plan(params.main)
    expected = run_limit(main_vars)  # warm-up; the reference values
    run_runtime(main_vars)
    say(
        f"{params.main.label()}, {params.latency_ms:.0f} ms per call: "
        f"{params.rounds} rounds (sequential in {params.sequential_rounds})"
    )
    main = Samples()
    calls: list[int] = []
    for i in range(params.rounds):
        clients = ["runtime", "limit"] + (["sequential"] if i < params.sequential_rounds else [])
        for client in abba(clients, i):
            before = _calls(mock) if client == "runtime" else 0
            main.add(client, _timed(client, main_vars, expected))
            if client == "runtime":
                calls.append(_calls(mock) - before)
    say("growth: " + ", ".join(s.label() for s in params.growth))
    growth: dict[Size, Samples] = {s: Samples() for s in params.growth}
    growth_expected = {s: run_limit(plan(s)) for s in params.growth}
    for i in range(params.growth_rounds):
        for size in abba(params.growth, i):
            for client in abba(("runtime", "limit"), i):
                growth[size].add(client, _timed(client, plan(size), growth_expected[size]))
    say("first resolution in a fresh process (includes the lazy imports)")
    first = [_first_in_process(main_vars, env) for _ in range(params.first_in_process_reps)]
    return Measured(main, calls, growth, first)


FIRST_CODE = """
import json, os, sys, time
t0 = time.perf_counter()
import secretinj_runtime as sir
sir.resolve_environment(environ=json.loads(sys.argv[1]))
print((time.perf_counter() - t0) * 1000)
"""


def _first_in_process(variables: list[Var], env: dict[str, str]) -> float:
    environ = json.dumps({v.name: v.reference for v in variables})
    return python_figure(FIRST_CODE, environ, env=procs.child_environ(env))
