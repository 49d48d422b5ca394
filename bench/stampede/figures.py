"""The stampede's figures: records per parameter set (targets for the adaptive client), chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.harness import Outcome, Record, median, pyplot, record, save_figure, step_curve
from bench.stampede.params import Setup
from bench.stampede.scenario import RunResult

NAME = "stampede"
#: The clients, in the order of each round, and how the chart draws them.
KINDS = ("adaptive", "standard", "naive")
STYLE = {
    "adaptive": ("#1f77b4", "adaptive write rate (the runtime now)"),
    "standard": ("#ff7f0e", "standard retry (turn 1, the baseline)"),
    "naive": ("#d62728", "naive retry (3/6/12 s, gives up)"),
}


def outcome(setup: Setup, unthrottled: RunResult, runs: list[RunResult]) -> Outcome:
    """A set's records and the samples its chart panel draws."""
    by_kind = {kind: [r for r in runs if r.kind == kind] for kind in KINDS}
    records = _runtime_records(setup, by_kind["adaptive"], new=True)
    records += _runtime_records(setup, by_kind["standard"], new=False)
    records.append(
        record(
            NAME,
            f"{setup.label}: same stampede, bucket off: time until every replica is ready "
            "(client overhead)",
            unthrottled.wall_s,
            "s",
            baseline=setup.drain_s,
        )
    )
    records += _naive_records(setup, by_kind["naive"])
    samples: dict[str, Any] = {
        "params": {
            "label": setup.label,
            "replicas": setup.replicas,
            "connections": setup.connections,
            "capacity": setup.capacity,
            "refill_per_s": setup.refill_per_s,
            "drain_s": setup.drain_s,
            "best_median_s": setup.best_median_s,
            "deadline_s": setup.deadline_s,
        },
        "unthrottled": unthrottled.to_dict(),
        "runs": [r.to_dict() for r in runs],
    }
    return Outcome(records, samples)


def _runtime_records(setup: Setup, runs: list[RunResult], *, new: bool) -> list[Record]:
    """The runtime's figures: with targets for the adaptive mode, as the baseline otherwise."""
    if not runs:
        return []
    who = "adaptive" if new else "standard retry (turn 1 baseline)"
    ready = median([r.ready_pct for r in runs])
    ok_calls = median([r.successes for r in runs])
    attempts = median([r.attempts for r in runs])
    last = median([r.last_ready_s for r in runs])
    typical = median([r.median_ready_s for r in runs])
    incomplete = "" if all(r.log_complete for r in runs) else " (counted by the replicas)"

    def target(text: str, met: bool) -> dict[str, Any]:
        return {"target": text, "met": met} if new else {}

    out = [
        record(
            NAME,
            f"{setup.label}: {who}: replicas ready",
            ready,
            "%",
            **target("= 100 %", ready == 100),
        ),
        record(
            NAME,
            f"{setup.label}: {who}: successful ListSecrets vs the minimum{incomplete}",
            ok_calls,
            "calls",
            baseline=setup.minimum_calls,
            **target("<= 1.1x", ok_calls <= 1.1 * setup.minimum_calls),
        ),
        record(
            NAME,
            f"{setup.label}: {who}: ListSecrets attempts incl. 429s vs the minimum",
            attempts,
            "calls",
            baseline=setup.minimum_calls,
            **target("<= 2.5x", attempts <= 2.5 * setup.minimum_calls),
        ),
        record(
            NAME,
            f"{setup.label}: {who}: last replica ready vs the bucket's drain time",
            last,
            "s",
            baseline=setup.drain_s,
            **target("<= 1.25x", last <= 1.25 * setup.drain_s),
        ),
        record(
            NAME,
            f"{setup.label}: {who}: median replica ready vs the bucket's best median",
            typical,
            "s",
            baseline=setup.best_median_s,
            **target("<= 1.3x", typical <= 1.3 * setup.best_median_s),
        ),
    ]
    if new:
        out.append(
            record(
                NAME,
                f"{setup.label}: {who}: most waits one replica slept through",
                median([max(r.retries) for r in runs]),
                "waits",
            )
        )
    return out


def _naive_records(setup: Setup, runs: list[RunResult]) -> list[Record]:
    if not runs:
        return []
    return [
        record(
            NAME,
            f"{setup.label}: naive retry (3/6/12 s, ignores Retry-After, gives up): replicas ready",
            median([r.ready_pct for r in runs]),
            "%",
        ),
        record(
            NAME,
            f"{setup.label}: naive retry: successful ListSecrets vs the minimum",
            median([r.successes for r in runs]),
            "calls",
            baseline=setup.minimum_calls,
        ),
    ]


def chart(outcome: Outcome, path: Path) -> None:
    """Replicas ready over time, one panel per set: each client's runs and the bucket's best."""
    plt = pyplot()
    sets = outcome.samples["sets"]
    fig, axes = plt.subplots(1, len(sets), figsize=(7 * len(sets), 5), squeeze=False)
    for ax, data in zip(axes[0], sets, strict=True):
        _panel(ax, data)
    save_figure(fig, path)


def _panel(ax: Any, data: dict[str, Any]) -> None:
    p = data["params"]
    n = p["replicas"]
    horizon = 1.0
    for run in data["runs"]:
        times = sorted(t for t, ok in zip(run["ready_s"], run["ready"], strict=True) if ok)
        horizon = max(horizon, run["wall_s"])
        color, label = STYLE[run["kind"]]
        ax.plot(*step_curve(times, run["wall_s"]), color=color, alpha=0.8, label=label)
    best = Setup(p["replicas"], p["capacity"], p["refill_per_s"], p["connections"])
    ax.plot(
        *step_curve(sorted(best.best_ready_s()), horizon),
        color="grey",
        linestyle=":",
        label="bucket's best (one set after another)",
    )
    ax.axvline(p["drain_s"], color="grey", linestyle="--", linewidth=0.8)
    ax.text(p["drain_s"], n * 0.03, " drain time", color="grey", fontsize=8)
    ax.axhline(n / 2, color="grey", linewidth=0.5, alpha=0.5)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), fontsize=8, loc="lower right")
    ax.set_xlabel("seconds since every replica started")
    ax.set_ylabel("replicas ready")
    ax.set_title(
        f"{n} replicas x {p['connections']} connections, ARM write bucket {p['capacity']} + "
        f"{p['refill_per_s']:g}/s (runtime deadline {p['deadline_s']:.0f} s)",
        fontsize=10,
    )
    ax.set_ylim(0, n * 1.05)
