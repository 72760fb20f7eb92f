"""Error and selection rates by group, and what a threshold does to them (Chapter 12, §12.3).

A model that scores people (for credit, hiring, care) makes different kinds of mistakes
for different groups, even when the group attribute is not an input: groups differ in
their base rates and in how their features are distributed. Writing ``yhat = 1`` when
the score is at least the threshold, for each group ``g``:

* selection rate ``P(yhat = 1 | g)`` (demographic parity compares these);
* true-positive rate ``P(yhat = 1 | y = 1, g)`` (equal opportunity compares these);
* false-positive rate ``P(yhat = 1 | y = 0, g)`` (equalised odds compares TPR and FPR);
* precision ``P(y = 1 | yhat = 1, g)`` (predictive parity).

When base rates differ, no threshold equalises all of them at once (Chouldechova 2017;
Kleinberg, Mullainathan and Raghavan 2017): choosing which gap to close is a policy choice,
not a technical one. :func:`group_rates` and :func:`threshold_sweep` make the trade-off
visible; they agree with ``fairlearn``'s ``MetricFrame`` (``tests/test_fairness.py``).

Input policy: ``y_true``, ``score`` and ``group`` are **converted** (1-D NumPy arrays,
lists, pandas Series or tensors); ``y_true`` must hold only 0 and 1 (or booleans), ``score``
finite real numbers, ``group`` hashable labels; all three must have the same length.
A rate whose denominator is empty (a group with no positives) is NaN, never 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from companion.validation import check_array_1d, check_real, describe


def _inputs(y_true, score, group):
    y = check_array_1d(y_true, "y_true")
    s = check_array_1d(score, "score")
    g = check_array_1d(group, "group")
    if not (len(y) == len(s) == len(g)):
        raise ValueError(
            f"y_true, score and group must have the same length, got {len(y)}, {len(s)}, {len(g)}"
        )
    if y.dtype.kind not in "biuf" or not np.isin(y, (0, 1)).all():
        raise ValueError(f"y_true must hold only 0 and 1, got values {np.unique(y)[:5]}")
    if s.dtype.kind not in "iuf":
        raise TypeError(f"score must hold real numbers, got dtype {s.dtype}")
    s = s.astype(np.float64)
    if not np.isfinite(s).all():
        raise ValueError(f"score contains {int((~np.isfinite(s)).sum())} NaN or infinite values")
    return y.astype(np.int64), s, g


def _rate(num: int, den: int) -> float:
    return num / den if den else float("nan")


def group_rates(y_true, score, group, threshold: float = 0.5) -> pd.DataFrame:
    """One row per group (sorted), and a last row ``"all"``; predicted positive where
    ``score >= threshold``. Columns: ``n``, ``base_rate``, ``selection_rate``, ``tpr``,
    ``fpr``, ``precision``."""
    y, s, g = _inputs(y_true, score, group)
    t = check_real(threshold, "threshold")
    pred = s >= t
    rows = {}
    labels = sorted(pd.unique(g), key=str)
    for label, mask in [*((lab, g == lab) for lab in labels), ("all", np.ones(len(y), bool))]:
        yy, pp = y[mask], pred[mask]
        tp, fp = int((pp & (yy == 1)).sum()), int((pp & (yy == 0)).sum())
        pos, neg = int((yy == 1).sum()), int((yy == 0).sum())
        rows[label] = {
            "n": int(mask.sum()),
            "base_rate": pos / len(yy),
            "selection_rate": pp.mean(),
            "tpr": _rate(tp, pos),
            "fpr": _rate(fp, neg),
            "precision": _rate(tp, tp + fp),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def rate_gaps(table: pd.DataFrame) -> dict[str, float]:
    """Largest minus smallest of each rate across the groups of a :func:`group_rates`
    table (the ``"all"`` row left out): ``selection_rate`` (demographic-parity difference),
    ``tpr`` (equal-opportunity difference), ``fpr``, ``precision``."""
    if not isinstance(table, pd.DataFrame) or "selection_rate" not in table:
        raise TypeError(f"table must be a group_rates() DataFrame, got {describe(table)}")
    groups = table.drop(index="all", errors="ignore")
    cols = ("selection_rate", "tpr", "fpr", "precision")
    return {c: float(groups[c].max() - groups[c].min()) for c in cols}


def threshold_sweep(y_true, score, group, thresholds) -> pd.DataFrame:
    """:func:`group_rates` for each threshold, stacked: a long table with columns
    ``threshold``, ``group`` and the rates."""
    ts = check_array_1d(thresholds, "thresholds")
    if ts.dtype.kind not in "iuf":
        raise TypeError(f"thresholds must hold real numbers, got dtype {ts.dtype}")
    parts = []
    for t in ts:
        tab = group_rates(y_true, score, group, float(t))
        parts.append(tab.rename_axis("group").reset_index().assign(threshold=float(t)))
    return pd.concat(parts, ignore_index=True)


def threshold_for_selection_rate(score, target_rate: float) -> float:
    """The threshold at which a fraction ``target_rate`` of ``score`` is selected (at least
    that many, the smallest threshold of the form ``score[i]``): per-group thresholds that
    equalise selection rates are built from it."""
    s = check_array_1d(score, "score")
    if s.dtype.kind not in "iuf":
        raise TypeError(f"score must hold real numbers, got dtype {s.dtype}")
    r = check_real(target_rate, "target_rate", low=0.0, high=1.0, low_open=True)
    k = int(np.ceil(r * len(s)))
    return float(np.sort(s)[::-1][k - 1])
