"""Plausible mistakes with companion.plotting.plot_history."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from companion.plotting import plot_history  # noqa: E402
from companion.train import History  # noqa: E402
from tests.badinput.harness import expect_clear_error  # noqa: E402

HIST = {"train_loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "val_accuracy": [0.5, 0.8]}

CASES = [
    ("metrics", lambda: plot_history(HIST, metrics=["nope"])),
    ("metrics", lambda: plot_history(HIST, metrics="train_los")),
    ("metrics", lambda: plot_history(HIST, metrics=[])),
    ("metrics", lambda: plot_history(HIST, metrics=5)),
    ("metrics", lambda: plot_history(HIST, metrics=["train_loss", 3])),
    ("history", lambda: plot_history([1.0, 0.5])),
    ("history", lambda: plot_history({})),
    ("title", lambda: plot_history(HIST, title=5)),
]


@pytest.mark.parametrize(("name", "call"), CASES)
def test_plot_history_refuses(name, call):
    try:
        expect_clear_error(call, name)
    finally:
        plt.close("all")


def test_a_single_metric_name_is_one_curve_not_one_per_letter():
    hist = History(metrics={k: list(v) for k, v in HIST.items()})
    fig = plot_history(hist, metrics="val_accuracy")
    (ax,) = fig.axes
    ((x, y),) = [line.get_xydata().T for line in ax.lines]
    assert list(x) == [1, 2] and list(y) == [0.5, 0.8]
    plt.close(fig)
