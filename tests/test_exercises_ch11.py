"""The Chapter 11 exercise checks accept right answers in every common type and name the slips."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats
from sklearn.metrics import roc_auc_score

from companion.exercises import CheckFailed
from companion.exercises.ch11 import check_auc_function, check_cost_threshold, check_mcnemar_p


def _auc(tie=0.5, swap=False):
    def auc(y_true, scores):
        pos, neg = scores[y_true == 1][:, None], scores[y_true == 0][None, :]
        if swap:
            pos, neg = neg, pos
        return float(((pos > neg) + tie * (pos == neg)).mean())

    return auc


def test_auc_right_answers_pass():
    assert check_auc_function(_auc())
    assert check_auc_function(roc_auc_score)  # scikit-learn's answer is right too
    assert check_auc_function(lambda y, s: np.float64(_auc()(y, s)))
    assert check_auc_function(lambda y, s: torch.tensor(_auc()(y, s)))

    def by_ranks(y, s):  # Mann-Whitney: average ranks handle ties
        ranks = stats.rankdata(s)
        n1, n0 = (y == 1).sum(), (y == 0).sum()
        return (ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)

    assert check_auc_function(by_ranks)


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (_auc(tie=0.0), "only strict wins"),
        (_auc(tie=1.0), "tie as a whole win"),
        (_auc(swap=True), "positives should score"),
        (lambda y, s: float(np.mean(s[y == 1])), "auc on 30 examples"),
        (lambda y, s: [0.5, 0.5], "one number"),
        ("auc", "must be a function"),
    ],
)
def test_auc_wrong_answers_fail(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_auc_function(wrong)


@pytest.mark.parametrize(
    "right", [0.2, 1 / 5, np.float64(0.2), np.float32(0.2), torch.tensor(0.2), np.array(0.2)]
)
def test_threshold_right_answers_pass(right):
    assert check_cost_threshold(right)


@pytest.mark.parametrize(
    ("wrong", "message"),
    [(0.8, "swapped"), (0.25, "not the threshold"), (0.5, "equal costs"), (0.3, "expected 0.2")],
)
def test_threshold_wrong_answers_fail(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_cost_threshold(wrong)


P_RIGHT = 2 * stats.binom.cdf(18, 48, 0.5)


@pytest.mark.parametrize(
    "right",
    [
        P_RIGHT,
        float(P_RIGHT),
        np.float64(P_RIGHT),
        torch.tensor(P_RIGHT),
        stats.binomtest(18, 48, 0.5).pvalue,
        round(P_RIGHT, 4),
    ],
)
def test_mcnemar_right_answers_pass(right):
    assert check_mcnemar_p(right)


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (P_RIGHT / 2, "one tail"),
        (stats.chi2.sf((30 - 18) ** 2 / 48, 1), "chi-square"),
        (stats.chi2.sf(11**2 / 48, 1), "chi-square"),
        (0.3578, "independent samples"),  # unpaired z-test of 91.2% against 90.0%
        (1.5, "between 0 and 1"),
        (0.05, "p_value is 0.05"),
    ],
)
def test_mcnemar_wrong_answers_fail(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_mcnemar_p(wrong)
