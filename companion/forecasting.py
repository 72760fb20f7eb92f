"""Forecasting with honest baselines and a held-out period (Chapter 6, Section 6.7).

A learned forecaster is only worth its cost if it beats the simple rules:

* naive: tomorrow equals today, ``yhat_t = y_{t-1}``;
* seasonal naive: this month equals the same month last year, ``yhat_t = y_{t-m}``;
* a linear autoregressive model AR(p), fitted by least squares on the same input window
  as the network: ``yhat_t = c + a_1 y_{t-1} + ... + a_p y_{t-p}``.

All forecasts here are one step ahead over a period ``[start, end)``: each uses only
values before ``t``. Choose every model (AR order, network size) on a validation period
and score the test period once.

Input policy: ``series`` (and ``forecast``/``actual``) are **converted**: a 1-D NumPy
array, list or tensor of real numbers becomes a float64 NumPy array (a tensor is copied
to the CPU). Booleans, strings and non-finite values are refused. Integer arguments
(``season``, ``start``, ``order``, ``window``) must be integers in range; every error
names the argument.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from companion.validation import check_int, check_positive_int, describe


def _as_1d(series, name="series") -> np.ndarray:
    """A finite 1-D float64 copy of ``series`` (array, list or tensor of real numbers)."""
    if torch.is_tensor(series):
        if series.dtype == torch.bool or series.is_complex():
            raise TypeError(f"{name} must hold real numbers, got {describe(series)}")
        a = series.detach().cpu().double().numpy()
    else:
        if isinstance(series, (str, bytes)) or np.isscalar(series):
            raise TypeError(f"{name} must be a 1-D array of numbers, got {describe(series)}")
        a = np.asarray(series)
        if a.dtype == bool or a.dtype.kind not in "iuf":
            raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n,), got shape {a.shape}")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains {int((~np.isfinite(a)).sum())} NaN or infinite values")
    return a


def _check_period(y, start, end, first, name_first="season"):
    """``first <= start < end <= n``; ``end=None`` means ``n``."""
    n = len(y)
    start = check_int(start, "start")
    end = n if end is None else check_int(end, "end")
    if not (0 <= first <= start < end <= n):
        raise ValueError(
            f"need {name_first} <= start < end <= n (series length), got {name_first}={first}, "
            f"start={start}, end={end}, n={n}"
        )
    return start, end


def seasonal_naive(series, start: int, season: int) -> np.ndarray:
    """One-step forecasts ``y[t - season]`` for ``t = start, ..., n - 1``; shape ``(n - start,)``.

    ``season=1`` is the naive forecast. Needs ``start >= season``.
    """
    y = _as_1d(series)
    season = check_positive_int(season, "season")
    start, _ = _check_period(y, start, None, season, "season")
    return y[start - season : len(y) - season].copy()


def naive(series, start: int) -> np.ndarray:
    """One-step forecasts ``y[t - 1]`` for ``t = start, ..., n - 1``."""
    return seasonal_naive(series, start, 1)


def seasonal_persistence(series, start: int, season: int) -> np.ndarray:
    """Seasonal naive plus the latest year-on-year change (a stronger, still trivial rule).

    ``yhat_t = y[t - season] + (y[t - 1] - y[t - 1 - season])``: last year's value for this
    season, shifted by how much the series has grown over the latest full season.
    Needs ``start >= season + 1``.
    """
    y = _as_1d(series)
    season = check_positive_int(season, "season")
    start, _ = _check_period(y, start, None, season + 1, "season + 1")
    t = np.arange(start, len(y))
    return y[t - season] + (y[t - 1] - y[t - 1 - season])


def mae(forecast, actual) -> float:
    """Mean absolute error of two equal-length 1-D arrays."""
    f, a = _as_1d(forecast, "forecast"), _as_1d(actual, "actual")
    if f.shape != a.shape:
        raise ValueError(f"forecast {f.shape} and actual {a.shape} differ in length")
    if len(f) == 0:
        raise ValueError("forecast and actual are empty")
    return float(np.abs(f - a).mean())


def windows(series, window: int, start: int = 0, end: int | None = None):
    """Inputs and targets for one-step forecasting, as float32 tensors.

    For every target index ``t`` in ``[max(start, window), end)``:
    ``X[j] = y[t - window : t]`` (window,) and ``Y[j] = y[t]``.
    Returns ``X`` ``(m, window, 1)`` and ``Y`` ``(m,)``.
    """
    y = _as_1d(series)
    window = check_positive_int(window, "window")
    start = max(check_int(start, "start", min=0), window)
    start, end = _check_period(y, start, end, window, "window")
    ts = np.arange(start, end)
    X = np.stack([y[t - window : t] for t in ts])[:, :, None]
    return torch.tensor(X, dtype=torch.float32), torch.tensor(y[ts], dtype=torch.float32)


# ------------------------------------------------------------- linear autoregression
def lagged_design(series, order: int, start: int, end: int | None = None):
    """The design of an AR(``order``) model for the targets ``t`` in ``[start, end)``.

    Returns ``X`` ``(m, order)`` with ``X[j, k] = y[t - 1 - k]`` (the latest value first) and
    ``Y`` ``(m,)`` with ``Y[j] = y[t]``; needs ``start >= order``.
    """
    y = _as_1d(series)
    order = check_positive_int(order, "order")
    start, end = _check_period(y, start, end, order, "order")
    ts = np.arange(start, end)
    X = np.stack([y[ts - 1 - k] for k in range(order)], axis=1)
    return X, y[ts]


@dataclass(frozen=True)
class AutoRegressive:
    """A fitted AR(p) model ``yhat_t = intercept + sum_k coef[k] * y[t - 1 - k]``."""

    intercept: float
    coef: np.ndarray  # (p,), coef[0] multiplies the latest value

    @property
    def order(self) -> int:
        return len(self.coef)

    def forecast(self, series, start: int, end: int | None = None) -> np.ndarray:
        """One-step forecasts for ``t`` in ``[start, end)``, each from the true past values."""
        X, _ = lagged_design(series, self.order, start, end)
        return self.intercept + X @ self.coef


def fit_ar(series, order: int, start: int, end: int) -> AutoRegressive:
    """Fit AR(``order``) with an intercept by least squares on the targets in ``[start, end)``.

    Pass the same ``start`` as the network's first target (its input window) so that both
    models learn from the same targets.
    """
    X, Y = lagged_design(series, order, start, end)
    if len(Y) <= order + 1:
        raise ValueError(
            f"need more than order + 1 = {order + 1} targets to fit AR({order}), got {len(Y)}"
        )
    design = np.hstack([np.ones((len(Y), 1)), X])  # (m, 1 + p)
    beta, *_ = np.linalg.lstsq(design, Y, rcond=None)
    return AutoRegressive(intercept=float(beta[0]), coef=beta[1:])


def select_ar_order(series, orders, start: int, val_start: int, val_end: int):
    """Fit AR(p) on ``[start, val_start)`` for each ``p`` in ``orders``; pick the lowest
    validation MAE on ``[val_start, val_end)``. Returns ``(best_model, {p: val_mae})``."""
    orders = [check_positive_int(p, "orders[...]") for p in orders]
    if not orders:
        raise ValueError("orders must name at least one AR order")
    y = _as_1d(series)
    scores, models = {}, {}
    for p in orders:
        models[p] = fit_ar(y, p, start, val_start)
        scores[p] = mae(models[p].forecast(y, val_start, val_end), y[val_start:val_end])
    best = min(scores, key=scores.__getitem__)
    return models[best], scores
