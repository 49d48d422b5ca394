"""The stampede's parameter sets, the bucket's best order, and the repetitions.

The best any client can do against a token bucket is to take every token as it refills, one
replica's set of connections after another: `Setup.best_ready_s` is that schedule, the
yardstick of the last and the median replica (the same figures on a deterministic simulation
with the runtime's real limiter: ``tests/unit/test_ratelimit_stampede.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bench.harness import median


@dataclass(frozen=True)
class Setup:
    """One parameter set: replicas, connections per replica and the ARM write bucket."""

    replicas: int
    capacity: int
    refill_per_s: float
    connections: int = 5

    @property
    def label(self) -> str:
        """``100 x 5 @ 50 + 25/s``: how records and charts name the set."""
        return f"{self.replicas} x {self.connections} @ {self.capacity} + {self.refill_per_s:g}/s"

    @property
    def minimum_calls(self) -> int:
        """Every replica fetches each connection once."""
        return self.replicas * self.connections

    @property
    def drain_s(self) -> float:
        """How long the bucket takes to serve every replica at best."""
        return max(0.0, self.minimum_calls - self.capacity) / self.refill_per_s

    def best_ready_s(self) -> list[float]:
        """When each replica is ready in the bucket's best schedule (one set after another)."""
        c = self.connections
        return [
            max(0.0, (k * c - self.capacity) / self.refill_per_s)
            for k in range(1, self.replicas + 1)
        ]

    @property
    def best_median_s(self) -> float:
        """The median replica's time to ready in the bucket's best schedule."""
        return median(self.best_ready_s())

    @property
    def deadline_s(self) -> float:
        """The runtime's retry deadline: the default 30 s, or 1.5x the drain if longer."""
        return max(30.0, 1.5 * self.drain_s)

    def connection_names(self) -> list[str]:
        """The connection names every replica references."""
        return [f"stampede-conn-{i}" for i in range(self.connections)]


#: The issue's two parameter sets.
SETUPS = (Setup(100, 50, 25.0), Setup(200, 200, 10.0))


@dataclass
class Params:
    """The parameter sets, repetitions and the naive client's backoff.

    ``replicas``, ``capacity`` and ``refill_per_s`` (the command line's ``--replicas``,
    ``--bucket-capacity``, ``--bucket-refill-per-s``) replace the sets by one when set.
    """

    setups: tuple[Setup, ...] = SETUPS
    runtime_reps: int = 2
    naive_reps: int = 1
    naive_backoff_s: tuple[float, ...] = (3.0, 6.0, 12.0)
    join_margin_s: float = 60.0
    replicas: int | None = None
    capacity: int | None = None
    refill_per_s: float | None = None

    @classmethod
    def smoke(cls) -> Params:
        """A handful of replicas, a short naive backoff, for CI."""
        return cls(
            setups=(Setup(6, 25, 50.0),),
            runtime_reps=1,
            naive_reps=1,
            naive_backoff_s=(0.05, 0.1, 0.2),
            join_margin_s=30.0,
        )

    def selected(self) -> tuple[Setup, ...]:
        """The sets to run: the command line's one, or `setups`."""
        if self.replicas is None and self.capacity is None and self.refill_per_s is None:
            return self.setups
        base = self.setups[0]
        return (
            replace(
                base,
                replicas=self.replicas if self.replicas is not None else base.replicas,
                capacity=self.capacity if self.capacity is not None else base.capacity,
                refill_per_s=(
                    self.refill_per_s if self.refill_per_s is not None else base.refill_per_s
                ),
            ),
        )
