"""companion.drift: KS against scipy, PSI against its closed form for two normals (13.6)."""

import math

import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch

from companion.drift import drift_report, kolmogorov_sf, ks_statistic, psi


@pytest.mark.parametrize("n, m, shift", [(50, 70, 0.0), (400, 300, 0.3), (1000, 1000, 1.0)])
def test_ks_statistic_equals_scipy(n, m, shift):
    rng = np.random.default_rng(n)
    a, b = rng.normal(size=n), rng.normal(shift, 1.0, size=m)
    d, p = ks_statistic(a, b)
    ref = scipy.stats.ks_2samp(a, b)
    assert d == pytest.approx(ref.statistic, abs=1e-12)
    n_e = n * m / (n + m)
    assert p == pytest.approx(scipy.special.kolmogorov(math.sqrt(n_e) * d), rel=1e-9, abs=1e-12)
    # scipy's "asymp" method refines the limit law for finite n; the two stay close.
    asymp = scipy.stats.ks_2samp(a, b, method="asymp").pvalue
    assert abs(p - asymp) < 0.05 + 0.1 * asymp


def test_ks_with_ties_and_tensors_equals_scipy():
    a = torch.tensor([0.0, 1, 1, 2, 2, 2, 3])
    b = np.array([1.0, 1, 2, 3, 3, 4])
    assert ks_statistic(a, b)[0] == pytest.approx(scipy.stats.ks_2samp(a.numpy(), b).statistic)


def test_ks_wrong_variant_reference_points_only_fails():
    """A plausible bug: evaluating both CDFs only at the reference points misses the sup."""
    a, b = np.array([0.0, 1.0, 2.0]), np.array([0.5, 0.5])
    ref_only = np.max(
        np.abs(np.searchsorted(a, a, "right") / 3 - np.searchsorted(b, a, "right") / 2)
    )
    assert ks_statistic(a, b)[0] == pytest.approx(2 / 3) == scipy.stats.ks_2samp(a, b).statistic
    assert ref_only == pytest.approx(1 / 3)


def test_kolmogorov_series_equals_scipy():
    for lam in (0.25, 0.5, 0.8, 1.0, 1.36, 2.0, 3.0):
        assert kolmogorov_sf(lam) == pytest.approx(
            scipy.special.kolmogorov(lam), rel=1e-9, abs=1e-15
        )


@pytest.mark.parametrize("mu", [0.2, 0.5, 1.0])
def test_psi_tends_to_the_symmetric_kl_of_two_normals(mu):
    """For N(0,1) vs N(mu,1), PSI with fine bins -> KL(p||q) + KL(q||p) = mu^2."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=400_000), rng.normal(mu, 1.0, size=400_000)
    value = psi(a, b, bins=100)
    assert value == pytest.approx(mu**2, rel=0.08)
    # Wrong variant: the one-directional KL sum(c * ln(c/r)) is about half as large.
    r = np.histogram(a, bins=np.quantile(a, np.linspace(0, 1, 101)))[0] / a.size
    c = np.histogram(b, bins=np.quantile(a, np.linspace(0, 1, 101)))[0] / b.size
    one_way = np.sum(np.maximum(c, 1e-4) * np.log(np.maximum(c, 1e-4) / np.maximum(r, 1e-4)))
    assert abs(one_way - mu**2) > 0.3 * mu**2


def test_psi_by_hand_on_a_tiny_example():
    ref = np.array([1.0, 2, 3, 4])  # bins=2: edge at the median 2.5 -> fractions 1/2, 1/2
    cur = np.array([1.0, 3, 4, 4])  # 1/4, 3/4
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert psi(ref, cur, bins=2) == pytest.approx(expected)
    assert psi(ref, ref, bins=2) == 0.0


def test_drift_report_alerts_on_a_shift_and_not_on_a_resample():
    rng = np.random.default_rng(2)
    ref = rng.normal(size=2000)
    same = drift_report(ref, rng.normal(size=2000))
    shifted = drift_report(ref, rng.normal(0.8, 1.0, size=2000))
    assert not same.alert and same.psi < 0.1
    assert shifted.alert and shifted.psi > 0.25 and shifted.p_value < 1e-6
