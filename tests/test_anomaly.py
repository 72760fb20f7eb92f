"""companion.anomaly against scikit-learn and SciPy, with wrong variants that must differ."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import chi2, median_abs_deviation
from sklearn.covariance import EmpiricalCovariance, MinCovDet
from sklearn.metrics import precision_score, recall_score

from companion.anomaly import (
    chi2_cutoff,
    detection_rates,
    inject_faults,
    load_stackloss,
    mahalanobis_sq,
    robust_mahalanobis_sq,
    robust_zscores,
)


def _X(seed=0, n=60, d=3):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(d, d))
    return rng.normal(size=(n, d)) @ A + rng.normal(size=d)


def test_mahalanobis_equals_scikit_learn():
    X = _X()
    ref = EmpiricalCovariance().fit(X).mahalanobis(X)
    np.testing.assert_allclose(mahalanobis_sq(X), ref, rtol=1e-10)
    np.testing.assert_allclose(mahalanobis_sq(torch.tensor(X)), ref, rtol=1e-10)
    # wrong variant: the unbiased (n - 1) covariance gives distances smaller by (n-1)/n
    S1 = np.cov(X, rowvar=False)
    assert not np.allclose(mahalanobis_sq(X, X.mean(0), S1), ref)
    # wrong variant: Euclidean distance ignores the correlations
    assert not np.allclose(((X - X.mean(0)) ** 2).sum(1), ref)


def test_given_center_and_covariance_are_used():
    X = _X(1)
    mu, S = np.zeros(3), np.eye(3) * 2.0
    np.testing.assert_allclose(mahalanobis_sq(X, mu, S), (X**2).sum(1) / 2.0)


def test_robust_distances_are_mincovdet():
    X = _X(2)
    X[:5] += 8.0  # a cluster of outliers
    ref = MinCovDet(random_state=0).fit(X).mahalanobis(X)
    np.testing.assert_allclose(robust_mahalanobis_sq(X, random_state=0), ref)
    # the robust distances separate the planted cluster; the classical ones are inflated less
    assert robust_mahalanobis_sq(X)[:5].min() > chi2_cutoff(3)


def test_chi2_cutoff():
    assert chi2_cutoff(3, 0.975) == pytest.approx(chi2.ppf(0.975, 3))


def test_robust_zscores_equal_scipy_mad():
    x = np.array([1.0, 2.0, 2.5, 3.0, 100.0, 2.2, 1.8])
    ref = (x - np.median(x)) / median_abs_deviation(x, scale="normal")
    np.testing.assert_allclose(robust_zscores(x), ref, rtol=1e-4)  # 1.4826 vs 1/Phi^-1(3/4)
    # wrong variant: the ordinary z-score is dominated by the outlier itself
    z = (x - x.mean()) / x.std()
    assert abs(z[4]) < 3 < abs(robust_zscores(x)[4])


def test_inject_faults():
    y = np.sin(np.arange(200) / 5.0) * 10
    faulty, labels = inject_faults(y, 12, 3.0, seed=4, start=50)
    assert labels.sum() == 12 and labels[:50].sum() == 0
    diff = faulty - y
    np.testing.assert_allclose(np.abs(diff[labels == 1]), 3.0 * y.std())
    assert np.all(diff[labels == 0] == 0)
    again, _ = inject_faults(y, 12, 3.0, seed=4, start=50)
    np.testing.assert_array_equal(faulty, again)


def test_detection_rates_equal_scikit_learn():
    rng = np.random.default_rng(0)
    labels = (rng.random(100) < 0.2).astype(int)
    flags = (labels == 1) ^ (rng.random(100) < 0.1)
    d = detection_rates(flags, labels)
    assert d.recall == pytest.approx(recall_score(labels, flags))
    assert d.precision == pytest.approx(precision_score(labels, flags))
    assert d.false_alarm_rate == pytest.approx(flags[labels == 0].mean())
    assert d.n_flagged == flags.sum()
    assert np.isnan(detection_rates(np.zeros(4, bool), np.array([0, 1, 0, 0])).precision)


def test_load_stackloss():
    df = load_stackloss()
    assert df.shape == (21, 4) and df.index[0] == 1 and df.index[-1] == 21
    assert list(df.columns) == ["STACKLOSS", "AIRFLOW", "WATERTEMP", "ACIDCONC"]
    assert df.loc[1, "STACKLOSS"] == 42 and df.loc[21, "AIRFLOW"] == 70


def _seasonal_series(n=120, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 100 + 0.2 * t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.5, n)


def test_online_flags_find_a_spike_and_only_the_spike():
    from companion.anomaly import online_seasonal_flags

    y = _seasonal_series()
    y[100] += 8.0
    flags, z = online_seasonal_flags(y, 80, 12, 3.5, 60)
    assert flags.tolist().count(True) == 1 and flags[100 - 80]
    # z equals an independent computation for the first reading (nothing cleaned before it)
    t = np.arange(20, 80)
    past = y[t] - (y[t - 12] + y[t - 1] - y[t - 13])
    s = 1.4826 * np.median(np.abs(past - np.median(past)))
    assert z[0] == pytest.approx((y[80] - (y[68] + y[79] - y[67])) / s)
    # wrong variant: without cleaning, the spike also spoils the forecasts of t+1, t+12, t+13
    t2 = np.arange(80, 120)
    res = (y[t2] - (y[t2 - 12] + y[t2 - 1] - y[t2 - 13])) / s
    assert (np.abs(res) > 3.5).sum() >= 3


def test_online_flags_quiet_on_clean_data():
    from companion.anomaly import online_seasonal_flags

    flags, _ = online_seasonal_flags(_seasonal_series(seed=3), 80)
    assert flags.sum() == 0
