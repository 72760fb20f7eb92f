"""Checks for the exercises of Chapter 12 (commercial use cases).

* ``ch12-bm25``: BM25 scores (eq. ch12-bm25) written from scratch, compared with a private
  reference on collections the check generates.
* ``ch12-cost-threshold``: the threshold ``c_FP / (c_FP + c_FN)`` for a miss that costs 20
  false alarms (eq. ch12-bayes-threshold).
* ``ch12-conformal``: the split-conformal 90% half-width from 19 sorted validation errors.
"""

from __future__ import annotations

import math
import random

import numpy as np

from companion.exercises import CheckFailed, Passed, as_integer, expect_close, passed

__all__ = ["check_bm25_scores", "check_screening_threshold", "check_halfwidth_90"]

_WORDS = "loop break continue raise yield class import lambda return assert while try".split()


def _collection(seed: int):
    """A random corpus of token lists and a query of words in fewer than half the documents."""
    rnd = random.Random(seed)
    corpus = [[rnd.choice(_WORDS) for _ in range(rnd.randint(3, 12))] for _ in range(12)]
    df = {w: sum(w in d for d in corpus) for w in _WORDS}
    usable = [w for w in _WORDS if 0 < df[w] < len(corpus) / 2]
    query = [rnd.choice(usable) for _ in range(3)] + [rnd.choice(usable)]
    return corpus, query


def _reference(corpus, query, k1, b):
    n = len(corpus)
    lengths = np.array([len(d) for d in corpus], dtype=float)
    norm = k1 * (1 - b + b * lengths / lengths.mean())
    out = np.zeros(n)
    for q in query:
        f = np.array([d.count(q) for d in corpus], dtype=float)
        n_q = int((f > 0).sum())
        out += math.log((n - n_q + 0.5) / (n_q + 0.5)) * f * (k1 + 1) / (f + norm)
    return out


def check_bm25_scores(bm25_scores) -> Passed:
    """Exercise ch12-bm25: ``bm25_scores(corpus, query, k1, b)`` -> scores ``(N,)``."""
    if not callable(bm25_scores):
        raise CheckFailed("bm25_scores must be a function (corpus, query, k1, b) -> scores")
    for seed, k1, b in ((0, 1.5, 0.75), (1, 1.2, 0.5), (2, 2.0, 1.0)):
        corpus, query = _collection(seed)
        want = _reference(corpus, query, k1, b)
        got = bm25_scores(corpus, query, k1, b)
        try:
            got = np.asarray(got, dtype=float).reshape(-1)
        except (TypeError, ValueError) as err:
            raise CheckFailed("bm25_scores must return one number per document") from err
        if got.shape != want.shape:
            raise CheckFailed(
                f"bm25_scores should return {len(want)} scores (one per document), got {got.size}"
            )
        if np.allclose(got, want, rtol=1e-6, atol=1e-9):
            continue
        ratio = got / np.where(want == 0, np.nan, want)
        if np.isfinite(np.nanmean(ratio)) and np.nanstd(ratio) < 1e-6:
            hint = f"every score is {np.nanmean(ratio):.3g} times the reference: check (k1 + 1)"
        elif b > 0 and np.allclose(got, _reference(corpus, query, k1, 0.0)):
            hint = "no length normalisation: use b and |d| / (average length)"
        else:
            hint = (
                "compare your idf (documents containing the word) and length term with "
                "eq. ch12-bm25"
            )
        expect_close(got, want, f"BM25 scores with k1={k1}, b={b}", rtol=1e-6, atol=1e-9, hint=hint)
    return passed("your BM25 scores equal the reference on three generated collections.")


def check_screening_threshold(value) -> Passed:
    """Exercise ch12-cost-threshold: ``1 / 21`` for c_FN = 20, c_FP = 1."""
    want = 1 / 21
    expect_close(
        value, want, "screening_threshold", rtol=1e-3, atol=1e-6, hint=_threshold_hint(value)
    )
    return passed("positive above 1/21 ≈ 0.048: a miss costs 20 false alarms.")


def _threshold_hint(value) -> str:
    try:
        v = float(np.asarray(value, dtype=float).reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        return ""
    if math.isclose(v, 20 / 21, rel_tol=1e-3):
        return "that is c_FN / (c_FP + c_FN): the costs are swapped"
    if math.isclose(v, 1 / 20, rel_tol=1e-3):
        return "1/20 forgets that the denominator is c_FP + c_FN = 21"
    if math.isclose(v, 0.5, rel_tol=1e-3):
        return "0.5 is right only when both errors cost the same"
    return ""


def check_halfwidth_90(value) -> Passed:
    """Exercise ch12-conformal: the 18th smallest of the errors 1..19, i.e. 18."""
    errors = np.arange(1, 20)
    want = int(errors[math.ceil((len(errors) + 1) * 0.9) - 1])
    try:
        got = as_integer(value, "halfwidth_90")
    except CheckFailed:
        expect_close(
            value,
            want,
            "halfwidth_90",
            hint="the conformal half-width is one of the errors, not an interpolated quantile",
        )
        raise
    if got != want:
        hint = ""
        if got == 17:
            hint = " (that is the ceil(19 * 0.9)-th error: the rule uses m + 1 = 20)"
        elif got == 19:
            hint = " (the 19th error would be the rule for alpha = 0.05)"
        raise CheckFailed(f"halfwidth_90 is {got}, expected {want}{hint}")
    return passed("the 18th smallest error, 18: ceil((19 + 1) * 0.9) = 18.")
