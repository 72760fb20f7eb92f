"""Checks for the exercises of Chapter 11 (evaluating models for decisions).

* ``ch11-auc-ties``: the area under the ROC curve written as a pairwise comparison, ties
  counting one half (eq. ch11-auc), compared with a reference this module computes itself
  by counting pairs on data it generates.
* ``ch11-cost-threshold``: the threshold of eq. ch11-bayes for a miss costing 20 and a false
  alarm costing 5 (worked answer in the solution).
* ``ch11-mcnemar``: the exact two-sided McNemar p-value for 30 against 18 disagreements
  (eq. ch11-mcnemar), computed here from binomial coefficients.
"""

from __future__ import annotations

import math

import numpy as np

from companion.exercises import CheckFailed, Passed, _as_tensor, expect_close, passed

__all__ = ["check_auc_function", "check_cost_threshold", "check_mcnemar_p"]


def _pairwise_auc(y: np.ndarray, s: np.ndarray, tie: float = 0.5) -> float:
    """P(score of a positive > score of a negative) + tie * P(equal), by counting all pairs."""
    pos, neg = s[y == 1][:, None], s[y == 0][None, :]
    return float(((pos > neg) + tie * (pos == neg)).mean())


def _cases():
    rng = np.random.default_rng(1101)
    for n, decimals in ((30, 1), (200, 2), (7, 0)):
        y = rng.integers(0, 2, n)
        y[:2] = (0, 1)  # both classes present
        s = np.round(rng.random(n) + 0.3 * y, decimals)  # rounding makes ties
        yield y, s


def _one_number(value, what: str) -> float:
    t = _as_tensor(value, what)
    if t.numel() != 1:
        raise CheckFailed(f"{what} should be one number, got shape {tuple(t.shape)}")
    return t.item()


def check_auc_function(auc) -> Passed:
    """Exercise ch11-auc-ties: ``auc(y_true, scores)`` (NumPy int labels 0/1 and float scores)
    returns the ROC AUC, ties between a positive and a negative counting one half."""
    if not callable(auc):
        raise CheckFailed("auc must be a function auc(y_true, scores)")
    for y, s in _cases():
        want = _pairwise_auc(y, s)
        got = _one_number(auc(y.copy(), s.copy()), "auc(y_true, scores)")
        if math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9):  # float32 answers pass
            continue
        if math.isclose(got, _pairwise_auc(y, s, tie=0.0), abs_tol=1e-9):
            raise CheckFailed(
                f"auc is {got:.4f}, expected {want:.4f}: you count only strict wins; a tie "
                "between a positive and a negative counts one half"
            )
        if math.isclose(got, _pairwise_auc(y, s, tie=1.0), abs_tol=1e-9):
            raise CheckFailed(
                f"auc is {got:.4f}, expected {want:.4f}: you count a tie as a whole win "
                "(>=); it counts one half"
            )
        if math.isclose(got, 1 - want, abs_tol=1e-9):
            raise CheckFailed(
                f"auc is {got:.4f}, expected {want:.4f} = 1 - yours: positives should score "
                "*above* negatives"
            )
        expect_close(got, want, f"auc on {len(y)} examples", rtol=1e-6, atol=1e-9,
                     hint="average over all (positive, negative) pairs of "
                     "[s_pos > s_neg] + 0.5 [s_pos == s_neg]")  # fmt: skip
    return passed("your AUC equals the pairwise probability, ties counted one half, on three "
                  "data sets")  # fmt: skip


def check_cost_threshold(threshold) -> Passed:
    """Exercise ch11-cost-threshold: t* = C_FP / (C_FP + C_FN) = 5 / 25 = 0.2."""
    v = _one_number(threshold, "threshold")
    hints = {
        0.8: "that is C_FN / (C_FP + C_FN): the costs are swapped. Acting costs a false alarm "
        "when you are wrong, so a threshold is low when misses are expensive",
        0.25: "C_FP / C_FN compares the costs but is not the threshold: set the two expected "
        "costs p C_FN and (1 - p) C_FP equal",
        0.5: "0.5 is the threshold for equal costs",
    }
    for wrong, hint in hints.items():
        if math.isclose(v, wrong, rel_tol=1e-6):
            raise CheckFailed(f"threshold is {v:g}. Hint: {hint}")
    expect_close(v, 0.2, "threshold", rtol=1e-6,
                 hint="act when p C_FN >= (1 - p) C_FP")  # fmt: skip
    return passed("act when p >= 5 / (5 + 20) = 0.2")


def _binom_cdf_half(k: int, n: int) -> float:
    return sum(math.comb(n, i) for i in range(k + 1)) / 2**n


def check_mcnemar_p(p_value) -> Passed:
    """Exercise ch11-mcnemar: 2 * P[Binomial(48, 1/2) <= 18], the exact two-sided p-value."""
    v = _one_number(p_value, "p_value")
    want = min(1.0, 2 * _binom_cdf_half(18, 48))
    if not 0 <= v <= 1:
        raise CheckFailed(f"p_value is {v:g}; a probability lies between 0 and 1")
    if math.isclose(v, want / 2, rel_tol=1e-3):
        raise CheckFailed(f"p_value is {v:.4g}: that is one tail; the question is two-sided "
                          "(is either model better?), so double it")  # fmt: skip
    chi2_corrected = math.erfc(math.sqrt((abs(30 - 18) - 1) ** 2 / 48 / 2))
    chi2_plain = math.erfc(math.sqrt((30 - 18) ** 2 / 48 / 2))
    for approx in (chi2_corrected, chi2_plain):
        if math.isclose(v, approx, rel_tol=1e-3):
            raise CheckFailed(f"p_value is {v:.4g}: that is the chi-square approximation; "
                              "compute the exact binomial tail")  # fmt: skip
    if v > 0.3:
        raise CheckFailed(
            f"p_value is {v:.4g}: did you compare the two accuracies as if they came from "
            "independent samples? Only the 48 disagreements count"
        )
    expect_close(v, want, "p_value", rtol=1e-3,
                 hint="2 * sum_{i<=18} C(48, i) / 2**48")  # fmt: skip
    return passed(f"p = {want:.4f}: at the 5% level the 12-example lead is not significant")
