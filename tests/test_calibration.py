"""companion.calibration against scikit-learn, torchmetrics and SciPy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import minimize_scalar
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss
from sklearn.metrics import log_loss as sk_log_loss

from companion import calibration as c

tmf = pytest.importorskip("torchmetrics.functional.classification")


def _binary(seed=0, n=600):
    rng = np.random.default_rng(seed)
    p = rng.random(n)
    y = (rng.random(n) < p**2).astype(np.int64)  # over-confident: true rate p^2 < p
    return p, y


def _multiclass(seed=0, n=500, C=5):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, C)) * 3
    y = rng.integers(0, C, n)
    y[: n // 2] = z[: n // 2].argmax(1)
    return z, y


@pytest.mark.parametrize("n_bins", [5, 10, 15])
def test_reliability_bins_equal_sklearn_calibration_curve(n_bins):
    p, y = _binary()
    bins = c.reliability_bins(p, y, n_bins)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy="uniform")
    full = bins.count > 0
    np.testing.assert_allclose(bins.accuracy[full], prob_true)
    np.testing.assert_allclose(bins.confidence[full], prob_pred)
    assert bins.count.sum() == len(p)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ece_equals_torchmetrics(seed):
    p, y = _binary(seed)
    want = tmf.binary_calibration_error(torch.tensor(p), torch.tensor(y), n_bins=10, norm="l1")
    assert c.expected_calibration_error(p, y, 10) == pytest.approx(float(want), abs=1e-9)
    z, yk = _multiclass(seed)
    P = torch.softmax(torch.tensor(z), 1)
    want = tmf.multiclass_calibration_error(P, torch.tensor(yk), num_classes=5, n_bins=15)
    assert c.expected_calibration_error(P, yk, 15) == pytest.approx(float(want), abs=1e-6)


def test_ece_wrong_variant_unweighted_bins_fails():
    """Averaging the bin gaps without weighting by the bin sizes is a different number."""
    rng = np.random.default_rng(0)
    p = rng.beta(5, 1, 600)  # most predictions near 1: bins of very different sizes
    y = (rng.random(600) < p**2).astype(np.int64)
    bins = c.reliability_bins(p, y, 10)
    full = bins.count > 0
    unweighted = np.mean(np.abs(bins.accuracy[full] - bins.confidence[full]))
    assert c.expected_calibration_error(p, y, 10) != pytest.approx(unweighted, abs=1e-3)


def test_perfectly_calibrated_bins_give_zero_ece():
    p = np.repeat([0.25, 0.75], 4)
    y = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    assert c.expected_calibration_error(p, y, 4) == pytest.approx(0.0)


def test_edge_convention_matches_sklearn():
    p = np.array([0.0, 0.5, 0.5, 1.0])  # 0.5 is an edge of 2 bins: (0, 0.5] holds it
    y = np.array([0, 1, 0, 1])
    bins = c.reliability_bins(p, y, 2)
    np.testing.assert_array_equal(bins.count, [3, 1])
    prob_true, prob_pred = calibration_curve(y, p, n_bins=2)
    np.testing.assert_allclose(bins.accuracy, prob_true)


def test_log_loss_and_brier_equal_sklearn():
    p, y = _binary()
    assert c.log_loss(p, y) == pytest.approx(sk_log_loss(y, p))
    assert c.brier_score(p, y) == pytest.approx(brier_score_loss(y, p))
    z, yk = _multiclass()
    P = torch.softmax(torch.tensor(z), 1).numpy()
    assert c.log_loss(P, yk) == pytest.approx(sk_log_loss(yk, P, labels=range(5)))
    onehot = np.eye(5)[yk]
    assert c.brier_score(P, yk) == pytest.approx(np.mean(((P - onehot) ** 2).sum(1)))


def _scipy_temperature(z, y):
    z, y = torch.tensor(z, dtype=torch.float64), torch.tensor(y)
    if z.ndim == 1:
        nll = lambda lt: torch.nn.functional.binary_cross_entropy_with_logits(  # noqa: E731
            z / np.exp(lt), y.double()).item()  # fmt: skip
    else:
        nll = lambda lt: torch.nn.functional.cross_entropy(z / np.exp(lt), y).item()  # noqa: E731
    r = minimize_scalar(nll, bounds=(-5, 5), method="bounded", options={"xatol": 1e-10})
    return float(np.exp(r.x))


def test_fit_temperature_equals_scipy_minimiser():
    z, y = _multiclass()
    T = c.fit_temperature(z, y)
    assert T == pytest.approx(_scipy_temperature(z, y), rel=1e-5)
    assert T > 1  # these logits are over-confident
    rng = np.random.default_rng(4)
    zb = rng.normal(size=400) * 4
    yb = (rng.random(400) < 1 / (1 + np.exp(-zb / 2))).astype(np.int64)
    assert c.fit_temperature(zb, yb) == pytest.approx(_scipy_temperature(zb, yb), rel=1e-5)


def test_temperature_keeps_argmax_and_lowers_nll_and_ece():
    rng = np.random.default_rng(5)
    true_logits = rng.normal(size=(3000, 4)) * 1.5
    probs = torch.softmax(torch.tensor(true_logits), 1)
    y = torch.multinomial(probs, 1, generator=torch.Generator().manual_seed(0))[:, 0].numpy()
    z = 3 * true_logits  # a model three times too confident
    T = c.fit_temperature(z, y)
    before, after = c.temperature_scale(z, 1.0), c.temperature_scale(z, T)
    np.testing.assert_array_equal(before.argmax(1), after.argmax(1))
    assert c.log_loss(after, y) < c.log_loss(before, y)
    assert c.expected_calibration_error(after, y) < 0.5 * c.expected_calibration_error(before, y)
    assert T == pytest.approx(3.0, rel=0.1)
    # a wrong variant: multiplying by T instead of dividing makes it worse
    assert c.log_loss(c.temperature_scale(z, 1 / T), y) > c.log_loss(before, y)


def test_temperature_scale_equals_torch():
    z = torch.randn(7, 3, dtype=torch.float64)
    np.testing.assert_allclose(c.temperature_scale(z, 2.0), torch.softmax(z / 2, 1).numpy())
    zb = torch.randn(7, dtype=torch.float64)
    np.testing.assert_allclose(c.temperature_scale(zb, 0.5), torch.sigmoid(zb * 2).numpy())


@pytest.mark.gpu
def test_cuda_logits_give_the_cpu_temperature():
    """Logits on a GPU are read back to the CPU in float64: the same T to 1e-9."""
    z, y = _multiclass()
    zc = torch.tensor(z, dtype=torch.float32, device="cuda")
    yc = torch.tensor(y, device="cuda")
    want = c.fit_temperature(torch.tensor(z, dtype=torch.float32), torch.tensor(y))
    assert c.fit_temperature(zc, yc) == pytest.approx(want, rel=1e-9)
    probs = torch.softmax(zc, 1)
    assert c.expected_calibration_error(probs, yc) == pytest.approx(
        c.expected_calibration_error(probs.cpu(), y), abs=1e-12
    )
