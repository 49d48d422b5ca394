"""Chart set-up: matplotlib on the Agg backend (files only), saving, shared drawing helpers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (files only, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path, *, tight: bool = True) -> None:
    """Write ``fig`` to ``path`` as a PNG and free it; ``tight`` lays it out first.

    A figure made with ``layout="constrained"`` lays itself out: pass ``tight=False``.
    """
    if tight:
        fig.tight_layout()
    fig.savefig(path, dpi=100)
    pyplot().close(fig)


def step_curve(times: Sequence[float], end: float) -> tuple[list[float], list[int]]:
    """How many events had happened, over time, from 0 to ``end``: a staircase to plot.

    ``times`` are sorted event times; the curve rises by one at each of them.
    """
    xs = [0.0, *[t for t in times for _ in (0, 1)], end]
    ys = [0, *[k for k in range(len(times)) for k in (k, k + 1)], len(times)]
    return xs, ys


def label_bars(ax: Any, bars: Any, texts: Sequence[str], **text_kw: Any) -> None:
    """Write ``texts`` above ``bars`` (what ``ax.bar`` returned), one each, centred."""
    for bar, text in zip(bars, texts, strict=True):
        x = bar.get_x() + bar.get_width() / 2
        ax.text(x, bar.get_height(), text, ha="center", va="bottom", **text_kw)
