"""The cost of one log record while N resolved values are masked (N = 10, 1,000, 20,000).

Every record of the process passes through the redaction, so its cost must not grow with the
number of values the process has resolved. Each configuration runs in a fresh interpreter
(the hooks, once installed, stay for the process): a logger with one formatting handler logs
the same line many times; the figure is the median of repeated timings, in microseconds per
record. Baselines from the same run: no masking at all, and the linear scan that turn 1
shipped (every value looked for in every record), kept here as a named baseline.
"""

from __future__ import annotations

import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from bench.harness import Outcome, Samples, median, pyplot, python_figure, record, save_figure, say

_CHILD = textwrap.dedent(
    """
    import io, logging, sys, timeit
    mode, count, records, repeats = sys.argv[1], *map(int, sys.argv[2:5])
    values = [f"secret-value-{i:06d}-{'k' * (i % 9)}" for i in range(count)]
    if mode == "ours":
        import secretinj_runtime as sir
        sir.mask_secrets(values)
    elif mode == "linear":
        previous = logging.getLogRecordFactory()
        def factory(*args, **kwargs):
            record = previous(*args, **kwargs)
            message = record.getMessage()
            if any(v in message for v in values):
                for v in sorted(values, key=len, reverse=True):
                    message = message.replace(v, "***")
                record.msg, record.args = message, None
            return record
        logging.setLogRecordFactory(factory)
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    log = logging.getLogger("bench")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    def one():
        log.info("POST /score 200 in %.1f ms for %s", 12.5, "client-42")
    times = timeit.repeat(one, number=records, repeat=repeats)
    print(min(times) / records * 1e6)
    """
)


@dataclass
class Params:
    """Sizes and repetitions."""

    counts: tuple[int, ...] = (10, 1_000, 20_000)
    records: int = 1_000
    repeats: int = 5
    rounds: int = 3

    @classmethod
    def smoke(cls) -> Params:
        """Small, for CI."""
        return cls(counts=(10, 1_000), records=200, repeats=2, rounds=1)


def _cost_us(mode: str, count: int, params: Params) -> float:
    return python_figure(_CHILD, mode, str(count), str(params.records), str(params.repeats))


def run(params: Params, workdir: Path) -> Outcome:
    """Interleave the configurations over rounds; the median of each is its figure."""
    del workdir
    samples = Samples()
    for _ in range(params.rounds):
        samples.add("none", _cost_us("none", 0, params))
        for count in params.counts:
            samples.add(f"ours {count}", _cost_us("ours", count, params))
            samples.add(f"linear {count}", _cost_us("linear", count, params))
    bare = samples.median("none")
    say(f"no masking: {bare:.2f} us per record")
    records = [record("masking", "log record, nothing masked", bare, "us")]
    reference = samples.median(f"ours {params.counts[1]}")
    for count in params.counts:
        ours, linear = samples.median(f"ours {count}"), samples.median(f"linear {count}")
        say(f"{count:>6} values: ours {ours:.2f} us, linear scan {linear:.2f} us")
        records.append(
            record(
                "masking",
                f"log record, {count:,} values masked",
                ours,
                "us",
                baseline=bare,
                target=f"<= 1.5x the cost with {params.counts[1]:,} values",
                met=ours <= 1.5 * reference,
            )
        )
        records.append(
            record(
                "masking",
                f"log record, {count:,} values, turn-1 linear scan",
                linear,
                "us",
                baseline=bare,
            )
        )
    return Outcome(records, {"counts": list(params.counts), "samples": samples.values})


def chart(outcome: Outcome, path: Path) -> None:
    """Microseconds per record against the number of masked values, both algorithms."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    counts = outcome.samples["counts"]
    samples = outcome.samples["samples"]
    for name, label in (("ours", "gram index (now)"), ("linear", "linear scan (turn 1)")):
        ax.plot(counts, [median(samples[f"{name} {c}"]) for c in counts], marker="o", label=label)
    ax.axhline(median(samples["none"]), color="grey", linestyle="--", label="nothing masked")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("values masked")
    ax.set_ylabel("microseconds per log record")
    ax.set_title("Cost of one log record")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    save_figure(fig, path)


if __name__ == "__main__":  # pragma: no cover - a quick look without the harness
    print(run(Params.smoke(), Path(".")).records, file=sys.stderr)
