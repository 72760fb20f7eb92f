"""Decision rules and data for the workflows of Chapter 12 (commercial use cases).

* Thresholds for a classifier's probabilities (§12.2, §12.3): the expected cost per decision
  under a cost matrix (eq. ch12-cost), the threshold that minimises it on validation data,
  the theoretical optimum ``c_FP / (c_FP + c_FN)`` for calibrated probabilities, and a
  *recall-first* threshold (the highest one that still finds a required share of positives).
* :func:`simulate_credit` (§12.3): a transparent, **synthetic** credit-default population. No
  real credit-default data set ships offline with a package that installs beside this
  book's environment (ISLP's ``Default``, itself simulated, would pull PyTorch Lightning and
  other heavy extras), so the finance workflow uses a simulation whose every assumption is
  visible in this function.
* Prediction intervals (§12.4): the split-conformal half-width from validation residuals and
  the coverage of an interval on held-out data.

Input policy: label and probability arrays are **converted** (NumPy arrays, lists, pandas
Series, tensors); labels must be 0/1, probabilities finite and in [0, 1]; costs are finite
and non-negative with a positive cost for at least one kind of error. Every error names
the argument.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from companion.validation import (
    check_array_1d,
    check_fraction,
    check_int,
    check_nonnegative,
    check_positive_int,
    check_real,
)


def _labels(y, name: str = "y_true") -> np.ndarray:
    a = check_array_1d(y, name, numeric=True)
    if not np.isin(a, (0, 1)).all():
        raise ValueError(f"{name} must hold only 0 and 1, got values {np.unique(a)[:5]}")
    return a.astype(np.int64)


def _probs(p, name: str = "proba") -> np.ndarray:
    a = check_array_1d(p, name, numeric=True)
    if a.dtype == bool:
        raise TypeError(f"{name} must hold probabilities, got booleans")
    a = a.astype(np.float64)
    if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
        raise ValueError(
            f"{name} must hold probabilities in [0, 1], got range {a.min()}..{a.max()}"
        )
    return a


def _pair(y_true, proba):
    y, p = _labels(y_true), _probs(proba)
    if len(y) != len(p):
        raise ValueError(f"y_true and proba must have the same length, got {len(y)} and {len(p)}")
    return y, p


def _costs(cost_fn, cost_fp):
    c_fn, c_fp = check_nonnegative(cost_fn, "cost_fn"), check_nonnegative(cost_fp, "cost_fp")
    if c_fn + c_fp == 0:
        raise ValueError("cost_fn and cost_fp are both 0: every threshold would cost nothing")
    return c_fn, c_fp


def expected_cost(y_true, y_pred, cost_fn: float, cost_fp: float) -> float:
    """Mean cost per decision, ``(c_FN * FN + c_FP * FP) / n`` (eq. ch12-cost); correct
    decisions cost 0 (fold any benefit of a true positive into the two costs)."""
    y = _labels(y_true)
    pred = _labels(y_pred, "y_pred")
    if len(y) != len(pred):
        raise ValueError(f"y_true and y_pred must have the same length, got {len(y)}, {len(pred)}")
    c_fn, c_fp = _costs(cost_fn, cost_fp)
    fn = int(((pred == 0) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    return (c_fn * fn + c_fp * fp) / len(y)


def bayes_threshold(cost_fn: float, cost_fp: float) -> float:
    """``c_FP / (c_FP + c_FN)``: for *calibrated* probabilities, predicting positive when
    ``p >= `` this threshold minimises the expected cost."""
    c_fn, c_fp = _costs(cost_fn, cost_fp)
    return c_fp / (c_fp + c_fn)


def cost_curve(y_true, proba, cost_fn: float, cost_fp: float):
    """Expected cost at every candidate threshold: ``(thresholds, costs)``.

    Candidates are ``0`` (everyone positive), each distinct probability, and a value above
    the largest (no one positive); positive means ``proba >= threshold``.
    """
    y, p = _pair(y_true, proba)
    c_fn, c_fp = _costs(cost_fn, cost_fp)
    ts = np.unique(np.concatenate([[0.0], p, [np.nextafter(p.max(), 2.0)]]))
    # count of positives / negatives with proba >= t, by sorting once
    pos_sorted = np.sort(p[y == 1])
    neg_sorted = np.sort(p[y == 0])
    tp = len(pos_sorted) - np.searchsorted(pos_sorted, ts, side="left")
    fp = len(neg_sorted) - np.searchsorted(neg_sorted, ts, side="left")
    fn = len(pos_sorted) - tp
    return ts, (c_fn * fn + c_fp * fp) / len(y)


def cost_optimal_threshold(y_true, proba, cost_fn: float, cost_fp: float) -> float:
    """The candidate threshold (see :func:`cost_curve`) with the lowest expected cost on
    ``(y_true, proba)``; ties go to the highest threshold (fewer alarms for equal cost).
    Choose it on validation data, report the cost on test data."""
    ts, costs = cost_curve(y_true, proba, cost_fn, cost_fp)
    best = np.flatnonzero(costs == costs.min())
    return float(ts[best[-1]])


def recall_first_threshold(y_true, proba, min_recall: float) -> float:
    """The highest threshold whose recall on ``(y_true, proba)`` is at least ``min_recall``.

    Recall counts ``proba >= threshold`` among the positives, so the answer is the
    ``ceil(min_recall * P)``-th largest positive probability (``P`` positives).
    """
    y, p = _pair(y_true, proba)
    r = check_real(min_recall, "min_recall", low=0.0, high=1.0, low_open=True)
    pos = np.sort(p[y == 1])[::-1]
    if len(pos) == 0:
        raise ValueError("y_true has no positives: recall is undefined")
    k = math.ceil(r * len(pos) - 1e-12)
    return float(pos[k - 1])


def simulate_credit(n: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """A synthetic credit-card population (§12.3), ``n`` rows, columns ``student`` (0/1),
    ``income`` (thousands a year), ``balance`` (outstanding card balance) and ``default``
    (0/1).

    The assumptions, all visible here: 30% are students; students earn less (median about
    17 vs 40 thousand, log-normal) and carry higher balances (normal, mean 1,000 vs 800,
    sd 450, floored at 0); the chance of default is logistic in the balance *only*,
    ``1 / (1 + exp(-(balance - 2,000) / 150))``, and does not depend on being a student.
    So any difference in outcomes between the groups comes from balances, and a model that
    never sees the group can still treat the groups differently.
    """
    n = check_positive_int(n, "n")
    rng = np.random.default_rng(check_int(seed, "seed", min=0))
    student = (rng.random(n) < 0.3).astype(np.int64)
    income = np.where(
        student == 1, rng.lognormal(np.log(17), 0.35, n), rng.lognormal(np.log(40), 0.3, n)
    )
    balance = np.maximum(0.0, rng.normal(np.where(student == 1, 1000.0, 800.0), 450.0))
    p_default = 1.0 / (1.0 + np.exp(-(balance - 2000.0) / 150.0))
    default = (rng.random(n) < p_default).astype(np.int64)
    return pd.DataFrame(
        {"student": student, "income": income, "balance": balance, "default": default}
    )


def conformal_halfwidth(residuals, alpha: float) -> float:
    """Split-conformal half-width: the ``ceil((m + 1)(1 - alpha))``-th smallest absolute
    validation residual (``m`` residuals). Under exchangeability ``yhat +- halfwidth``
    covers a new value with probability at least ``1 - alpha``."""
    r = np.abs(check_array_1d(residuals, "residuals", numeric=True).astype(np.float64))
    if not np.isfinite(r).all():
        raise ValueError("residuals contains NaN or infinite values")
    alpha = check_fraction(alpha, "alpha")
    if alpha == 0:
        raise ValueError("alpha must be > 0 (alpha = 0 asks for an infinitely wide interval)")
    m = len(r)
    k = math.ceil((m + 1) * (1 - alpha))
    if k > m:
        raise ValueError(
            f"{m} residuals are too few for alpha={alpha}: need at least {math.ceil(1 / alpha) - 1}"
        )
    return float(np.sort(r)[k - 1])


def interval_coverage(lower, upper, actual) -> float:
    """The share of ``actual`` values inside ``[lower, upper]`` (all ``(n,)``)."""
    lo, hi, y = (
        check_array_1d(a, n, numeric=True).astype(np.float64)
        for a, n in ((lower, "lower"), (upper, "upper"), (actual, "actual"))
    )
    if not (len(lo) == len(hi) == len(y)):
        raise ValueError(
            f"lower, upper and actual must have equal length, got {len(lo)}, {len(hi)}, {len(y)}"
        )
    if (lo > hi).any():
        raise ValueError("lower must not exceed upper")
    return float(((y >= lo) & (y <= hi)).mean())
