"""companion.fairness against fairlearn's MetricFrame, with wrong variants that must differ."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from companion.fairness import group_rates, rate_gaps, threshold_for_selection_rate, threshold_sweep

fairlearn_metrics = pytest.importorskip("fairlearn.metrics")


def _data(seed=0, n=400):
    rng = np.random.default_rng(seed)
    group = rng.choice(["A", "B", "C"], size=n, p=[0.5, 0.3, 0.2])
    y = (rng.random(n) < np.where(group == "A", 0.3, 0.5)).astype(int)
    score = np.clip(0.35 * y + rng.random(n) * 0.7 + (group == "B") * 0.05, 0, 1)
    return y, score, group


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.71])
def test_group_rates_equal_fairlearn(threshold):
    from sklearn.metrics import precision_score

    y, s, g = _data()
    ours = group_rates(y, s, g, threshold)
    pred = (s >= threshold).astype(int)
    mf = fairlearn_metrics.MetricFrame(
        metrics={
            "selection_rate": fairlearn_metrics.selection_rate,
            "tpr": fairlearn_metrics.true_positive_rate,
            "fpr": fairlearn_metrics.false_positive_rate,
            "precision": lambda a, b: precision_score(a, b, zero_division=np.nan),
        },
        y_true=y,
        y_pred=pred,
        sensitive_features=g,
    )
    for col in ("selection_rate", "tpr", "fpr", "precision"):
        np.testing.assert_allclose(
            ours.loc[["A", "B", "C"], col], mf.by_group[col].loc[["A", "B", "C"]]
        )
        assert ours.loc["all", col] == pytest.approx(mf.overall[col])
    gaps = rate_gaps(ours)
    dpd = fairlearn_metrics.demographic_parity_difference(y, pred, sensitive_features=g)
    assert gaps["selection_rate"] == pytest.approx(dpd)
    # wrong variant: a false-positive rate over *all* rows instead of the negatives
    wrong = ((pred == 1) & (y == 0))[g == "A"].mean()
    if mf.by_group["fpr"].loc["A"] > 0:  # (at 0.71 no negative of A is selected: both are 0)
        assert wrong != pytest.approx(mf.by_group["fpr"].loc["A"])


def test_empty_denominator_is_nan_not_zero():
    t = group_rates([0, 0, 1, 1], [0.9, 0.1, 0.8, 0.2], ["x", "x", "y", "y"], 0.5)
    assert np.isnan(t.loc["x", "tpr"]) and t.loc["x", "fpr"] == 0.5
    assert np.isnan(t.loc["y", "fpr"]) and t.loc["y", "tpr"] == 0.5


def test_inputs_in_other_types_give_the_same_table():
    y, s, g = _data(1, 50)
    ref = group_rates(y, s, g, 0.5)
    pd.testing.assert_frame_equal(group_rates(list(y), list(s), list(g), 0.5), ref)
    pd.testing.assert_frame_equal(
        group_rates(torch.tensor(y), torch.tensor(s), pd.Series(g), 0.5), ref
    )
    pd.testing.assert_frame_equal(group_rates(y.astype(bool), s, g, np.float64(0.5)), ref)


def test_threshold_sweep_stacks_group_rates():
    y, s, g = _data()
    sweep = threshold_sweep(y, s, g, [0.2, 0.6])
    assert len(sweep) == 2 * 4
    row = sweep[(sweep.threshold == 0.6) & (sweep.group == "B")].iloc[0]
    assert row["tpr"] == pytest.approx(group_rates(y, s, g, 0.6).loc["B", "tpr"])
    # raising the threshold never raises a selection rate
    lo, hi = (sweep[sweep.threshold == t].set_index("group") for t in (0.2, 0.6))
    assert (hi["selection_rate"] <= lo["selection_rate"]).all()


def test_threshold_for_selection_rate():
    s = np.array([0.9, 0.1, 0.5, 0.7, 0.3])
    t = threshold_for_selection_rate(s, 0.4)
    assert t == 0.7 and (s >= t).mean() == pytest.approx(0.4)
    assert (s >= threshold_for_selection_rate(s, 0.5)).mean() >= 0.5
