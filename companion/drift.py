"""Detecting data drift in production (Chapter 13, section 13.6).

A deployed model sees data that may stop resembling its training data. Without labels,
one compares the distribution of a monitored quantity (a feature, or the model's own
confidence) in a recent window with a *reference* window:

* :func:`ks_statistic` - the two-sample Kolmogorov-Smirnov statistic
  $D = \\sup_x |F_{\\mathrm{ref}}(x) - F_{\\mathrm{cur}}(x)|$ (largest gap between the two
  empirical CDFs) and its asymptotic p-value $Q_{KS}(\\sqrt{n_e}\\,D)$ with
  $n_e = nm/(n+m)$ and $Q_{KS}(\\lambda) = 2\\sum_{k\\ge1}(-1)^{k-1}e^{-2k^2\\lambda^2}$;
  computed from scratch here and checked against ``scipy.stats.ks_2samp`` in the tests.
* :func:`psi` - the population stability index
  $\\mathrm{PSI} = \\sum_b (c_b - r_b)\\ln(c_b / r_b)$ over bins $b$ cut at the reference's
  quantiles ($r_b$, $c_b$: the fractions of the reference and current samples in bin $b$).
  A common rule of thumb in credit scoring reads < 0.1 as stable, 0.1-0.25 as a moderate
  shift, > 0.25 as a major one: a convention, not a test.
* :func:`drift_report` - both, with an alert when PSI exceeds its threshold or the KS
  p-value falls below ``alpha``.

Policy: samples are 1-D NumPy arrays or tensors of real numbers (converted to float64
NumPy arrays: this module documents that it converts); lists are refused with a hint;
NaN or inf are refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .validation import check_fraction, check_int, check_positive, describe

__all__ = ["DriftReport", "drift_report", "kolmogorov_sf", "ks_statistic", "psi"]


def _sample(x, name: str) -> np.ndarray:
    if torch.is_tensor(x):
        if x.dtype == torch.bool or x.is_complex():
            raise TypeError(f"{name} must hold real numbers, got a tensor of {x.dtype}")
        x = x.detach().cpu().double().numpy()
    elif isinstance(x, np.ndarray):
        if x.dtype == bool or not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
            raise TypeError(f"{name} must hold real numbers, got an array of {x.dtype}")
        x = x.astype(np.float64)
    else:
        hint = "; convert it with np.asarray(...)" if isinstance(x, (list, tuple)) else ""
        raise TypeError(f"{name} must be a 1-D NumPy array or tensor, got {describe(x)}{hint}")
    if x.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per example), got shape {x.shape}")
    if x.size < 2:
        raise ValueError(f"{name} must hold at least 2 values, got {x.size}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must hold finite values only (found NaN or inf)")
    return x


def kolmogorov_sf(lam: float) -> float:
    """$Q_{KS}(\\lambda) = P(\\sup|B(t)| > \\lambda)$ for a Brownian bridge, by its series."""
    lam = float(lam)
    if lam < 0.2:  # the series converges slowly here, and Q is 1 to within 1e-9
        return 1.0
    total = sum((-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101))
    return min(1.0, max(0.0, 2 * total))


def ks_statistic(reference, current) -> tuple[float, float]:
    """Two-sample KS statistic D and its asymptotic two-sided p-value."""
    ref = np.sort(_sample(reference, "reference"))
    cur = np.sort(_sample(current, "current"))
    points = np.concatenate([ref, cur])  # the sup is attained at a sample point
    cdf_ref = np.searchsorted(ref, points, side="right") / ref.size
    cdf_cur = np.searchsorted(cur, points, side="right") / cur.size
    d = float(np.max(np.abs(cdf_ref - cdf_cur)))
    n_e = ref.size * cur.size / (ref.size + cur.size)
    return d, kolmogorov_sf(math.sqrt(n_e) * d)


def psi(reference, current, *, bins: int = 10, floor: float = 1e-4) -> float:
    """Population stability index over ``bins`` bins cut at the reference's quantiles.

    Empty bins get the fraction ``floor`` (the logarithm would be infinite otherwise).
    """
    ref, cur = _sample(reference, "reference"), _sample(current, "current")
    bins = check_int(bins, "bins", min=2)
    floor = check_positive(floor, "floor")
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))  # inner edges
    r = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1)
    c = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1)
    r = np.maximum(r / ref.size, floor)
    c = np.maximum(c / cur.size, floor)
    return float(np.sum((c - r) * np.log(c / r)))


@dataclass(frozen=True)
class DriftReport:
    psi: float
    ks: float
    p_value: float
    alert: bool


def drift_report(
    reference, current, *, psi_threshold: float = 0.25, alpha: float = 0.01, bins: int = 10
) -> DriftReport:
    """PSI and KS of ``current`` against ``reference``; ``alert`` if either crosses its line."""
    psi_threshold = check_positive(psi_threshold, "psi_threshold")
    alpha = check_fraction(alpha, "alpha")
    if alpha == 0:
        raise ValueError("alpha must be in (0, 1), got 0")
    value = psi(reference, current, bins=bins)
    d, p = ks_statistic(reference, current)
    return DriftReport(value, d, p, bool(value > psi_threshold or p < alpha))
