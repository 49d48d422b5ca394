"""Fallback latency: a cold resolution of references left unresolved, against 100 ms per call.

40 variables over 8 connections and 4 Key Vault secrets; the mock (its own process) adds
100 ms to every call (managed-identity token, ListSecrets, Key Vault). Interleaved, every
round:

- ``runtime``: a fresh ``SecretResolver()`` (configuration from the environment, so a new
  credential and new connections) + ``resolve_environment(environ=...)``;
- ``limit``: a hand-written optimal client, two round trips: both tokens in parallel, then
  the 12 distinct fetches in parallel (requests + a thread pool, no retries, no checks);
- ``sequential``: the common approach, as Microsoft's Key Vault sample: one call per
  variable, one after another, with azure-identity's ``ManagedIdentityCredential`` (which
  caches its tokens after the first call) and ``requests``.

Every client's modules are imported before the first round: import cost is the fast-path
benchmark's subject. A growth series (1 variable / 1 connection, 10 / 3, 100 / 20 connections
+ 10 secrets) times the runtime and the limit at other sizes.

Modules: `workload` (sizes, variables, the mock's state, parameters), `clients` (the three
clients), `scenario` (the interleaved rounds), `figures` (records, chart).
"""

from __future__ import annotations

from pathlib import Path

from bench.fallback import figures, scenario
from bench.fallback.figures import chart
from bench.fallback.workload import Params, mock_state
from bench.harness import Outcome, mock_env, patched_environ, preload_clients, start_mock

__all__ = ["Params", "chart", "run"]


def run(params: Params, workdir: Path) -> Outcome:
    """Start the mock, time the three clients interleaved, then the growth series."""
    preload_clients()
    conns = max(s.conns for s in (params.main, *params.growth))
    secrets = max(s.secrets for s in (params.main, *params.growth))
    state = mock_state(conns, secrets)
    with start_mock(workdir, state=state, latency_ms=params.latency_ms) as mock:
        env = mock_env(mock)
        with patched_environ(env):
            measured = scenario.measure(params, mock, env)
    return figures.outcome(params, measured)
