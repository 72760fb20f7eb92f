"""One figure style for the whole book, and the plots that many chapters need."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt

BOOK_STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "image.cmap": "viridis",
}


def use_book_style() -> None:
    """Apply the book's matplotlib style (idempotent)."""
    mpl.rcParams.update(BOOK_STYLE)


def plot_history(history, metrics: Sequence[str] | None = None, title: str | None = None):
    """Plot training curves from a :class:`companion.train.History` (or a dict of lists).

    One panel per metric family: ``train_loss`` and ``val_loss`` share the "loss" panel,
    ``val_accuracy`` gets an "accuracy" panel. Returns the matplotlib figure.
    """
    series: Mapping[str, list[float]] = getattr(history, "metrics", history)
    names = list(metrics) if metrics is not None else list(series)
    missing = [n for n in names if n not in series]
    if missing:
        raise KeyError(f"history has no metric(s) {missing}; it has {sorted(series)}")
    families: dict[str, list[str]] = {}
    for name in names:
        families.setdefault(name.split("_", 1)[-1], []).append(name)
    fig, axes = plt.subplots(1, len(families), figsize=(4.2 * len(families), 3.2), squeeze=False)
    for ax, (family, members) in zip(axes[0], families.items(), strict=True):
        for name in members:
            values = series[name]
            ax.plot(range(1, len(values) + 1), values, marker="o", ms=3, label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(family)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
