"""companion.decision: costs and thresholds by brute force, class weights against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix
from sklearn.utils.class_weight import compute_class_weight

from companion import decision as d


def _brute_force_cost(scores, y, t, c_fp, c_fn, c_tp=0.0, c_tn=0.0):
    (tn, fp), (fn, tp) = confusion_matrix(y, (scores >= t).astype(int), labels=[0, 1])
    return (c_fp * fp + c_fn * fn + c_tp * tp + c_tn * tn) / len(y)


@pytest.mark.parametrize("seed", range(5))
def test_cost_by_threshold_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 80)
    s = np.round(rng.random(80) * 0.6 + 0.4 * y, 2)  # ties included
    costs = (1.0, 7.0, -2.0, 0.5)
    thresholds, got = d.cost_by_threshold(s, y, *costs)
    want = [_brute_force_cost(s, y, t, *costs) for t in thresholds]
    np.testing.assert_allclose(got, want)
    best = d.cost_optimal_threshold(s, y, *costs)
    grid = np.r_[np.unique(s), np.inf]
    assert best.cost == pytest.approx(min(_brute_force_cost(s, y, t, *costs) for t in grid))
    assert best.cost == pytest.approx(_brute_force_cost(s, y, best.threshold, *costs))


def test_expected_cost_equals_confusion_counts():
    y = np.array([1, 1, 0, 0, 0, 1])
    yp = np.array([1, 0, 1, 0, 0, 1])
    assert d.expected_cost(y, yp, cost_fp=2, cost_fn=10) == pytest.approx((2 + 10) / 6)
    assert d.expected_cost(y, yp, 2, 10, cost_tp=-5) == pytest.approx((2 + 10 - 10) / 6)


def test_bayes_threshold_formula_and_optimality():
    assert d.bayes_threshold(1, 9) == pytest.approx(0.1)
    assert d.bayes_threshold(1, 1) == pytest.approx(0.5)
    assert d.bayes_threshold(3, 9, cost_tp=1, cost_tn=-1) == pytest.approx(4 / 12)
    # with calibrated probabilities and many examples the empirical optimum is near t*
    rng = np.random.default_rng(0)
    p = rng.random(200_000)
    y = (rng.random(200_000) < p).astype(int)
    best = d.cost_optimal_threshold(p, y, 1.0, 4.0)
    assert best.threshold == pytest.approx(d.bayes_threshold(1.0, 4.0), abs=0.02)
    # a wrong variant: cost_fn / (cost_fp + cost_fn) is the threshold of the swapped costs
    assert abs(best.threshold - 4 / 5) > 0.5


def test_balanced_class_weights_equal_sklearn():
    y = np.array([0] * 90 + [1] * 10 + [2] * 30)
    want = compute_class_weight("balanced", classes=np.arange(3), y=y)
    np.testing.assert_allclose(d.balanced_class_weights(y), want)
    with pytest.raises(ValueError, match="never occur"):
        d.balanced_class_weights(y, num_classes=4)


def test_resampling_balances_and_keeps_rows():
    y = np.array([0] * 50 + [1] * 5 + [2] * 12)
    over = d.oversample_indices(y, seed=1)
    assert np.bincount(y[over]).tolist() == [50, 50, 50]
    assert set(range(len(y))) <= set(over.tolist())  # every original row is kept
    under = d.undersample_indices(y, seed=1)
    assert np.bincount(y[under]).tolist() == [5, 5, 5]
    assert len(set(under.tolist())) == len(under)  # no repeats
    np.testing.assert_array_equal(over, d.oversample_indices(y, seed=1))  # reproducible
