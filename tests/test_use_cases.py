"""companion.use_cases against scikit-learn and brute force, with wrong variants that differ."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix, precision_recall_curve

from companion.use_cases import (
    bayes_threshold,
    conformal_halfwidth,
    cost_curve,
    cost_optimal_threshold,
    expected_cost,
    interval_coverage,
    recall_first_threshold,
    simulate_credit,
)


def _scores(seed=0, n=300):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    p = np.clip(0.25 * y + rng.beta(2, 5, n), 0, 1).round(3)  # rounding creates ties
    return y, p


def test_expected_cost_equals_confusion_matrix():
    y, p = _scores()
    pred = (p >= 0.4).astype(int)
    tn, fp, fn, tp = confusion_matrix(y, pred).ravel()
    assert expected_cost(y, pred, 10.0, 1.0) == pytest.approx((10 * fn + fp) / len(y))
    # wrong variant: swapping the costs
    assert expected_cost(y, pred, 10.0, 1.0) != pytest.approx((fn + 10 * fp) / len(y))


def test_cost_curve_and_optimum_equal_brute_force():
    y, p = _scores(1)
    ts, costs = cost_curve(y, p, 5.0, 1.0)
    for t, c in zip(ts[::7], costs[::7], strict=True):
        assert c == pytest.approx(expected_cost(y, (p >= t).astype(int), 5.0, 1.0))
    grid = np.unique(np.concatenate([[0.0], p, [1.1]]))
    brute = [expected_cost(y, (p >= t).astype(int), 5.0, 1.0) for t in grid]
    best = cost_optimal_threshold(y, p, 5.0, 1.0)
    assert expected_cost(y, (p >= best).astype(int), 5.0, 1.0) == pytest.approx(min(brute))
    assert costs.min() == pytest.approx(min(brute))


def test_bayes_threshold_is_optimal_for_calibrated_probabilities():
    rng = np.random.default_rng(0)
    p = rng.random(200_000)
    y = (rng.random(len(p)) < p).astype(int)  # calibrated by construction
    t = bayes_threshold(cost_fn=4.0, cost_fp=1.0)
    assert t == pytest.approx(0.2)
    best = cost_optimal_threshold(y, p, 4.0, 1.0)
    assert abs(best - t) < 0.02
    # wrong variant: c_FN / (c_FN + c_FP) = 0.8 costs clearly more
    wrong = expected_cost(y, (p >= 0.8).astype(int), 4.0, 1.0)
    assert wrong > expected_cost(y, (p >= t).astype(int), 4.0, 1.0) + 0.1


@pytest.mark.parametrize("min_recall", [0.5, 0.9, 0.95, 1.0])
def test_recall_first_threshold_equals_precision_recall_curve(min_recall):
    y, p = _scores(2)
    _, recall, thresholds = precision_recall_curve(y, p)
    ok = thresholds[recall[:-1] >= min_recall - 1e-12]
    assert recall_first_threshold(y, p, min_recall) == pytest.approx(ok.max())
    t = recall_first_threshold(y, p, min_recall)
    assert (p[y == 1] >= t).mean() >= min_recall


def test_recall_first_threshold_accepts_tensors_and_lists():
    y, p = _scores(3, 50)
    ref = recall_first_threshold(y, p, 0.9)
    assert recall_first_threshold(torch.tensor(y), torch.tensor(p), 0.9) == ref
    assert recall_first_threshold(list(y), list(p), np.float64(0.9)) == ref


def test_conformal_halfwidth_and_coverage():
    r = np.arange(1, 20, dtype=float)  # m = 19 residuals
    assert conformal_halfwidth(r, 0.1) == 18.0  # ceil(20 * 0.9) = 18th smallest
    assert conformal_halfwidth(-r, 0.1) == 18.0  # absolute values
    # wrong variant: the plain 90% quantile of the residuals is smaller
    assert np.quantile(r, 0.9) < 18.0
    with pytest.raises(ValueError, match="too few"):
        conformal_halfwidth(r[:5], 0.1)
    assert interval_coverage([0, 0, 0], [1, 1, 1], [0.5, 1.0, 2.0]) == pytest.approx(2 / 3)


def test_conformal_interval_covers_on_exchangeable_data():
    rng = np.random.default_rng(0)
    cover = []
    for _ in range(200):
        cal, new = rng.normal(size=39), rng.normal(size=200)
        h = conformal_halfwidth(cal, 0.2)
        cover.append(interval_coverage(-h * np.ones(200), h * np.ones(200), new))
    assert np.mean(cover) == pytest.approx(
        0.8, abs=0.02
    )  # exact 1 - alpha when (m+1)(1-a) is whole


def test_simulate_credit():
    a, b = simulate_credit(2000, seed=1), simulate_credit(2000, seed=1)
    assert a.equals(b) and list(a.columns) == ["student", "income", "balance", "default"]
    df = simulate_credit(20_000, seed=0)
    assert 0.25 < df.student.mean() < 0.35
    assert df.groupby("student").balance.mean().diff().iloc[-1] > 150
    # default depends on balance only: given the balance, being a student adds nothing
    import statsmodels.api as sm

    X = sm.add_constant(df[["balance", "student"]].astype(float))
    fit = sm.Logit(df["default"], X).fit(disp=0)
    assert abs(fit.params["student"]) < 3 * fit.bse["student"]
    assert fit.params["balance"] == pytest.approx(1 / 150, rel=0.15)
    assert df.balance.min() >= 0.0
