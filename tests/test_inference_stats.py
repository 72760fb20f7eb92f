"""companion.inference_stats against statsmodels and SciPy, with coverage by simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import bootstrap
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_effectsize,
    proportions_ztest,
)

from companion import inference_stats as st
from companion.metrics import accuracy, roc_auc


@pytest.mark.parametrize(("p_a", "p_b"), [(0.10, 0.12), (0.05, 0.06), (0.30, 0.25), (0.5, 0.6)])
def test_sample_size_and_power_equal_statsmodels(p_a, p_b):
    h = proportion_effectsize(p_b, p_a)
    want = NormalIndPower().solve_power(h, alpha=0.05, power=0.8, ratio=1.0)
    assert st.ab_sample_size(p_a, p_b) == int(np.ceil(want))
    for n in (100, 1000, 5000):
        assert st.ab_power(p_a, p_b, n) == pytest.approx(
            NormalIndPower().power(h, n, 0.05, ratio=1.0), rel=1e-9
        )
    side = "larger" if p_b > p_a else "smaller"
    want1 = NormalIndPower().solve_power(h, alpha=0.05, power=0.9, alternative=side)
    assert st.ab_sample_size(p_a, p_b, power=0.9, alternative=side) == int(np.ceil(want1))


def test_sample_size_wrong_variant_fails():
    """Forgetting that the effect is split over two groups halves the sample: too small."""
    h = proportion_effectsize(0.12, 0.10)
    one_sample = NormalIndPower().solve_power(h, alpha=0.05, power=0.8, ratio=0.0)
    assert st.ab_sample_size(0.10, 0.12) > 1.9 * one_sample


def test_ab_test_equals_statsmodels():
    r = st.ab_test(120, 1000, 150, 1000)
    z, p = proportions_ztest([150, 120], [1000, 1000])
    low, high = confint_proportions_2indep(150, 1000, 120, 1000, method="wald", compare="diff")
    assert (r.z, r.p_value) == (pytest.approx(z), pytest.approx(p))
    assert (r.ci_low, r.ci_high) == (pytest.approx(low), pytest.approx(high))
    assert r.decision == "ship B"
    assert st.ab_test(150, 1000, 120, 1000).decision == "keep A"
    assert st.ab_test(120, 1000, 125, 1000).decision == "no decision"


def test_ab_test_false_positive_rate_is_alpha_and_power_as_planned():
    rng = np.random.default_rng(0)
    n = st.ab_sample_size(0.10, 0.12)
    runs = 2000
    a = rng.binomial(n, 0.10, runs)
    same = rng.binomial(n, 0.10, runs)
    better = rng.binomial(n, 0.12, runs)
    fp = np.mean([st.ab_test(x, n, y, n).p_value < 0.05 for x, y in zip(a, same, strict=True)])
    power = np.mean([st.ab_test(x, n, y, n).decision == "ship B"
                     for x, y in zip(a, better, strict=True)])  # fmt: skip
    assert fp == pytest.approx(0.05, abs=0.015)
    assert power == pytest.approx(0.80, abs=0.03)


def test_mcnemar_equals_statsmodels():
    rng = np.random.default_rng(1)
    for _ in range(10):
        y = rng.integers(0, 3, 150)
        a = np.where(rng.random(150) < 0.8, y, (y + 1) % 3)
        b = np.where(rng.random(150) < 0.7, y, (y + 2) % 3)
        ra, rb = a == y, b == y
        table = [[np.sum(ra & rb), np.sum(ra & ~rb)], [np.sum(~ra & rb), np.sum(~ra & ~rb)]]
        res = st.mcnemar_exact(y, a, b)
        assert res.p_value == pytest.approx(mcnemar(table, exact=True).pvalue, rel=1e-12)
        assert (res.a_only, res.b_only) == (table[0][1], table[1][0])
    assert st.mcnemar_exact(y, a, a).p_value == 1.0


def test_mcnemar_wrong_variant_fails():
    """Comparing the two error counts as independent samples ignores the pairing."""
    y = np.zeros(100, dtype=int)
    a = np.r_[np.ones(10, int), np.zeros(90, int)]  # 10 errors
    b = np.r_[np.ones(10, int), np.ones(8, int), np.zeros(82, int)]  # the same 10 + 8 more
    paired = st.mcnemar_exact(y, a, b).p_value
    _, unpaired = proportions_ztest([10, 18], [100, 100])
    assert paired < 0.01 < 0.05 < unpaired


def test_bootstrap_ci_agrees_with_scipy():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 300)
    s = rng.random(300) + 0.4 * y
    ours = st.bootstrap_ci(roc_auc, y, s, n_boot=3000)
    theirs = bootstrap(
        (y, s), lambda a, b: roc_auc(a.astype(int), b), paired=True, vectorized=False,
        method="percentile", n_resamples=3000, rng=np.random.default_rng(0),
    ).confidence_interval  # fmt: skip
    assert ours.estimate == pytest.approx(roc_auc(y, s))
    assert ours.low == pytest.approx(theirs.low, abs=0.01)
    assert ours.high == pytest.approx(theirs.high, abs=0.01)
    assert ours.n_skipped == 0


def test_bootstrap_ci_covers_the_true_accuracy():
    """Over repeated test sets drawn from a classifier that is right 80% of the time, the 90%
    interval contains 0.8 in about 90% of them."""
    rng = np.random.default_rng(3)
    hits = 0
    reps = 200
    for r in range(reps):
        y = rng.integers(0, 2, 120)
        pred = np.where(rng.random(120) < 0.8, y, 1 - y)
        ci = st.bootstrap_ci(accuracy, y, pred, n_boot=400, level=0.9, seed=r)
        hits += ci.low <= 0.8 <= ci.high
    assert hits / reps == pytest.approx(0.9, abs=0.06)


def test_bootstrap_skips_single_class_resamples_and_refuses_too_many():
    y = np.r_[1, np.zeros(30, int)]  # one positive: most resamples lose it
    s = np.linspace(0, 1, 31)
    with pytest.raises(ValueError, match="undefined on"):
        st.bootstrap_ci(roc_auc, y, s, n_boot=200)


def test_bootstrap_counts_nan_resamples_as_undefined():
    """Recall is NaN on a resample without positives: skipped, never averaged into the interval."""
    from companion.metrics import precision_recall_f1

    recall = lambda y, p: precision_recall_f1(y, p).recall  # noqa: E731
    y = np.r_[1, 1, np.zeros(60, int)]
    pred = np.r_[1, 0, np.zeros(60, int)]
    with pytest.raises(ValueError, match="undefined on"):
        st.bootstrap_ci(recall, y, pred, n_boot=300)
    y_many = np.r_[np.ones(40, int), np.zeros(40, int)]
    ci = st.bootstrap_ci(recall, y_many, y_many, n_boot=300)
    assert (ci.low, ci.high, ci.n_skipped) == (1.0, 1.0, 0)
    with pytest.raises(ValueError, match="full data"):
        st.bootstrap_ci(recall, np.zeros(10, int), np.zeros(10, int), n_boot=100)
