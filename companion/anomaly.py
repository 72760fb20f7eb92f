"""Anomaly detection for operations data (Chapter 12, §12.5).

Two kinds of anomaly, two detectors:

* a *multivariate outlier* among plant measurements: a row far from the bulk of the data
  in the Mahalanobis distance (eq. ch12-mahalanobis)
  ``d^2(x) = (x - mu)^T Sigma^{-1} (x - mu)``. With the ordinary mean and covariance the
  outliers themselves inflate ``Sigma`` and hide (*masking*); the minimum covariance
  determinant (MCD) estimate (Rousseeuw and Van Driessen 1999), fitted to the most
  concentrated half of the rows, does not. :func:`mahalanobis_sq` is written from scratch
  and equals scikit-learn's ``EmpiricalCovariance().mahalanobis``; :func:`robust_mahalanobis_sq`
  uses scikit-learn's ``MinCovDet``.
* a *fault in a sensor or demand series*: a value far from what the series' own seasonal
  pattern predicts. :func:`robust_zscores` scales residuals by the median absolute
  deviation (``1.4826 * MAD`` estimates the standard deviation of normal data and is not
  inflated by the faults).

No labelled industrial faults ship offline with any package the book uses, so the series
experiment injects synthetic faults (:func:`inject_faults`) into a real series; it says
so wherever it is used. The stack-loss data (:func:`load_stackloss`) are real plant
measurements without fault labels.

Input policy: arrays are **converted** (NumPy arrays, lists, pandas objects, tensors) to
float64; booleans, strings and non-finite values are refused; every error names the argument.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from companion.validation import check_int, check_positive, check_positive_int, check_real, describe


def _as_float(x, name: str, ndim: int) -> np.ndarray:
    if isinstance(x, (str, bytes)) or np.isscalar(x):
        raise TypeError(f"{name} must be a {ndim}-D array of numbers, got {describe(x)}")
    a = x.detach().cpu().numpy() if torch.is_tensor(x) else np.asarray(x)
    if a.dtype == bool or a.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    if a.ndim != ndim:
        want = "(n,)" if ndim == 1 else "(n, d)"
        raise ValueError(f"{name} must be {ndim}-D {want}, got shape {a.shape}")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains {int((~np.isfinite(a)).sum())} NaN or infinite values")
    return a


def mahalanobis_sq(X, center=None, covariance=None) -> np.ndarray:
    """Squared Mahalanobis distances of the rows of ``X`` ``(n, d)``, shape ``(n,)``.

    Without ``center``/``covariance`` they are the sample mean and the maximum-likelihood
    covariance (divided by ``n``, as scikit-learn's ``EmpiricalCovariance``) of ``X`` itself.
    """
    X = _as_float(X, "X", 2)
    n, d = X.shape
    if n <= d:
        raise ValueError(f"X needs more rows than columns to estimate a covariance, got {X.shape}")
    mu = X.mean(0) if center is None else _as_float(center, "center", 1)
    if mu.shape != (d,):
        raise ValueError(f"center must have shape ({d},), got {mu.shape}")
    if covariance is None:
        diff = X - mu
        S = diff.T @ diff / n if center is None else np.cov(X, rowvar=False, bias=True)
    else:
        S = _as_float(covariance, "covariance", 2)
        if S.shape != (d, d):
            raise ValueError(f"covariance must have shape ({d}, {d}), got {S.shape}")
    diff = X - mu
    # solve rather than invert: Sigma^{-1} (x - mu) for every row at once
    return np.einsum("ij,ij->i", diff, np.linalg.solve(S, diff.T).T)


def robust_mahalanobis_sq(X, random_state: int = 0) -> np.ndarray:
    """Squared distances from the MCD estimate of location and scatter (scikit-learn's
    ``MinCovDet``, support fraction ``(n + d + 1) / 2n``), shape ``(n,)``."""
    from sklearn.covariance import MinCovDet

    X = _as_float(X, "X", 2)
    check_int(random_state, "random_state", min=0)
    return MinCovDet(random_state=random_state).fit(X).mahalanobis(X)


def chi2_cutoff(d: int, quantile: float = 0.975) -> float:
    """The ``quantile`` of the chi-squared distribution with ``d`` degrees of freedom: the
    usual cut-off for squared distances of ``d``-dimensional normal data."""
    from scipy.stats import chi2

    d = check_positive_int(d, "d")
    q = check_real(quantile, "quantile", low=0.0, high=1.0, low_open=True, high_open=True)
    return float(chi2.ppf(q, d))


def robust_zscores(x) -> np.ndarray:
    """``(x - median) / (1.4826 * MAD)`` for a 1-D array (MAD: median absolute deviation)."""
    a = _as_float(x, "x", 1)
    med = np.median(a)
    mad = 1.4826 * np.median(np.abs(a - med))
    if mad == 0:
        raise ValueError("x has a median absolute deviation of 0 (over half its values equal)")
    return (a - med) / mad


def inject_faults(series, n_faults: int, size: float, seed: int = 0, start: int = 0):
    """A copy of ``series`` with ``n_faults`` synthetic faults and their labels.

    Each fault adds ``+-size`` times the series' standard deviation (random sign) at a
    distinct random position in ``[start, n)``. Returns ``(faulty, labels)``, both ``(n,)``;
    ``labels`` is 1 at the faults.
    """
    y = _as_float(series, "series", 1)
    n_faults = check_positive_int(n_faults, "n_faults")
    size = check_positive(size, "size")
    start = check_int(start, "start", min=0)
    if n_faults > len(y) - start:
        raise ValueError(f"n_faults={n_faults} exceeds the {len(y) - start} positions available")
    rng = np.random.default_rng(check_int(seed, "seed", min=0))
    where = rng.choice(np.arange(start, len(y)), size=n_faults, replace=False)
    out, labels = y.copy(), np.zeros(len(y), dtype=np.int64)
    out[where] += rng.choice([-1.0, 1.0], size=n_faults) * size * y.std()
    labels[where] = 1
    return out, labels


@dataclass(frozen=True)
class Detection:
    """What a detector did against known labels."""

    recall: float  # share of true anomalies flagged
    false_alarm_rate: float  # share of normal points flagged
    precision: float  # share of flags that were anomalies (NaN when nothing was flagged)
    n_flagged: int


def detection_rates(flags, labels) -> Detection:
    """Compare boolean ``flags`` ``(n,)`` with 0/1 ``labels`` ``(n,)``."""
    f = np.asarray(flags.detach().cpu() if torch.is_tensor(flags) else flags)
    y = np.asarray(labels.detach().cpu() if torch.is_tensor(labels) else labels)
    if f.dtype != bool:
        raise TypeError(f"flags must be booleans (e.g. scores > cutoff), got dtype {f.dtype}")
    if f.ndim != 1 or y.shape != f.shape:
        raise ValueError(f"flags and labels must be 1-D of equal length, got {f.shape}, {y.shape}")
    if y.dtype.kind not in "biu" or not np.isin(y, (0, 1)).all():
        raise ValueError("labels must hold only 0 and 1")
    pos, neg = int((y == 1).sum()), int((y == 0).sum())
    tp, fp = int((f & (y == 1)).sum()), int((f & (y == 0)).sum())
    nan = float("nan")
    return Detection(
        recall=tp / pos if pos else nan,
        false_alarm_rate=fp / neg if neg else nan,
        precision=tp / (tp + fp) if tp + fp else nan,
        n_flagged=int(f.sum()),
    )


def load_stackloss() -> pd.DataFrame:
    """Brownlee's stack-loss data (statsmodels): 21 days of a plant oxidising ammonia to
    nitric acid. Columns ``AIRFLOW`` (rate of operation), ``WATERTEMP`` (cooling water inlet
    temperature), ``ACIDCONC`` (acid concentration) and ``STACKLOSS`` (ammonia lost, the
    outcome); rows indexed 1..21 as in the literature. Public domain (statsmodels, BSD)."""
    from statsmodels.datasets import stackloss

    df = stackloss.load_pandas().data.copy()
    df.index = pd.RangeIndex(1, len(df) + 1, name="day")
    return df


def online_seasonal_flags(
    series, start: int, season: int = 12, cutoff: float = 3.5, calibration: int = 60
):
    """Flag readings from ``start`` on that the seasonal-persistence forecast cannot explain.

    Walks forward in time as a monitoring system would. Each reading ``y[t]`` is compared with
    ``f_t = c[t - season] + c[t - 1] - c[t - 1 - season]``, computed from the *cleaned* past
    ``c``; its score is ``z_t = (y[t] - f_t) / s``, with ``s`` the robust scale
    (``1.4826 * MAD``) of the same forecast's residuals over the ``calibration`` readings
    before ``start``. A reading with ``|z_t| > cutoff`` is flagged and replaced by ``f_t`` in
    ``c``, so one fault does not make the next forecasts (and readings) look wrong as well.
    Returns ``(flags, z)``, booleans and scores for ``t = start, ..., n - 1``.
    """
    y = _as_float(series, "series", 1)
    season = check_positive_int(season, "season")
    start = check_int(start, "start", min=0)
    calibration = check_positive_int(calibration, "calibration")
    cutoff = check_positive(cutoff, "cutoff")
    first = start - calibration
    if first < season + 1 or start >= len(y):
        raise ValueError(
            f"need season + 1 <= start - calibration and start < n, got season={season}, "
            f"start={start}, calibration={calibration}, n={len(y)}"
        )
    t = np.arange(first, start)
    past = y[t] - (y[t - season] + y[t - 1] - y[t - 1 - season])
    scale = 1.4826 * np.median(np.abs(past - np.median(past)))
    if scale == 0:
        raise ValueError("the calibration residuals have a median absolute deviation of 0")
    clean = y.copy()
    z = np.empty(len(y) - start)
    for j, i in enumerate(range(start, len(y))):
        f = clean[i - season] + clean[i - 1] - clean[i - 1 - season]
        z[j] = (y[i] - f) / scale
        if abs(z[j]) > cutoff:
            clean[i] = f
    return np.abs(z) > cutoff, z
