"""Classification metrics from scratch: confusion matrix, precision, recall, F1, ROC and PR curves.

Chapter 11 (§11.1-11.2) derives each metric from the four counts of the confusion matrix
(eq. ch11-prf) and from the ranking of the scores (ROC and precision-recall curves,
eq. ch11-auc, ch11-ap). Every function returns the same numbers as scikit-learn's
(``tests/test_metrics.py``), including tied scores; where an input is degenerate this module
decides as follows and says so:

* a metric that divides 0 by 0 (precision with no predicted positive, recall with no actual
  positive) is ``zero_division``, NaN by default: an undefined number must not look like a
  measured 0 (scikit-learn's default writes 0.0 and warns; pass ``zero_division=0.0`` to get
  its numbers);
* the ROC curve and its AUC need both classes in ``y_true``: one class alone is a
  ``ValueError`` (scikit-learn 1.9 warns and returns NaN, which then averages silently);
* the precision-recall curve and average precision need at least one positive: none is a
  ``ValueError`` (scikit-learn warns and returns a meaningless curve);
* ``confusion_matrix(..., labels=...)`` refuses a label that the data hold but ``labels``
  omits (scikit-learn silently drops those rows).

Inputs. The functions *convert* what they are given (documented exception to the
companion's policy, because metrics are usually computed on NumPy arrays): a 1-D torch
tensor, NumPy array, list or tuple. Labels must be integers or bools - a float array of
labels is refused with a ``TypeError`` (it is usually a vector of probabilities passed in
the wrong place; convert 0.0/1.0 targets with ``.long()`` / ``.astype(int)``). Scores must be
floating point and finite; integer "scores" (hard predictions passed to a curve) are
refused. Outputs are Python floats and NumPy arrays, as in scikit-learn. Validation
follows :mod:`companion.validation`: a wrong kind is a ``TypeError``, a wrong value or
shape a ``ValueError``, and each message names the argument.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch

from companion.validation import check_choice, check_int, check_positive, check_real, describe

__all__ = [
    "as_labels",
    "as_scores",
    "confusion_matrix",
    "accuracy",
    "PRF",
    "precision_recall_f1",
    "f_beta",
    "roc_curve",
    "roc_auc",
    "precision_recall_curve",
    "average_precision",
]


# --- input conversion (shared by calibration, decision and inference_stats) ----------------


def _as_array(value: Any, name: str) -> np.ndarray:
    if torch.is_tensor(value):
        return value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (list, tuple)):
        try:
            return np.asarray(value)
        except ValueError as err:  # ragged nested lists
            raise ValueError(f"{name} must be a flat sequence of numbers: {err}") from err
    raise TypeError(
        f"{name} must be a 1-D torch tensor, NumPy array or list, got {describe(value)}"
    )


def as_labels(value: Any, name: str, *, n: int | None = None, binary: bool = False) -> np.ndarray:
    """A 1-D int64 NumPy array of class labels (converted from a tensor, array or list).

    ``binary=True`` also requires every value to be 0 or 1 (bools are read as 0/1).
    ``n`` is the required length (the length of ``y_true``, say).
    """
    a = _as_array(value, name)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one label per example), got shape {a.shape}")
    if len(a) == 0:
        raise ValueError(f"{name} is empty: a metric needs at least one example")
    if n is not None and len(a) != n:
        raise ValueError(f"{name} has {len(a)} entries but y_true has {n}; they must pair up")
    if a.dtype == bool:
        a = a.astype(np.int64)
    elif not np.issubdtype(a.dtype, np.integer):
        hint = ""
        if np.issubdtype(a.dtype, np.floating):
            hint = (
                " (labels are integers: if these are 0.0/1.0 targets use .long() or "
                ".astype(int); if they are probabilities or scores, they belong in another "
                "argument)"
            )
        raise TypeError(f"{name} must hold integer or bool labels, got dtype {a.dtype}{hint}")
    a = a.astype(np.int64, copy=False)
    if binary and not np.isin(a, (0, 1)).all():
        bad = sorted(set(np.unique(a).tolist()) - {0, 1})[:5]
        raise ValueError(f"{name} must hold binary labels 0 and 1, got other values {bad}")
    return a


def as_scores(value: Any, name: str, *, n: int | None = None) -> np.ndarray:
    """A 1-D float64 NumPy array of finite scores (probabilities, logits, any ranking score)."""
    a = _as_array(value, name)
    if a.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D (one score per example), got shape {a.shape}"
            + ("; for two-class probabilities pass the column of class 1" if a.ndim == 2 else "")
        )
    if len(a) == 0:
        raise ValueError(f"{name} is empty: a metric needs at least one example")
    if n is not None and len(a) != n:
        raise ValueError(f"{name} has {len(a)} entries but y_true has {n}; they must pair up")
    if not np.issubdtype(a.dtype, np.floating):
        raise TypeError(
            f"{name} must be floating-point scores (probabilities or logits), got dtype "
            f"{a.dtype}; hard 0/1 predictions give a one-point curve - convert with "
            ".float() / .astype(float) only if integer scores are really meant"
        )
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains {int((~np.isfinite(a)).sum())} NaN or infinite values")
    return a


def _zero_division(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
        raise TypeError(f"zero_division must be a number (0.0, 1.0 or nan), got {describe(value)}")
    v = float(value)
    if not (math.isnan(v) or v in (0.0, 1.0)):
        raise ValueError(f"zero_division must be 0.0, 1.0 or nan, got {v}")
    return v


def _pos_label(value: Any) -> int:
    return check_int(value, "pos_label", min=0, max=1)


# --- confusion matrix and the metrics derived from it --------------------------------------


def confusion_matrix(y_true: Any, y_pred: Any, labels: Sequence[int] | None = None) -> np.ndarray:
    """Counts ``C[i, j]`` of examples of true class ``labels[i]`` predicted as ``labels[j]``.

    Rows are the truth, columns the prediction (scikit-learn's convention). ``labels``
    defaults to the sorted labels present in either argument. Returns an int64 array of
    shape ``(K, K)``. For two classes 0/1, ``C = [[TN, FP], [FN, TP]]`` (§11.1).
    """
    t = as_labels(y_true, "y_true")
    p = as_labels(y_pred, "y_pred", n=len(t))
    if labels is None:
        lab = np.union1d(t, p)
    else:
        if isinstance(labels, (str, bytes)) or not hasattr(labels, "__len__"):
            raise TypeError(f"labels must be a sequence of ints, got {describe(labels)}")
        lab = as_labels(labels, "labels")
        if len(np.unique(lab)) != len(lab):
            raise ValueError(f"labels must not repeat a value, got {lab.tolist()}")
        missing = np.setdiff1d(np.union1d(t, p), lab)
        if len(missing):
            raise ValueError(
                f"labels omits values present in y_true or y_pred: {missing[:5].tolist()}; "
                "add them (a silently dropped class hides errors)"
            )
    index = {int(v): i for i, v in enumerate(lab)}
    K = len(lab)
    ti = np.array([index[int(v)] for v in t])
    pi = np.array([index[int(v)] for v in p])
    return np.bincount(ti * K + pi, minlength=K * K).reshape(K, K).astype(np.int64)


def accuracy(y_true: Any, y_pred: Any) -> float:
    """The fraction of examples whose predicted label equals the true one."""
    t = as_labels(y_true, "y_true")
    p = as_labels(y_pred, "y_pred", n=len(t))
    return float((t == p).mean())


class PRF(NamedTuple):
    """Precision, recall and F1: floats, or arrays (one per class) for ``average=None``."""

    precision: Any
    recall: Any
    f1: Any


def _safe_ratio(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, zero_division, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def precision_recall_f1(
    y_true: Any,
    y_pred: Any,
    average: str | None = "binary",
    pos_label: int = 1,
    zero_division: float = float("nan"),
) -> PRF:
    """Precision ``TP/(TP+FP)``, recall ``TP/(TP+FN)`` and their harmonic mean F1 (eq. ch11-prf).

    F1 is computed as ``2 TP / (2 TP + FP + FN)``, which equals ``2PR/(P+R)`` whenever both
    are defined and is 0 when ``TP = 0`` but some error was made. ``average``:

    * ``"binary"``: labels must be 0/1; the metrics of class ``pos_label``;
    * ``None``: one value per class (sorted labels), as arrays;
    * ``"macro"``: the unweighted mean of the per-class values (NaN if any is NaN);
    * ``"micro"``: from the counts summed over classes (equals accuracy for single-label data).

    ``zero_division`` is the value of a 0/0 ratio (NaN by default; scikit-learn writes 0.0).
    """
    zd = _zero_division(zero_division)
    average = (
        None if average is None else check_choice(average, "average", ("binary", "macro", "micro"))
    )
    binary = average == "binary"
    t = as_labels(y_true, "y_true", binary=binary)
    p = as_labels(y_pred, "y_pred", n=len(t), binary=binary)
    if binary:
        pl = _pos_label(pos_label)
        tp = float(np.sum((t == pl) & (p == pl)))
        fp = float(np.sum((t != pl) & (p == pl)))
        fn = float(np.sum((t == pl) & (p != pl)))
        prec, rec = _safe_ratio(tp, tp + fp, zd), _safe_ratio(tp, tp + fn, zd)
        f1 = _safe_ratio(2 * tp, 2 * tp + fp + fn, zd)
        return PRF(float(prec), float(rec), float(f1))
    C = confusion_matrix(t, p).astype(np.float64)
    tp = np.diag(C)
    fp = C.sum(axis=0) - tp  # predicted as the class, truly another
    fn = C.sum(axis=1) - tp  # truly the class, predicted as another
    if average == "micro":
        TP, FP, FN = tp.sum(), fp.sum(), fn.sum()
        return PRF(
            float(_safe_ratio(TP, TP + FP, zd)),
            float(_safe_ratio(TP, TP + FN, zd)),
            float(_safe_ratio(2 * TP, 2 * TP + FP + FN, zd)),
        )
    prec = _safe_ratio(tp, tp + fp, zd)
    rec = _safe_ratio(tp, tp + fn, zd)
    f1 = _safe_ratio(2 * tp, 2 * tp + fp + fn, zd)
    if average is None:
        return PRF(prec, rec, f1)
    return PRF(float(prec.mean()), float(rec.mean()), float(f1.mean()))


def f_beta(precision: float, recall: float, beta: float = 1.0) -> float:
    """The weighted *harmonic* mean ``(1 + b^2) P R / (b^2 P + R)`` of precision and recall.

    ``beta = 1`` gives F1, the plain harmonic mean; ``beta > 1`` weights recall more. It is
    0 when either is 0, and never above the arithmetic mean ``(P + R) / 2`` (§11.1).
    """
    P = check_real(precision, "precision", low=0.0, high=1.0)
    R = check_real(recall, "recall", low=0.0, high=1.0)
    b2 = check_positive(beta, "beta") ** 2
    if P == 0.0 and R == 0.0:
        return 0.0
    return (1 + b2) * P * R / (b2 * P + R)


# --- ranking metrics: ROC and precision-recall curves ---------------------------------------


def _binary_counts(y_true: Any, scores: Any, pos_label: int):
    """Cumulative false and true positives at each distinct score, from the highest down.

    Returns ``fps, tps, thresholds`` (length = number of distinct scores): predicting
    "positive" for every score ``>= thresholds[k]`` makes ``fps[k]`` and ``tps[k]`` errors
    and hits. Tied scores are one threshold (they cannot be separated by any cut).
    """
    t = as_labels(y_true, "y_true", binary=True)
    s = as_scores(scores, "scores", n=len(t))
    pos = (t == _pos_label(pos_label)).astype(np.float64)
    order = np.argsort(-s, kind="mergesort")
    s, pos = s[order], pos[order]
    last_of_run = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # the end of each tie block
    tps = np.cumsum(pos)[last_of_run]
    fps = (last_of_run + 1) - tps
    return fps, tps, s[last_of_run]


def roc_curve(y_true: Any, scores: Any, pos_label: int = 1):
    """False- and true-positive rates at every threshold (eq. ch11-roc), highest first.

    Returns ``fpr, tpr, thresholds`` (NumPy arrays), starting at the point (0, 0) with
    threshold ``+inf`` and ending at (1, 1); all thresholds are kept (scikit-learn's
    ``drop_intermediate=False``). Needs both classes in ``y_true`` (``ValueError`` otherwise).
    """
    fps, tps, thr = _binary_counts(y_true, scores, pos_label)
    if tps[-1] == 0 or fps[-1] == 0:
        which = "positive" if tps[-1] == 0 else "negative"
        raise ValueError(
            f"y_true holds no {which} example: the ROC curve divides by the number of "
            f"{which}s, so it is undefined for a single class"
        )
    fpr = np.r_[0.0, fps / fps[-1]]
    tpr = np.r_[0.0, tps / tps[-1]]
    return fpr, tpr, np.r_[np.inf, thr]


def roc_auc(y_true: Any, scores: Any, pos_label: int = 1) -> float:
    """Area under the ROC curve (trapezoids): the probability that a random positive scores
    above a random negative, ties counting one half (eq. ch11-auc)."""
    fpr, tpr, _ = roc_curve(y_true, scores, pos_label)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))  # trapezoids


def precision_recall_curve(y_true: Any, scores: Any, pos_label: int = 1):
    """Precision and recall at every distinct threshold, in scikit-learn's layout.

    Returns ``precision, recall, thresholds`` with thresholds *increasing*; ``precision``
    and ``recall`` have one more entry than ``thresholds``: the final point (recall 0,
    precision 1) that closes the curve. Needs at least one positive (``ValueError``).
    """
    fps, tps, thr = _binary_counts(y_true, scores, pos_label)
    if tps[-1] == 0:
        raise ValueError(
            "y_true holds no positive example: recall divides by the number of positives, "
            "so the precision-recall curve is undefined"
        )
    precision = tps / (tps + fps)  # at least one example is predicted positive at each cut
    recall = tps / tps[-1]
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thr[::-1]


def average_precision(y_true: Any, scores: Any, pos_label: int = 1) -> float:
    """Average precision ``sum_k (R_k - R_{k-1}) P_k`` (eq. ch11-ap): the precision at each
    threshold weighted by the recall it adds; a step function, not trapezoids (trapezoids
    over the PR curve overestimate, because precision is not linear between points)."""
    precision, recall, _ = precision_recall_curve(y_true, scores, pos_label)
    return float(-np.sum(np.diff(recall) * precision[:-1]))
