"""What the fallback benchmark resolves: sizes, their variables, the mock's state, parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.harness import api_key_connection

VAULT = "bench-kv"
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
            f"bench-conn-{i:02d}": api_key_connection(
                f"https://bench-{i:02d}.openai.azure.com/",
                f"bench-key-{i:02d}-0123456789abcdef",
                {"ApiVersion": "2024-02-01", "Region": "westeurope"},
            )
            for i in range(conns)
        },
        "vaults": {
            VAULT: {f"secret-{i:02d}": f"bench-secret-{i:02d}-value" for i in range(secrets)}
        },
        "downstream": None,
    }
