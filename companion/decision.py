"""Decisions from probabilities: costs, thresholds and class imbalance (Chapter 11, §11.4-11.5).

A classifier gives a probability; a business takes an action. With costs
``C[true, action]`` for the four outcomes, the expected cost of acting "positive" on an
example with calibrated probability ``p`` is ``p C_TP + (1 - p) C_FP`` and of acting
"negative" ``p C_FN + (1 - p) C_TN``; acting positive is cheaper exactly when (eq. ch11-bayes)

    p >= t* = (C_FP - C_TN) / ((C_FP - C_TN) + (C_FN - C_TP)).

With ``C_TP = C_TN = 0`` this is ``C_FP / (C_FP + C_FN)``: a miss that costs nine times a false
alarm moves the threshold from 0.5 to 0.1. When the probabilities are not calibrated, the
threshold is chosen empirically on validation data (:func:`cost_optimal_threshold`), and
the **expected cost per decision** (:func:`expected_cost`) is the number a business reads.

Class imbalance can be met in three ways, compared in §11.5: resampling the training data
(:func:`oversample_indices`, :func:`undersample_indices`), weighting the loss
(:func:`balanced_class_weights`), or training as usual and moving the threshold.

Inputs are converted as in :mod:`companion.metrics` (tensors, NumPy arrays or lists;
integer labels, floating-point scores); costs are finite real numbers. A wrong kind is a
``TypeError``, a wrong value a ``ValueError``, each naming the argument.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from companion.metrics import as_labels, as_scores
from companion.validation import check_int, check_real

__all__ = [
    "expected_cost",
    "bayes_threshold",
    "cost_by_threshold",
    "ThresholdChoice",
    "cost_optimal_threshold",
    "balanced_class_weights",
    "oversample_indices",
    "undersample_indices",
]


def _costs(cost_fp, cost_fn, cost_tp, cost_tn) -> tuple[float, float, float, float]:
    fp = check_real(cost_fp, "cost_fp")
    fn = check_real(cost_fn, "cost_fn")
    tp = check_real(cost_tp, "cost_tp")
    tn = check_real(cost_tn, "cost_tn")
    if fp <= tn:
        raise ValueError(
            f"cost_fp ({fp}) must exceed cost_tn ({tn}): otherwise acting on a negative is no "
            "mistake and the best decision is always 'positive'"
        )
    if fn <= tp:
        raise ValueError(
            f"cost_fn ({fn}) must exceed cost_tp ({tp}): otherwise missing a positive is no "
            "mistake and the best decision is always 'negative'"
        )
    return fp, fn, tp, tn


def expected_cost(
    y_true: Any, y_pred: Any, cost_fp: float, cost_fn: float, cost_tp: float = 0.0,
    cost_tn: float = 0.0,
) -> float:  # fmt: skip
    """Mean cost per decision of 0/1 predictions ``y_pred`` against 0/1 ``y_true``.

    A negative cost is a gain (say ``cost_tp = -50`` for a fraud caught).
    """
    fp, fn, tp, tn = _costs(cost_fp, cost_fn, cost_tp, cost_tn)
    t = as_labels(y_true, "y_true", binary=True)
    p = as_labels(y_pred, "y_pred", n=len(t), binary=True)
    total = (
        fp * np.sum((t == 0) & (p == 1))
        + fn * np.sum((t == 1) & (p == 0))
        + tp * np.sum((t == 1) & (p == 1))
        + tn * np.sum((t == 0) & (p == 0))
    )
    return float(total / len(t))


def bayes_threshold(
    cost_fp: float, cost_fn: float, cost_tp: float = 0.0, cost_tn: float = 0.0
) -> float:
    """The threshold ``t*`` of eq. ch11-bayes for *calibrated* probabilities: act positive
    when ``p >= t*``."""
    fp, fn, tp, tn = _costs(cost_fp, cost_fn, cost_tp, cost_tn)
    return (fp - tn) / ((fp - tn) + (fn - tp))


def cost_by_threshold(
    scores: Any, y_true: Any, cost_fp: float, cost_fn: float, cost_tp: float = 0.0,
    cost_tn: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Mean cost per decision for every distinct cut ``scores >= t``, highest ``t`` first.

    Returns ``thresholds, costs``; the first threshold is ``+inf`` (every example negative),
    the last the smallest score (every example positive).
    """
    return _cost_curve(scores, y_true, (cost_fp, cost_fn, cost_tp, cost_tn), "scores")


def _cost_curve(scores: Any, y_true: Any, costs: tuple, name: str):
    fp, fn, tp, tn = _costs(*costs)
    t = as_labels(y_true, "y_true", binary=True)
    s = as_scores(scores, name, n=len(t))
    order = np.argsort(-s, kind="mergesort")
    s_sorted, pos = s[order], t[order].astype(np.float64)
    last_of_run = np.r_[np.flatnonzero(np.diff(s_sorted)), len(s) - 1]
    n_pos = pos.sum()
    tps = np.r_[0.0, np.cumsum(pos)[last_of_run]]  # positives predicted positive
    pps = np.r_[0.0, last_of_run + 1.0]  # examples predicted positive
    fps = pps - tps
    fns, tns = n_pos - tps, (len(t) - n_pos) - fps
    costs = (fp * fps + fn * fns + tp * tps + tn * tns) / len(t)
    return np.r_[np.inf, s_sorted[last_of_run]], costs


class ThresholdChoice(NamedTuple):
    """The chosen cut (predict positive when ``score >= threshold``) and its mean cost."""

    threshold: float
    cost: float


def cost_optimal_threshold(
    probs: Any, y_true: Any, cost_fp: float, cost_fn: float, cost_tp: float = 0.0,
    cost_tn: float = 0.0,
) -> ThresholdChoice:  # fmt: skip
    """The cut with the lowest mean cost per decision on ``(probs, y_true)`` (§11.4).

    Use *validation* data: the cost found on the data used to choose the cut is optimistic.
    Of several cuts with the same lowest cost, the highest is returned. ``probs`` may be any
    score (a probability, a logit); the threshold is on the same scale.
    """
    thresholds, costs = _cost_curve(probs, y_true, (cost_fp, cost_fn, cost_tp, cost_tn), "probs")
    k = int(np.argmin(costs))  # the first minimum: the highest threshold among ties
    return ThresholdChoice(float(thresholds[k]), float(costs[k]))


def balanced_class_weights(y: Any, num_classes: int | None = None) -> np.ndarray:
    """Weights ``n / (K * n_k)`` per class (scikit-learn's ``"balanced"``), so that every
    class contributes the same total weight to a weighted loss. Every class in
    ``0..num_classes-1`` must occur in ``y``."""
    labels = as_labels(y, "y")
    if labels.min() < 0:
        raise ValueError(f"y must hold labels 0..K-1, got {labels.min()}")
    K = int(labels.max()) + 1 if num_classes is None else check_int(num_classes, "num_classes",
                                                                     min=1)  # fmt: skip
    if labels.max() >= K:
        raise ValueError(f"y holds label {labels.max()} but num_classes is {K}")
    counts = np.bincount(labels, minlength=K)
    if (counts == 0).any():
        raise ValueError(f"class(es) {np.flatnonzero(counts == 0).tolist()} never occur in y; "
                         "a weight for an absent class is undefined")  # fmt: skip
    return len(labels) / (K * counts)


def _resample_setup(y: Any, seed: Any):
    labels = as_labels(y, "y")
    seed = check_int(seed, "seed", min=0)
    classes, counts = np.unique(labels, return_counts=True)
    return labels, np.random.default_rng(seed), classes, counts


def oversample_indices(y: Any, seed: int = 0) -> np.ndarray:
    """Row indices that repeat every smaller class (drawn with replacement) up to the size of
    the largest; each original row is kept once. Apply to the *training* split only: copies
    of one row on both sides of a split leak (§11.6)."""
    labels, rng, classes, counts = _resample_setup(y, seed)
    target = counts.max()
    parts = []
    for c, n in zip(classes, counts, strict=True):
        rows = np.flatnonzero(labels == c)
        parts.append(rows)
        if n < target:
            parts.append(rng.choice(rows, size=target - n, replace=True))
    return rng.permutation(np.concatenate(parts))


def undersample_indices(y: Any, seed: int = 0) -> np.ndarray:
    """Row indices that keep, for every class, a random subset (without replacement) the
    size of the smallest class."""
    labels, rng, classes, counts = _resample_setup(y, seed)
    target = counts.min()
    parts = [rng.choice(np.flatnonzero(labels == c), size=target, replace=False) for c in classes]
    return rng.permutation(np.concatenate(parts))
