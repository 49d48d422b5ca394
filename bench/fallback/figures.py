"""The fallback benchmark's figures: its records (with targets) and its chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.fallback.scenario import Measured
from bench.fallback.workload import Params
from bench.harness import (
    Outcome,
    Record,
    label_bars,
    median,
    pyplot,
    quartiles,
    record,
    save_figure,
)

NAME = "fallback"


def outcome(params: Params, measured: Measured) -> Outcome:
    """The records and the samples the chart draws."""
    main, calls = measured.main, measured.calls
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
    for size, series in measured.growth.items():
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
            median(measured.first_in_process),
            "ms",
            baseline=runtime,
        )
    )
    samples: dict[str, Any] = {
        "latency_ms": params.latency_ms,
        "main": {"label": label, "ms": main.values},
        "growth": [
            {"label": s.label(), "variables": s.variables, "groups": s.groups, "ms": g.values}
            for s, g in measured.growth.items()
        ],
        "first_in_process_ms": measured.first_in_process,
    }
    return Outcome(records, samples)


NAMES = {
    "runtime": "secretinj runtime\n(cold resolver)",
    "limit": "optimal client\n(2 round trips)",
    "sequential": "sequential\nazure-identity + requests",
}


def chart(outcome: Outcome, path: Path) -> None:
    """The three clients (log scale), and how the runtime's time grows with the variables."""
    plt = pyplot()
    samples = outcome.samples
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.8))
    clients = [c for c in ("runtime", "limit", "sequential") if c in samples["main"]["ms"]]
    values = [median(samples["main"]["ms"][c]) for c in clients]
    bars = ax1.bar(
        [NAMES[c] for c in clients], values, color=["#1f77b4", "#2ca02c", "#d62728"][: len(clients)]
    )
    label_bars(ax1, bars, [f"{value:.0f} ms" for value in values])
    ax1.set_yscale("log")
    ax1.set_ylim(bottom=10)
    ax1.set_ylabel("time to resolve every variable (ms, median, log)")
    ax1.set_title(samples["main"]["label"], fontsize=10)
    _growth(ax2, samples)
    save_figure(fig, path)


def _growth(ax: Any, samples: dict[str, Any]) -> None:
    growth = samples["growth"]
    xs = [g["variables"] for g in growth]
    for client, color in (("runtime", "#1f77b4"), ("limit", "#2ca02c")):
        meds = [median(g["ms"][client]) for g in growth]
        lo_hi = [quartiles(g["ms"][client]) for g in growth]
        err = [
            [m - q[0] for m, q in zip(meds, lo_hi, strict=True)],
            [q[1] - m for m, q in zip(meds, lo_hi, strict=True)],
        ]
        ax.errorbar(xs, meds, yerr=err, marker="o", capsize=3, color=color, label=NAMES[client])
    ax.axhline(2 * samples["latency_ms"], color="grey", linestyle=":", label="2 x latency")
    ax.set_xscale("log")
    ax.set_xticks(
        xs,
        [
            f"{g['variables']}\n({g['groups']} fetch{'es' if g['groups'] > 1 else ''})"
            for g in growth
        ],
    )
    ax.set_ylim(bottom=0)
    ax.set_xlabel("variables (distinct fetches)")
    ax.set_ylabel("ms (median, IQR)")
    ax.set_title("growth with the number of variables", fontsize=10)
    ax.legend(fontsize=8)
