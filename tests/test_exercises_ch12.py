"""The Chapter 12 exercise checks accept right answers in every common type and name the slips."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest
import torch

from companion.exercises import CheckFailed
from companion.exercises.ch12 import (
    check_bm25_scores,
    check_halfwidth_90,
    check_screening_threshold,
)


def _bm25(plus_one=True, length_norm=True, df_from_counts=False, as_type=np.asarray):
    def bm25_scores(corpus, query, k1=1.5, b=0.75):
        counts = [Counter(d) for d in corpus]
        n = len(corpus)
        lengths = np.array([len(d) for d in corpus], dtype=float)
        out = np.zeros(n)
        for q in query:
            n_q = sum(c[q] for c in counts) if df_from_counts else sum(q in c for c in counts)
            idf = np.log((n - n_q + 0.5) / (n_q + 0.5))
            f = np.array([c[q] for c in counts], dtype=float)
            norm = k1 * (1 - b + b * lengths / lengths.mean()) if length_norm else k1
            out += idf * f * ((k1 + 1) if plus_one else 1.0) / (f + norm)
        return as_type(out)

    return bm25_scores


def test_bm25_right_answer_passes_in_several_types():
    assert check_bm25_scores(_bm25())
    assert check_bm25_scores(_bm25(as_type=list))
    assert check_bm25_scores(_bm25(as_type=torch.tensor))


def test_bm25_independent_rank_bm25_wrapper_passes():
    rank_bm25 = pytest.importorskip("rank_bm25")

    def via_library(corpus, query, k1, b):
        return rank_bm25.BM25Okapi(corpus, k1=k1, b=b).get_scores(query)

    assert check_bm25_scores(via_library)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (_bm25(plus_one=False), "times the reference: check (k1 + 1)"),
        (_bm25(length_norm=False), "no length normalisation"),
        (_bm25(df_from_counts=True), "compare your idf"),
    ],
    ids=["missing-k1-plus-one", "no-length-normalisation", "idf-from-total-counts"],
)
def test_bm25_wrong_answers_fail_with_a_useful_message(wrong, message):
    with pytest.raises(CheckFailed, match=re.escape(message)):
        check_bm25_scores(wrong)


def test_bm25_shape_and_type_errors():
    with pytest.raises(CheckFailed, match="one per document"):
        check_bm25_scores(lambda corpus, query, k1, b: np.zeros(3))
    with pytest.raises(CheckFailed, match="must be a function"):
        check_bm25_scores(0.5)


@pytest.mark.parametrize(
    "value",
    [1 / 21, np.float64(1 / 21), torch.tensor(1 / 21), np.array(1 / 21), 0.047619],
    ids=["float", "np.float64", "tensor", "0-d array", "rounded"],
)
def test_screening_threshold_right_answers(value):
    assert check_screening_threshold(value)


@pytest.mark.parametrize(
    "value, message",
    [(20 / 21, "costs are swapped"), (1 / 20, "denominator"), (0.5, "both errors cost the same")],
)
def test_screening_threshold_wrong_answers(value, message):
    with pytest.raises(CheckFailed, match=message):
        check_screening_threshold(value)


@pytest.mark.parametrize(
    "value",
    [18, 18.0, np.int64(18), np.float64(18.0), torch.tensor(18), np.array(18), [18]],
    ids=["int", "float", "np.int64", "np.float64", "tensor", "0-d array", "list"],
)
def test_halfwidth_right_answers(value):
    assert check_halfwidth_90(value)


@pytest.mark.parametrize(
    "value, message",
    [(17, "m \\+ 1 = 20"), (19, "alpha = 0.05"), (17.2, "not an interpolated")],
)
def test_halfwidth_wrong_answers(value, message):
    with pytest.raises(CheckFailed, match=message):
        check_halfwidth_90(value)
