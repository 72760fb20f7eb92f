"""companion.metrics equals scikit-learn's metrics, ties and degenerate inputs included."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from scipy import stats
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning

from companion import metrics as m


def _random_case(rng, n, tie_decimals=1):
    y = rng.integers(0, 2, n)
    y[:2] = [0, 1]  # both classes present
    scores = np.round(rng.random(n), tie_decimals)  # rounding makes many tied scores
    return y, scores


@pytest.mark.parametrize("seed", range(20))
def test_curves_equal_sklearn_with_ties(seed):
    rng = np.random.default_rng(seed)
    y, s = _random_case(rng, int(rng.integers(2, 60)))
    fpr, tpr, thr = m.roc_curve(y, s)
    FPR, TPR, THR = skm.roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, FPR)
    np.testing.assert_allclose(tpr, TPR)
    np.testing.assert_allclose(thr[1:], THR[1:])
    assert thr[0] == np.inf
    assert m.roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
    p, r, t = m.precision_recall_curve(y, s)
    P, R, T = skm.precision_recall_curve(y, s)
    np.testing.assert_allclose(p, P)
    np.testing.assert_allclose(r, R)
    np.testing.assert_allclose(t, T)
    assert m.average_precision(y, s) == pytest.approx(skm.average_precision_score(y, s), abs=1e-12)


def test_auc_is_the_mann_whitney_probability():
    """Independent of any curve: AUC = P(score of a positive > score of a negative) + ties/2."""
    rng = np.random.default_rng(3)
    y, s = _random_case(rng, 200)
    u = stats.mannwhitneyu(s[y == 1], s[y == 0]).statistic
    assert m.roc_auc(y, s) == pytest.approx(u / ((y == 1).sum() * (y == 0).sum()), abs=1e-12)


def _auc_ignoring_ties(y, s):
    """A wrong variant: one threshold per example, so a tied block is split arbitrarily."""
    order = np.argsort(-s, kind="mergesort")
    pos = y[order]
    tpr = np.r_[0, np.cumsum(pos) / pos.sum()]
    fpr = np.r_[0, np.cumsum(1 - pos) / (1 - pos).sum()]
    return float(np.sum(np.diff(fpr) * tpr[1:]))  # steps, no trapezoids


def _ap_trapezoid(y, s):
    """A wrong variant: the trapezoidal area under the PR curve."""
    p, r, _ = m.precision_recall_curve(y, s)
    return float(-np.sum(np.diff(r) * (p[1:] + p[:-1]) / 2))


def test_wrong_variants_differ_from_sklearn():
    y = np.array([0, 1, 0, 1, 1, 0, 0, 1, 0, 0])
    s = np.array([0.1, 0.8, 0.8, 0.4, 0.8, 0.2, 0.4, 0.9, 0.3, 0.1])
    assert _auc_ignoring_ties(y, s) != pytest.approx(skm.roc_auc_score(y, s))
    assert _ap_trapezoid(y, s) != pytest.approx(skm.average_precision_score(y, s))


@pytest.mark.parametrize("seed", range(10))
def test_prf_accuracy_confusion_equal_sklearn(seed):
    rng = np.random.default_rng(seed)
    y, yp = rng.integers(0, 2, 40), rng.integers(0, 2, 40)
    got = m.precision_recall_f1(y, yp, zero_division=0.0)
    want = skm.precision_recall_fscore_support(y, yp, average="binary", zero_division=0.0)[:3]
    np.testing.assert_allclose(got, want)
    assert m.accuracy(y, yp) == pytest.approx(skm.accuracy_score(y, yp))
    np.testing.assert_array_equal(m.confusion_matrix(y, yp), skm.confusion_matrix(y, yp))
    yk, ypk = rng.integers(0, 4, 60), rng.integers(0, 4, 60)
    for average in (None, "macro", "micro"):
        got = m.precision_recall_f1(yk, ypk, average=average, zero_division=0.0)
        want = skm.precision_recall_fscore_support(yk, ypk, average=average, zero_division=0.0)
        for a, b in zip(got, want[:3], strict=True):
            np.testing.assert_allclose(a, b)
    np.testing.assert_array_equal(m.confusion_matrix(yk, ypk), skm.confusion_matrix(yk, ypk))


def test_pos_label_zero_equals_sklearn():
    y, yp = np.array([0, 0, 1, 1, 0, 1]), np.array([0, 1, 1, 0, 0, 0])
    got = m.precision_recall_f1(y, yp, pos_label=0)
    want = skm.precision_recall_fscore_support(y, yp, average="binary", pos_label=0)[:3]
    np.testing.assert_allclose(got, want)
    s = np.array([0.9, 0.3, 0.2, 0.6, 0.7, 0.1])  # higher = more likely class 0
    assert m.roc_auc(y, s, pos_label=0) == pytest.approx(skm.roc_auc_score(1 - y, s))


def test_f1_is_the_harmonic_not_the_arithmetic_mean():
    y = np.array([1] * 10 + [0] * 10)
    yp = np.array([1] + [0] * 9 + [0] * 10)  # precision 1, recall 0.1
    P, R, F = m.precision_recall_f1(y, yp)
    assert (P, R) == (1.0, 0.1)
    assert F == pytest.approx(2 * P * R / (P + R)) == pytest.approx(skm.f1_score(y, yp))
    assert F != pytest.approx((P + R) / 2)  # the "average" of the source is wrong
    assert m.f_beta(P, R) == pytest.approx(F)
    y2, yp2 = [1] * 5 + [0] * 4, [1] * 4 + [0] + [1] * 4  # TP 4, FN 1, FP 4: P 0.5, R 0.8
    assert m.f_beta(0.5, 0.8, beta=2) == pytest.approx(skm.fbeta_score(y2, yp2, beta=2))
    assert m.f_beta(0.0, 0.0) == 0.0


def test_zero_division_nan_by_default_and_sklearn_value_on_request():
    y, yp = np.array([1, 1, 0]), np.array([0, 0, 0])  # nothing predicted positive
    P, R, F = m.precision_recall_f1(y, yp)
    assert math.isnan(P) and R == 0.0 and F == 0.0
    got = m.precision_recall_f1(y, yp, zero_division=0.0)
    want = skm.precision_recall_fscore_support(y, yp, average="binary", zero_division=0.0)[:3]
    np.testing.assert_allclose(got, want)
    y0 = np.array([0, 0, 0])  # no positives at all, none predicted: everything 0/0
    assert all(math.isnan(v) for v in m.precision_recall_f1(y0, y0))


def test_single_class_raises_for_ranking_metrics():
    with pytest.raises(ValueError, match="no negative"):
        m.roc_auc(np.ones(5, dtype=int), np.linspace(0, 1, 5))
    with pytest.raises(ValueError, match="no positive"):
        m.roc_curve(np.zeros(5, dtype=int), np.linspace(0, 1, 5))
    with pytest.raises(ValueError, match="no positive"):
        m.average_precision(np.zeros(5, dtype=int), np.linspace(0, 1, 5))
    # scikit-learn also finds it undefined: older versions raise, 1.9 warns and returns NaN
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        try:
            assert math.isnan(skm.roc_auc_score(np.ones(5, dtype=int), np.linspace(0, 1, 5)))
        except ValueError:
            pass
    # all positives: AP is 1 whatever the scores (every cut has precision 1)
    assert m.average_precision(np.ones(4, dtype=int), np.array([0.1, 0.5, 0.5, 0.9])) == 1.0


def test_all_scores_tied_gives_the_diagonal():
    y = np.array([0, 1, 0, 1, 1])
    s = np.full(5, 0.3)
    fpr, tpr, _ = m.roc_curve(y, s)
    np.testing.assert_allclose(fpr, [0, 1])
    np.testing.assert_allclose(tpr, [0, 1])
    assert m.roc_auc(y, s) == 0.5 == skm.roc_auc_score(y, s)
    assert m.average_precision(y, s) == pytest.approx(0.6) == skm.average_precision_score(y, s)


def test_inputs_in_every_common_type_agree():
    y = [0, 1, 1, 0, 1, 0]
    s = [0.2, 0.7, 0.4, 0.4, 0.9, 0.1]
    want = skm.roc_auc_score(y, s)
    for yy, ss in (
        (y, s),
        (np.array(y), np.array(s)),
        (torch.tensor(y), torch.tensor(s)),
        (torch.tensor(y, dtype=torch.bool), torch.tensor(s, dtype=torch.float32)),
        (np.array(y, dtype=np.int32), np.array(s, dtype=np.float32)),
    ):
        assert m.roc_auc(yy, ss) == pytest.approx(want, rel=1e-6)


def test_confusion_matrix_labels_order_and_refusal():
    y, yp = np.array([2, 0, 1, 2]), np.array([2, 1, 1, 0])
    np.testing.assert_array_equal(
        m.confusion_matrix(y, yp, labels=[2, 1, 0]),
        skm.confusion_matrix(y, yp, labels=[2, 1, 0]),
    )
    np.testing.assert_array_equal(  # a label with no example is a row of zeros
        m.confusion_matrix(y, yp, labels=[0, 1, 2, 3]),
        skm.confusion_matrix(y, yp, labels=[0, 1, 2, 3]),
    )
    with pytest.raises(ValueError, match="omits"):  # scikit-learn would drop class 2 silently
        m.confusion_matrix(y, yp, labels=[0, 1])
