"""One figure style for the whole book, and the plots that many chapters need.

The style must stay readable when printed in greyscale and for colour-blind readers, so
lines differ in three ways at once: colour, line style and marker.

* Colours come from the palette of Okabe and Ito (2008), designed to be told apart with
  every common colour-vision deficiency. Four of its colours are used, chosen so that their
  greyscale lightness (CIE L*) differs by at least 10 between any two: blue 46, bluish green
  58, orange 71, black 0 (yellow is too light on white; sky blue, vermillion and reddish
  purple are each within 4 of one of these).
* The cycle has 8 entries: the four colours twice, each time with another line style, and
  a different marker on every entry, so no two entries look alike even in greyscale.
* Colour maps are ``viridis`` (sequential, perceptually uniform, lightness rises
  monotonically); ``cividis`` is the alternative for the strongest deficiencies.

Arguments are checked as in :mod:`companion.validation`: a wrong kind is a ``TypeError``,
a wrong value (an unknown metric name, too) a ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
from cycler import cycler

from companion.validation import describe

#: Okabe-Ito colours used by the book, in cycle order (hex sRGB).
OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "black": "#000000",
    "bluish green": "#009E73",
}
_COLOURS = list(OKABE_ITO.values())
BOOK_CYCLE = cycler(
    color=_COLOURS * 2,
    linestyle=["-", "--", "-.", ":", "--", ":", "-", "-."],
    marker=["o", "s", "^", "D", "v", "P", "X", "*"],
)

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
    "axes.prop_cycle": BOOK_CYCLE,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "lines.markersize": 4,
    "image.cmap": "viridis",
}


def use_book_style() -> None:
    """Apply the book's matplotlib style (idempotent)."""
    mpl.rcParams.update(BOOK_STYLE)


def _metric_names(metrics, series: Mapping) -> list[str]:
    if metrics is None:
        return list(series)
    if isinstance(metrics, str):  # one name, not a sequence of one-letter names
        return [metrics]
    if not isinstance(metrics, Sequence) or not all(isinstance(m, str) for m in metrics):
        raise TypeError(
            f"metrics must be a metric name or a list of names such as "
            f"['train_loss', 'val_loss'], got {describe(metrics)}"
        )
    if not metrics:
        raise ValueError("metrics is empty; leave it out to plot every metric")
    return list(metrics)


def plot_history(history, metrics: str | Sequence[str] | None = None, title: str | None = None):
    """Plot training curves from a :class:`companion.train.History` (or a dict of lists).

    ``metrics``: one name (``"val_loss"``), a list of names, or ``None`` for all. One panel
    per metric family: ``train_loss`` and ``val_loss`` share the "loss" panel,
    ``val_accuracy`` gets an "accuracy" panel. Lines take colour, line style and marker
    from :data:`BOOK_CYCLE`. Returns the matplotlib figure.
    """
    series = getattr(history, "metrics", history)
    if not isinstance(series, Mapping):
        raise TypeError(
            f"history must be a companion.train.History or a dict of lists, got {describe(history)}"
        )
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str, got {describe(title)}")
    names = _metric_names(metrics, series)
    missing = [n for n in names if n not in series]
    if missing:
        raise ValueError(
            f"metrics names {missing}, which history does not have; it has {sorted(series)}"
        )
    if not names:
        raise ValueError("history is empty: there is nothing to plot")
    families: dict[str, list[str]] = {}
    for name in names:
        families.setdefault(name.split("_", 1)[-1], []).append(name)
    fig, axes = plt.subplots(1, len(families), figsize=(4.2 * len(families), 3.2), squeeze=False)
    styles = list(BOOK_CYCLE)
    for ax, (family, members) in zip(axes[0], families.items(), strict=True):
        for i, name in enumerate(members):
            values = series[name]
            style = styles[i % len(styles)]
            ax.plot(range(1, len(values) + 1), values, ms=3, label=name, **style)
        ax.set_xlabel("epoch")
        ax.set_ylabel(family)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
