"""Forecasting with honest baselines and a held-out period (Chapter 6, Section 6.6).

A learned forecaster is only worth its cost if it beats the simple rules:

* naive: tomorrow equals today, ``yhat_t = y_{t-1}``;
* seasonal naive: this month equals the same month last year, ``yhat_t = y_{t-m}``.

All forecasts here are one step ahead over a held-out period ``[start, n)``: each uses
only values before ``t``. Series are 1-D float arrays or tensors ``(n,)``.
"""

from __future__ import annotations

import numpy as np
import torch


def _as_1d(series, name="series") -> np.ndarray:
    a = series.detach().cpu().numpy() if torch.is_tensor(series) else np.asarray(series)
    if a.ndim != 1:
        raise ValueError(f"{name} should be 1-D (n,), got shape {a.shape}")
    return a.astype(np.float64)


def seasonal_naive(series, start: int, season: int) -> np.ndarray:
    """One-step forecasts ``y[t - season]`` for ``t = start, ..., n - 1``; shape ``(n - start,)``.

    ``season=1`` is the naive forecast. Needs ``start >= season``.
    """
    y = _as_1d(series)
    if not (isinstance(season, int) and season >= 1):
        raise ValueError(f"season must be a positive int, got {season!r}")
    if not (season <= start < len(y)):
        raise ValueError(
            f"need season <= start < n, got season={season}, start={start}, n={len(y)}"
        )
    return y[start - season : len(y) - season].copy()


def naive(series, start: int) -> np.ndarray:
    """One-step forecasts ``y[t - 1]`` for ``t = start, ..., n - 1``."""
    return seasonal_naive(series, start, 1)


def mae(forecast, actual) -> float:
    """Mean absolute error of two equal-length 1-D arrays."""
    f, a = _as_1d(forecast, "forecast"), _as_1d(actual, "actual")
    if f.shape != a.shape:
        raise ValueError(f"forecast {f.shape} and actual {a.shape} differ in length")
    return float(np.abs(f - a).mean())


def windows(series, window: int, start: int = 0, end: int | None = None):
    """Inputs and targets for one-step forecasting, as float32 tensors.

    For every target index ``t`` in ``[max(start, window), end)``:
    ``X[j] = y[t - window : t]`` (window,) and ``Y[j] = y[t]``.
    Returns ``X`` ``(m, window, 1)`` and ``Y`` ``(m,)``.
    """
    y = _as_1d(series)
    end = len(y) if end is None else end
    ts = np.arange(max(start, window), end)
    if len(ts) == 0:
        raise ValueError(f"no targets between start={start} and end={end} with window={window}")
    X = np.stack([y[t - window : t] for t in ts])[:, :, None]
    return torch.tensor(X, dtype=torch.float32), torch.tensor(y[ts], dtype=torch.float32)


def seasonal_persistence(series, start: int, season: int) -> np.ndarray:
    """Seasonal naive plus the latest year-on-year change (a stronger, still trivial rule).

    ``yhat_t = y[t - season] + (y[t - 1] - y[t - 1 - season])``: last year's value for this
    season, shifted by how much the series has grown over the latest full season.
    Needs ``start >= season + 1``.
    """
    y = _as_1d(series)
    if not (isinstance(season, int) and season >= 1 and season + 1 <= start < len(y)):
        raise ValueError(f"need season + 1 <= start < n, got season={season}, start={start}")
    t = np.arange(start, len(y))
    return y[t - season] + (y[t - 1] - y[t - 1 - season])
