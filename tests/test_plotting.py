"""The book's figure style: readable in greyscale and for colour-blind readers."""

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from companion import plotting  # noqa: E402
from companion.train import History  # noqa: E402


def cie_lightness(colour) -> float:
    """CIE L* (0 black .. 100 white) of an sRGB colour: what greyscale printing keeps."""

    def linear(c):
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in mcolors.to_rgb(colour))
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b  # relative luminance (sRGB / Rec. 709)
    return 116 * y ** (1 / 3) - 16 if y > 216 / 24389 else 24389 / 27 * y


def test_lightness_formula_on_known_values():
    assert cie_lightness("#000000") == pytest.approx(0.0)
    assert cie_lightness("#ffffff") == pytest.approx(100.0)
    assert cie_lightness("#777777") == pytest.approx(50.0, abs=0.2)  # mid grey


def test_cycle_colours_are_okabe_ito_with_distinct_greyscale_lightness():
    okabe_ito = {"#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2",
                 "#D55E00", "#CC79A7"}  # fmt: skip
    colours = list(dict.fromkeys(e["color"] for e in plotting.BOOK_CYCLE))
    assert set(colours) <= okabe_ito and len(colours) >= 4
    lightness = sorted(cie_lightness(c) for c in colours)
    gaps = [b - a for a, b in itertools.pairwise(lightness)]
    assert min(gaps) >= 10, lightness
    # the check is sharp: the full Okabe-Ito palette (or matplotlib's default tab10) fails
    full = sorted(cie_lightness(c) for c in okabe_ito)
    assert min(b - a for a, b in itertools.pairwise(full)) < 10
    tab10 = sorted(
        cie_lightness(c) for c in plt.rcParamsDefault["axes.prop_cycle"].by_key()["color"]
    )
    assert min(b - a for a, b in itertools.pairwise(tab10)) < 10


def test_every_cycle_entry_differs_in_line_style_and_marker():
    entries = list(plotting.BOOK_CYCLE)
    assert len(entries) == 8
    assert len({e["marker"] for e in entries}) == len(entries)
    assert len({(e["color"], e["linestyle"]) for e in entries}) == len(entries)
    assert plotting.BOOK_STYLE["image.cmap"] in ("viridis", "cividis")


def test_use_book_style_sets_the_cycle():
    with matplotlib.rc_context():
        plotting.use_book_style()
        fig, ax = plt.subplots()
        lines = [ax.plot([0, 1], [i, i])[0] for i in range(3)]
        assert [ln.get_linestyle() for ln in lines] == ["-", "--", "-."]
        assert [ln.get_marker() for ln in lines] == ["o", "s", "^"]
        plt.close(fig)


def test_plot_history_accepts_a_single_name_and_groups_families():
    hist = History()
    for e in range(3):
        hist.append(train_loss=1.0 / (e + 1), val_loss=1.2 / (e + 1), val_accuracy=0.5 + 0.1 * e)
    fig = plotting.plot_history(hist, metrics="train_loss")
    (ax,) = fig.axes
    assert [ln.get_label() for ln in ax.lines] == ["train_loss"]  # not t, r, a, i, n, ...
    plt.close(fig)
    fig = plotting.plot_history(hist)
    assert [a.get_ylabel() for a in fig.axes] == ["loss", "accuracy"]
    loss_lines = fig.axes[0].lines
    assert [ln.get_label() for ln in loss_lines] == ["train_loss", "val_loss"]
    assert loss_lines[0].get_linestyle() != loss_lines[1].get_linestyle()
    assert list(loss_lines[1].get_ydata()) == pytest.approx([1.2, 0.6, 0.4])
    plt.close(fig)
