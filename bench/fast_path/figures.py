"""The fast path's figures: its records (with targets) and its chart."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from bench.fast_path.scenario import N_VARS, Command
from bench.harness import Outcome, Record, label_bars, median, pyplot, record, save_figure

NAME = "fast_path"


def outcome(
    commands: list[Command],
    importtime_us: list[float],
    breakdown: list[tuple[str, float]],
    heavy: list[str],
    added_modules: int,
) -> Outcome:
    """The records and the samples the chart draws."""
    by = {c.key: c for c in commands}
    wall = {k: median(c.wall_ms) for k, c in by.items()}
    cpu = {k: median(c.cpu_ms) for k, c in by.items()}
    rss = {k: median(c.rss_kb) / 1024 for k, c in by.items()}
    ours_ms = wall["ours"] - wall["bare"]
    eager_ms = wall["eager"] - wall["bare"]
    ours_mb = rss["ours"] - rss["bare"]
    eager_mb = rss["eager"] - rss["bare"]
    records: list[Record] = [
        record(
            NAME,
            f"wall time added over `python -c pass` (import + {N_VARS} injected vars, wheel-like)",
            ours_ms,
            "ms",
            baseline=f"python -c pass: {wall['bare']:.1f} ms",
            target="< 10 ms",
            met=ours_ms < 10,
        ),
        record(
            NAME,
            "CPU time (user + sys) added over `python -c pass` (less sensitive to load)",
            cpu["ours"] - cpu["bare"],
            "ms",
            baseline=f"python -c pass: {cpu['bare']:.1f} ms CPU",
        ),
        record(
            NAME,
            "added wall time, ours vs eager helper (azure-identity + requests up front)",
            ours_ms,
            "ms",
            baseline=eager_ms,
            target="<= 0.1 (eager >= 10x ours)",
            met=eager_ms >= 10 * ours_ms,
        ),
        record(
            NAME,
            "peak RSS added over `python -c pass` (VmHWM), ours vs eager helper",
            ours_mb,
            "MB",
            baseline=eager_mb,
            target="<= 3 MB",
            met=ours_mb <= 3,
        ),
        record(
            NAME,
            "import time of secretinj_runtime (-X importtime, cumulative, wheel-like)",
            median(importtime_us) / 1000,
            "ms",
            baseline="informational",
        ),
        record(
            NAME,
            "wall time added in this venv (its editable-install hook preloads re, enum...)",
            wall["venv_ours"] - wall["venv_bare"],
            "ms",
            baseline=f"venv python -c pass: {wall['venv_bare']:.1f} ms",
        ),
        record(
            NAME,
            f"heavy modules loaded on the fast path ({', '.join(heavy) or 'none'})",
            len(heavy),
            "modules",
            baseline=f"{added_modules} modules added in all",
            target="= 0",
            met=not heavy,
        ),
    ]
    samples: dict[str, Any] = {
        "commands": [
            {
                "key": c.key,
                "label": c.label,
                "wall_ms": c.wall_ms,
                "cpu_ms": c.cpu_ms,
                "rss_kb": c.rss_kb,
            }
            for c in commands
        ],
        "importtime_us": importtime_us,
        "breakdown": breakdown,
    }
    return Outcome(records, samples)


SHORT = {
    "bare": "python -c pass",
    "ours": "secretinj_runtime\n50 injected vars",
    "eager": "eager helper\nazure-identity\n+ requests",
}


def chart(outcome: Outcome, path: Path) -> None:
    """Wall time per command, peak RSS, and where our import time goes."""
    plt = pyplot()
    cmds = [c for c in outcome.samples["commands"] if c["key"] in ("bare", "ours", "eager")]
    labels = [SHORT[c["key"]] for c in cmds]
    fig, (ax1, ax2, ax3) = plt.subplots(
        1, 3, figsize=(16, 5), layout="constrained", gridspec_kw={"width_ratios": [1, 1, 1.4]}
    )
    ax1.boxplot([c["wall_ms"] for c in cmds], showfliers=False)
    for i, c in enumerate(cmds, start=1):
        jitter = [i + random.uniform(-0.12, 0.12) for _ in c["wall_ms"]]
        ax1.scatter(jitter, c["wall_ms"], s=6, alpha=0.5)
    ax1.set_xticks(range(1, len(cmds) + 1), labels, fontsize=8)
    ax1.set_yscale("log")
    ax1.set_ylabel("wall time per process (ms, log)")
    ax1.set_title("wall time of a fresh process (wheel-like)", fontsize=10)
    medians = [median(c["rss_kb"]) / 1024 for c in cmds]
    bars = ax2.bar(range(len(cmds)), medians, color=["#999999", "#1f77b4", "#d62728"])
    ax2.set_xticks(range(len(cmds)), labels, fontsize=8)
    ax2.set_ylabel("peak RSS (MB, median)")
    ax2.set_title("peak RSS (VmHWM)", fontsize=10)
    label_bars(ax2, bars, [f"{m:.1f}" for m in medians], fontsize=8)
    breakdown = outcome.samples["breakdown"][:10]
    ax3.barh([n for n, _ in breakdown][::-1], [ms for _, ms in breakdown][::-1])
    ax3.set_xlabel("cumulative ms (-X importtime, one run)")
    ax3.set_title("direct imports of secretinj_runtime", fontsize=10)
    ax3.tick_params(axis="y", labelsize=8)
    save_figure(fig, path, tight=False)
