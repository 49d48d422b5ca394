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
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._common import (
    PYTHON,
    Outcome,
    Record,
    median,
    mock_env,
    patched_environ,
    preload_clients,
    pyplot,
    quartiles,
    record,
    save_figure,
    say,
    start_mock,
)
from secretinj_runtime.testing import sample as procs

NAME = "fallback"
VAULT = "bench-kv"
ARM_SCOPE = "https://management.azure.com/.default"
KV_SCOPE = "https://vault.azure.net/.default"
LISTSECRETS_API = "2024-10-01"
KEYVAULT_API = "7.5"
#: The fields a connection variable points at, in turn.
FIELDS = (
    ("credentials", "key"),
    ("target", None),
    ("metadata", "ApiVersion"),
    ("metadata", "Region"),
)


@dataclass(frozen=True)
class Size:
    """How many variables over how many connections and Key Vault secrets."""

    conn_vars: int
    conns: int
    kv_vars: int = 0
    secrets: int = 0

    @property
    def variables(self) -> int:
        """Variables in all."""
        return self.conn_vars + self.kv_vars

    @property
    def groups(self) -> int:
        """Distinct fetches."""
        return self.conns + self.secrets

    def label(self) -> str:
        """E.g. ``40 vars / 8 conns + 4 KV``."""
        kv = f" + {self.secrets} KV" if self.secrets else ""
        var = "var" if self.variables == 1 else "vars"
        return f"{self.variables} {var} / {self.conns} conn{'s' if self.conns > 1 else ''}{kv}"


@dataclass
class Params:
    """Sizes, latency and repetitions."""

    latency_ms: float = 100.0
    main: Size = Size(32, 8, 8, 4)
    rounds: int = 9
    sequential_rounds: int = 3
    growth: tuple[Size, ...] = (Size(1, 1), Size(10, 3), Size(80, 20, 20, 10))
    growth_rounds: int = 7
    first_in_process_reps: int = 3

    @classmethod
    def smoke(cls) -> Params:
        """Small and fast, for CI."""
        return cls(
            latency_ms=20.0,
            main=Size(6, 2, 2, 1),
            rounds=1,
            sequential_rounds=1,
            growth=(Size(1, 1), Size(6, 2, 2, 1)),
            growth_rounds=1,
            first_in_process_reps=1,
        )


@dataclass(frozen=True)
class Var:
    """One variable: its reference and what the baselines need to fetch it."""

    name: str
    reference: str
    group: tuple[str, str]  # ("conn", name) or ("kv", secret)
    part: str  # credentials | target | metadata | secret
    key: str | None


def plan(size: Size) -> list[Var]:
    """The variables of ``size``: connection fields in turn, then two per secret."""
    out: list[Var] = []
    for i in range(size.conn_vars):
        conn = f"bench-conn-{i % size.conns:02d}"
        part, key = FIELDS[(i // size.conns) % len(FIELDS)]
        path = f"{conn}/{part}" + (f"/{key}" if key else "")
        ref = f"${{{{azureml://connections/{path}}}}}"
        out.append(Var(f"BENCH_CONN_{i:03d}", ref, ("conn", conn), part, key))
    for i in range(size.kv_vars):
        secret = f"secret-{i % size.secrets:02d}"
        ref = f"${{{{keyvault:https://{VAULT}.vault.azure.net/secrets/{secret}}}}}"
        out.append(Var(f"BENCH_KV_{i:03d}", ref, ("kv", secret), "secret", None))
    return out


def mock_state(conns: int, secrets: int) -> dict[str, Any]:
    """A mock state with ``conns`` ApiKey connections and a vault of ``secrets`` secrets."""
    return {
        "connections": {
            f"bench-conn-{i:02d}": {
                "authType": "ApiKey",
                "category": "AzureOpenAI",
                "target": f"https://bench-{i:02d}.openai.azure.com/",
                "metadata": {"ApiVersion": "2024-02-01", "Region": "westeurope"},
                "credentials": {"key": f"bench-key-{i:02d}-0123456789abcdef"},
            }
            for i in range(conns)
        },
        "vaults": {
            VAULT: {f"secret-{i:02d}": f"bench-secret-{i:02d}-value" for i in range(secrets)}
        },
        "downstream": None,
    }


# -- the three clients ------------------------------------------------------------------


def run_runtime(variables: list[Var]) -> dict[str, str]:
    """Cold: a new resolver (new credential, new session) resolves every variable."""
    import secretinj_runtime as sir

    environ = {v.name: v.reference for v in variables}
    sir.SecretResolver().resolve_environment(environ=environ)
    return environ


def _extract(var: Var, body: dict[str, Any]) -> str:
    if var.part == "secret":
        return str(body["value"])
    props = body["properties"]
    if var.part == "target":
        return str(props["target"])
    return str(props[var.part][var.key])


def _urls(env: dict[str, str]) -> tuple[str, str, str]:
    import os

    arm = os.environ["SECRETINJ_ARM_ENDPOINT"]
    workspace = os.environ["SECRETINJ_WORKSPACE_ID"]
    return f"{arm}{workspace}", os.environ["SECRETINJ_KEYVAULT_ENDPOINT"], env["MSI_ENDPOINT"]


def run_limit(variables: list[Var]) -> dict[str, str]:
    """Two round trips: both tokens at once, then every distinct fetch at once."""
    import os

    import requests
    from requests.adapters import HTTPAdapter

    workspace_url, kv_url, msi = _urls(dict(os.environ))
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=64))
    groups = {v.group: v for v in variables}
    scopes = sorted({ARM_SCOPE if g[0] == "conn" else KV_SCOPE for g in groups})

    def token(scope: str) -> str:
        resource = scope.removesuffix("/.default")
        response = session.get(
            msi,
            params={"api-version": "2017-09-01", "resource": resource},
            headers={"secret": os.environ["MSI_SECRET"]},
            timeout=30,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    with ThreadPoolExecutor(max_workers=max(len(groups), len(scopes))) as pool:
        tokens = dict(zip(scopes, pool.map(token, scopes), strict=True))

        def fetch(group: tuple[str, str]) -> dict[str, Any]:
            if group[0] == "conn":
                url = f"{workspace_url}/connections/{group[1]}/listsecrets"
                headers = {"Authorization": f"Bearer {tokens[ARM_SCOPE]}"}
                response = session.post(
                    url, params={"api-version": LISTSECRETS_API}, headers=headers, timeout=30
                )
            else:
                url = f"{kv_url}/{VAULT}/secrets/{group[1]}"
                headers = {"Authorization": f"Bearer {tokens[KV_SCOPE]}"}
                response = session.get(
                    url, params={"api-version": KEYVAULT_API}, headers=headers, timeout=30
                )
            response.raise_for_status()
            body: dict[str, Any] = response.json()
            return body

        bodies = dict(zip(groups, pool.map(fetch, groups), strict=True))
    session.close()
    return {v.name: _extract(v, bodies[v.group]) for v in variables}


def run_sequential(variables: list[Var]) -> dict[str, str]:
    """One call per variable, one after another (azure-identity caches the tokens)."""
    import os

    import requests
    from azure.identity import ManagedIdentityCredential

    workspace_url, kv_url, _ = _urls(dict(os.environ))
    credential = ManagedIdentityCredential()
    values: dict[str, str] = {}
    for var in variables:
        if var.group[0] == "conn":
            token = credential.get_token(ARM_SCOPE).token
            response = requests.post(
                f"{workspace_url}/connections/{var.group[1]}/listsecrets",
                params={"api-version": LISTSECRETS_API},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
        else:
            token = credential.get_token(KV_SCOPE).token
            response = requests.get(
                f"{kv_url}/{VAULT}/secrets/{var.group[1]}",
                params={"api-version": KEYVAULT_API},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
        response.raise_for_status()
        values[var.name] = _extract(var, response.json())
    credential.close()
    return values


CLIENTS: dict[str, Callable[[list[Var]], dict[str, str]]] = {
    "runtime": run_runtime,
    "limit": run_limit,
    "sequential": run_sequential,
}


# -- measurement -------------------------------------------------------------------------


@dataclass
class _Series:
    ms: dict[str, list[float]] = field(default_factory=dict)

    def add(self, client: str, ms: float) -> None:
        self.ms.setdefault(client, []).append(ms)

    def median(self, client: str) -> float:
        return median(self.ms.get(client, []))


def _timed(client: str, variables: list[Var], expected: dict[str, str]) -> float:
    t0 = time.perf_counter()
    values = CLIENTS[client](variables)
    elapsed_ms = (time.perf_counter() - t0) * 1000
    got = {v.name: values[v.name] for v in variables}
    if got != expected:
        raise RuntimeError(f"{client} resolved different values than the limit client")
    return elapsed_ms


def run(params: Params, workdir: Path) -> Outcome:
    """Start the mock, time the three clients interleaved, then the growth series."""
    preload_clients()
    conns = max(s.conns for s in (params.main, *params.growth))
    secrets = max(s.secrets for s in (params.main, *params.growth))
    state = mock_state(conns, secrets)
    with start_mock(workdir, state=state, latency_ms=params.latency_ms) as mock:
        env = mock_env(mock)
        with patched_environ(env):
            return _measure(params, mock, env)


def _measure(params: Params, mock: procs.MockProcess, env: dict[str, str]) -> Outcome:
    main_vars = plan(params.main)
    expected = run_limit(main_vars)  # warm-up; the reference values
    run_runtime(main_vars)
    say(
        f"{params.main.label()}, {params.latency_ms:.0f} ms per call: "
        f"{params.rounds} rounds (sequential in {params.sequential_rounds})"
    )
    main = _Series()
    calls: list[int] = []
    for i in range(params.rounds):
        clients = ["runtime", "limit"] + (["sequential"] if i < params.sequential_rounds else [])
        if i % 2:
            clients.reverse()
        for client in clients:
            before = _calls(mock) if client == "runtime" else 0
            main.add(client, _timed(client, main_vars, expected))
            if client == "runtime":
                calls.append(_calls(mock) - before)
    say("growth: " + ", ".join(s.label() for s in params.growth))
    growth: dict[Size, _Series] = {s: _Series() for s in params.growth}
    growth_expected = {s: run_limit(plan(s)) for s in params.growth}
    for i in range(params.growth_rounds):
        for size in params.growth if i % 2 == 0 else reversed(params.growth):
            for client in ("runtime", "limit") if i % 2 == 0 else ("limit", "runtime"):
                growth[size].add(client, _timed(client, plan(size), growth_expected[size]))
    say("first resolution in a fresh process (includes the lazy imports)")
    first = [_first_in_process(main_vars, env) for _ in range(params.first_in_process_reps)]
    return _outcome(params, main, calls, growth, first)


def _calls(mock: procs.MockProcess) -> int:
    routes = mock.counters()["routes"]
    return sum(int(routes.get(r, 0)) for r in ("msi", "listsecrets", "keyvault"))


FIRST_CODE = """
import json, os, sys, time
t0 = time.perf_counter()
import secretinj_runtime as sir
sir.resolve_environment(environ=json.loads(sys.argv[1]))
print((time.perf_counter() - t0) * 1000)
"""


def _first_in_process(variables: list[Var], env: dict[str, str]) -> float:
    import subprocess

    environ = json.dumps({v.name: v.reference for v in variables})
    done = subprocess.run(
        [PYTHON, "-c", FIRST_CODE, environ],
        env=procs.child_environ(env),
        cwd=procs.ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.split()[-1])


def _outcome(
    params: Params,
    main: _Series,
    calls: list[int],
    growth: dict[Size, _Series],
    first: list[float],
) -> Outcome:
    runtime, limit, sequential = (main.median(c) for c in ("runtime", "limit", "sequential"))
    label = f"{params.main.label()}, {params.latency_ms:.0f} ms/call"
    records: list[Record] = [
        record(
            NAME,
            f"cold resolution vs two-round-trip limit ({label})",
            runtime,
            "ms",
            baseline=limit,
            target="<= 1.2x",
            met=runtime <= 1.2 * limit,
        ),
        record(
            NAME,
            f"cold resolution vs sequential azure-identity + requests ({label})",
            runtime,
            "ms",
            baseline=sequential,
            target="<= 0.1 (>= 10x faster)",
            met=sequential >= 10 * runtime,
        ),
        record(
            NAME,
            "calls per cold resolution (tokens + ListSecrets + Key Vault) vs the minimum",
            max(calls),
            "calls",
            baseline=params.main.groups + 2,
            target="= minimum",
            met=max(calls) == params.main.groups + 2,
        ),
    ]
    for size, series in growth.items():
        records.append(
            record(
                NAME,
                f"growth: {size.label()} ({size.groups} fetch{'es' if size.groups > 1 else ''}), "
                "runtime vs limit",
                series.median("runtime"),
                "ms",
                baseline=series.median("limit"),
            )
        )
    records.append(
        record(
            NAME,
            f"first resolution in a fresh process, incl. lazy imports ({params.main.label()})",
            median(first),
            "ms",
            baseline=runtime,
        )
    )
    samples: dict[str, Any] = {
        "latency_ms": params.latency_ms,
        "main": {"label": label, "ms": main.ms},
        "growth": [
            {"label": s.label(), "variables": s.variables, "groups": s.groups, "ms": g.ms}
            for s, g in growth.items()
        ],
        "first_in_process_ms": first,
    }
    return Outcome(records, samples)


def chart(outcome: Outcome, path: Path) -> None:
    """The three clients (log scale), and how the runtime's time grows with the variables."""
    plt = pyplot()
    samples = outcome.samples
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.8))
    clients = [c for c in ("runtime", "limit", "sequential") if c in samples["main"]["ms"]]
    values = [median(samples["main"]["ms"][c]) for c in clients]
    names = {
        "runtime": "secretinj runtime\n(cold resolver)",
        "limit": "optimal client\n(2 round trips)",
        "sequential": "sequential\nazure-identity + requests",
    }
    bars = ax1.bar(
        [names[c] for c in clients], values, color=["#1f77b4", "#2ca02c", "#d62728"][: len(clients)]
    )
    for bar, value in zip(bars, values, strict=True):
        ax1.text(
            bar.get_x() + bar.get_width() / 2, value, f"{value:.0f} ms", ha="center", va="bottom"
        )
    ax1.set_yscale("log")
    ax1.set_ylim(bottom=10)
    ax1.set_ylabel("time to resolve every variable (ms, median, log)")
    ax1.set_title(samples["main"]["label"], fontsize=10)
    growth = samples["growth"]
    xs = [g["variables"] for g in growth]
    for client, color in (("runtime", "#1f77b4"), ("limit", "#2ca02c")):
        meds = [median(g["ms"][client]) for g in growth]
        lo_hi = [quartiles(g["ms"][client]) for g in growth]
        err = [
            [m - q[0] for m, q in zip(meds, lo_hi, strict=True)],
            [q[1] - m for m, q in zip(meds, lo_hi, strict=True)],
        ]
        ax2.errorbar(xs, meds, yerr=err, marker="o", capsize=3, color=color, label=names[client])
    ax2.axhline(2 * samples["latency_ms"], color="grey", linestyle=":", label="2 x latency")
    ax2.set_xscale("log")
    ax2.set_xticks(
        xs,
        [
            f"{g['variables']}\n({g['groups']} fetch{'es' if g['groups'] > 1 else ''})"
            for g in growth
        ],
    )
    ax2.set_ylim(bottom=0)
    ax2.set_xlabel("variables (distinct fetches)")
    ax2.set_ylabel("ms (median, IQR)")
    ax2.set_title("growth with the number of variables", fontsize=10)
    ax2.legend(fontsize=8)
    save_figure(fig, path)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run it through: python -m bench.run --only fallback")
