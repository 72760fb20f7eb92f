"""Bad input to the Chapter 12 modules (retrieval, fairness, anomaly, use_cases): each case
is a clear error naming the argument, or an accepted conversion that gives the right answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from companion import anomaly as an
from companion import fairness as fa
from companion import retrieval as rt
from companion import use_cases as uc
from tests.badinput.harness import expect_clear_error

PASSAGES = ["the cat sat on the mat", "dogs bark at night", "markets fell today", "cats purr"]
R = rt.Retriever(PASSAGES)
Y = np.array([0, 1, 1, 0, 1, 0, 0, 1])
P = np.array([0.1, 0.8, 0.6, 0.3, 0.9, 0.2, 0.55, 0.4])
G = np.array(["a", "a", "b", "b", "a", "b", "a", "b"])
X = np.random.default_rng(0).normal(size=(30, 3))
SERIES = 100 + 10 * np.sin(np.arange(120) * np.pi / 6) + np.random.default_rng(1).normal(size=120)

RETRIEVAL = [
    (lambda: rt.Retriever("one long string"), "passages", TypeError),
    (lambda: rt.Retriever([]), "passages", ValueError),
    (lambda: rt.Retriever(["ok", 3]), "passages[1]", TypeError),
    (lambda: rt.Retriever(np.array(["a", "b"])), "passages", TypeError),
    (lambda: rt.Retriever(PASSAGES, method="bm42"), "method", ValueError),
    (lambda: rt.Retriever(PASSAGES, method=None), "method", TypeError),
    (lambda: rt.Retriever(PASSAGES, k1=-1.0), "k1", ValueError),
    (lambda: rt.Retriever(PASSAGES, k1=0), "k1", ValueError),
    (lambda: rt.Retriever(PASSAGES, k1=float("nan")), "k1", ValueError),
    (lambda: rt.Retriever(PASSAGES, b=1.5), "b", ValueError),
    (lambda: rt.Retriever(PASSAGES, b="0.75"), "b", TypeError),
    (lambda: rt.Retriever(PASSAGES, epsilon=-0.1), "epsilon", ValueError),
    (lambda: R.search(["cat"], 2), "query", TypeError),
    (lambda: R.search(b"cat", 2), "query", TypeError),
    (lambda: R.search("cat", 0), "k", ValueError),
    (lambda: R.search("cat", 2.0), "k", TypeError),
    (lambda: R.search("cat", True), "k", TypeError),
    (lambda: R.scores(None), "query", TypeError),
    (lambda: R.max_score(3), "query", TypeError),
    (lambda: rt.tokenize(None), "text", TypeError),
    (lambda: rt.tokenize("x", drop_stop_words="no"), "drop_stop_words", TypeError),
    (lambda: rt.split_passages(["a", "b"]), "documents", TypeError),
    (lambda: rt.split_passages({"a": 1}), "documents['a']", TypeError),
    (lambda: rt.split_passages({"a": "x"}, max_words=0), "max_words", ValueError),
    (lambda: rt.recall_at_k([["a"]], [{"a"}, {"b"}], 1), "retrieved", ValueError),
    (lambda: rt.recall_at_k([["a"]], [{"a"}], 0), "k", ValueError),
    (lambda: rt.recall_at_k([], [], 1), "relevant", ValueError),
    (lambda: rt.recall_at_k([["a"]], [set()], 1), "relevant[0]", ValueError),
    (lambda: rt.recall_at_k(["ab"], [{"a"}], 1), "retrieved[0]", TypeError),
    (lambda: rt.extractive_answer(PASSAGES, PASSAGES, "cat"), "retriever", TypeError),
    (lambda: rt.extractive_answer(R, PASSAGES[:2], "cat"), "passages", ValueError),
    (lambda: rt.extractive_answer(R, "cat", "cat"), "passages", TypeError),
    (
        lambda: rt.extractive_answer(R, PASSAGES, "cat", min_relative_score=1.5),
        "min_relative_score",
        ValueError,
    ),
    (
        lambda: rt.extractive_answer(R, PASSAGES, "cat", max_sentences=0),
        "max_sentences",
        ValueError,
    ),
    (lambda: rt.extractive_answer(R, PASSAGES, 42), "query", TypeError),
    (lambda: rt.build_prompt("", PASSAGES), "question", ValueError),
    (lambda: rt.build_prompt(None, PASSAGES), "question", TypeError),
    (lambda: rt.build_prompt("Why?", "one passage"), "passages", TypeError),
    (lambda: rt.build_prompt("Why?", [1, 2]), "passages[0]", TypeError),
    (lambda: rt.build_prompt("Why?", PASSAGES, rules=None), "rules", TypeError),
]

FAIRNESS = [
    (lambda: fa.group_rates(Y[:5], P, G), "y_true", ValueError),
    (lambda: fa.group_rates(Y * 2, P, G), "y_true", ValueError),
    (lambda: fa.group_rates(Y, P.reshape(2, 4), G), "score", ValueError),
    (lambda: fa.group_rates(Y, np.r_[P[:-1], np.nan], G), "score", ValueError),
    (lambda: fa.group_rates(Y, G, G), "score", TypeError),
    (lambda: fa.group_rates(Y, P, G, threshold=float("inf")), "threshold", ValueError),
    (lambda: fa.group_rates(Y, P, G, threshold="0.5"), "threshold", TypeError),
    (lambda: fa.group_rates(Y, P, "a"), "group", TypeError),
    (lambda: fa.group_rates([], [], []), "y_true", ValueError),
    (lambda: fa.rate_gaps({"selection_rate": 1}), "table", TypeError),
    (lambda: fa.threshold_sweep(Y, P, G, 0.5), "thresholds", TypeError),
    (lambda: fa.threshold_sweep(Y, P, G, ["a"]), "thresholds", TypeError),
    (lambda: fa.threshold_for_selection_rate(P, 0.0), "target_rate", ValueError),
    (lambda: fa.threshold_for_selection_rate(P, 1.2), "target_rate", ValueError),
]

ANOMALY = [
    (lambda: an.mahalanobis_sq(X[:, 0]), "X", ValueError),
    (lambda: an.mahalanobis_sq(X[:3]), "X", ValueError),
    (lambda: an.mahalanobis_sq(X > 0), "X", TypeError),
    (lambda: an.mahalanobis_sq(np.r_[X, [[np.nan] * 3]]), "X", ValueError),
    (lambda: an.mahalanobis_sq(X, np.zeros(2)), "center", ValueError),
    (lambda: an.mahalanobis_sq(X, covariance=np.eye(2)), "covariance", ValueError),
    (lambda: an.mahalanobis_sq("X"), "X", TypeError),
    (lambda: an.robust_mahalanobis_sq(X, random_state=-1), "random_state", ValueError),
    (lambda: an.chi2_cutoff(0), "d", ValueError),
    (lambda: an.chi2_cutoff(3, 1.0), "quantile", ValueError),
    (lambda: an.robust_zscores(np.ones(5)), "x", ValueError),
    (lambda: an.robust_zscores(X), "x", ValueError),
    (lambda: an.inject_faults(P, 0, 1.0), "n_faults", ValueError),
    (lambda: an.inject_faults(P, 20, 1.0), "n_faults", ValueError),
    (lambda: an.inject_faults(P, 2, -1.0), "size", ValueError),
    (lambda: an.inject_faults(P, 2, 1.0, seed=1.5), "seed", TypeError),
    (lambda: an.inject_faults(P, 2, 1.0, start=-1), "start", ValueError),
    (lambda: an.detection_rates(Y, Y), "flags", TypeError),
    (lambda: an.online_seasonal_flags(SERIES, 30, calibration=60), "start", ValueError),
    (lambda: an.online_seasonal_flags(SERIES, 100, 12, 0.0), "cutoff", ValueError),
    (lambda: an.online_seasonal_flags(SERIES, 100, 0), "season", ValueError),
    (lambda: an.online_seasonal_flags(SERIES, 100, 12, 3.5, 0), "calibration", ValueError),
    (lambda: an.online_seasonal_flags(SERIES, 100.0), "start", TypeError),
    (lambda: an.online_seasonal_flags(SERIES.reshape(10, 12), 100), "series", ValueError),
    (lambda: an.online_seasonal_flags(np.ones(120), 100), "calibration", ValueError),
    (lambda: an.detection_rates(Y == 1, Y[:3]), "flags", ValueError),
    (lambda: an.detection_rates(Y == 1, Y * 2), "labels", ValueError),
]

USE_CASES = [
    (lambda: uc.expected_cost(Y, (P > 0.5).astype(int), -1, 1), "cost_fn", ValueError),
    (lambda: uc.expected_cost(Y, (P > 0.5).astype(int), 0, 0), "cost_fn", ValueError),
    (lambda: uc.expected_cost(Y, (P > 0.5).astype(int), float("nan"), 1), "cost_fn", ValueError),
    (lambda: uc.expected_cost(Y, P, 1, 1), "y_pred", ValueError),
    (lambda: uc.expected_cost(Y, Y[:3], 1, 1), "y_true", ValueError),
    (lambda: uc.cost_optimal_threshold(Y, P * 100, 1, 1), "proba", ValueError),
    (lambda: uc.cost_optimal_threshold(Y, P > 0.5, 1, 1), "proba", TypeError),
    (lambda: uc.cost_optimal_threshold(Y, P[:4], 1, 1), "y_true", ValueError),
    (lambda: uc.cost_optimal_threshold(Y - 1, P, 1, 1), "y_true", ValueError),
    (lambda: uc.cost_optimal_threshold(Y, P, "10", 1), "cost_fn", TypeError),
    (lambda: uc.bayes_threshold(1, -2), "cost_fp", ValueError),
    (lambda: uc.recall_first_threshold(Y, P, 0.0), "min_recall", ValueError),
    (lambda: uc.recall_first_threshold(Y, P, 95), "min_recall", ValueError),
    (lambda: uc.recall_first_threshold(np.zeros(8, int), P, 0.9), "y_true", ValueError),
    (lambda: uc.recall_first_threshold(Y, P.reshape(2, 4), 0.9), "proba", ValueError),
    (lambda: uc.simulate_credit(0), "n", ValueError),
    (lambda: uc.simulate_credit(100, seed=-1), "seed", ValueError),
    (lambda: uc.simulate_credit(100.0), "n", TypeError),
    (lambda: uc.conformal_halfwidth(P, 0.0), "alpha", ValueError),
    (lambda: uc.conformal_halfwidth(P, 1.0), "alpha", ValueError),
    (lambda: uc.conformal_halfwidth(P, 0.01), "residuals", ValueError),
    (lambda: uc.conformal_halfwidth(np.r_[P, np.inf], 0.5), "residuals", ValueError),
    (lambda: uc.conformal_halfwidth("abc", 0.1), "residuals", TypeError),
    (lambda: uc.interval_coverage(P, P - 1, P), "lower", ValueError),
    (lambda: uc.interval_coverage(P, P, P[:3]), "lower", ValueError),
]


@pytest.mark.parametrize("call, name, kind", RETRIEVAL + FAIRNESS + ANOMALY + USE_CASES)
def test_bad_input_is_a_clear_error(call, name, kind):
    expect_clear_error(call, name, kind=kind)


def test_accepted_conversions_give_the_same_answer():
    ref = uc.recall_first_threshold(Y, P, 0.75)
    assert uc.recall_first_threshold(
        torch.tensor(Y), torch.tensor(P, dtype=torch.float32), 0.75
    ) == pytest.approx(ref)
    assert uc.recall_first_threshold(pd.Series(Y), list(P), np.float32(0.75)) == ref
    assert uc.expected_cost(Y.astype(bool), P > 0.5, 5, np.int64(1)) == uc.expected_cost(
        Y, (P > 0.5).astype(int), 5, 1
    )
    np.testing.assert_allclose(an.mahalanobis_sq(X.tolist()), an.mahalanobis_sq(X))
    np.testing.assert_allclose(
        an.mahalanobis_sq(torch.tensor(X, dtype=torch.float32)), an.mahalanobis_sq(X), rtol=1e-5
    )
    assert fa.group_rates(list(Y), torch.tensor(P), list(G)).equals(fa.group_rates(Y, P, G))
    assert R.search("cat", np.int64(2)) == R.search("cat", 2)
    assert rt.Retriever([rt.Passage("t", p) for p in PASSAGES]).search("cat", 2) == R.search(
        "cat", 2
    )
