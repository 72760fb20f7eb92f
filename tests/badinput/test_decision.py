"""Bad input to companion.decision: costs that make no decision, swapped arguments, labels that
are not 0/1, seeds of the wrong kind."""

from __future__ import annotations

import numpy as np
import pytest

from companion import decision as d
from tests.badinput.harness import expect_clear_error

Y = np.array([0, 1, 1, 0, 1, 0])
S = np.array([0.1, 0.8, 0.4, 0.3, 0.9, 0.5])

CASES = [
    (lambda: d.bayes_threshold(0, 5), "cost_fp", ValueError),
    (lambda: d.bayes_threshold(1, -5), "cost_fn", ValueError),
    (lambda: d.bayes_threshold(1, 5, cost_tn=2), "cost_fp", ValueError),
    (lambda: d.bayes_threshold(1, 5, cost_tp=6), "cost_fn", ValueError),
    (lambda: d.bayes_threshold(float("nan"), 5), "cost_fp", ValueError),
    (lambda: d.bayes_threshold("1", 5), "cost_fp", TypeError),
    (lambda: d.bayes_threshold(1, True), "cost_fn", TypeError),
    (lambda: d.cost_optimal_threshold(Y, S, 1, 5), "y_true", TypeError),  # swapped
    (lambda: d.cost_optimal_threshold(S[:3], Y, 1, 5), "probs", ValueError),
    (lambda: d.cost_optimal_threshold(np.r_[S[:-1], np.nan], Y, 1, 5), "probs", ValueError),
    (lambda: d.cost_optimal_threshold(S.astype(int), Y, 1, 5), "probs", TypeError),
    (lambda: d.cost_optimal_threshold(S, Y + 1, 1, 5), "y_true", ValueError),
    (lambda: d.cost_optimal_threshold(S, Y, 1, float("inf")), "cost_fn", ValueError),
    (lambda: d.cost_by_threshold(np.r_[S[:-1], np.nan], Y, 1, 5), "scores", ValueError),
    (lambda: d.expected_cost(Y, S, 1, 5), "y_pred", TypeError),  # probabilities as decisions
    (lambda: d.expected_cost(Y, Y * 2, 1, 5), "y_pred", ValueError),
    (lambda: d.expected_cost(Y, Y, cost_fp=None, cost_fn=5), "cost_fp", TypeError),
    (lambda: d.balanced_class_weights(Y.astype(float)), "y", TypeError),
    (lambda: d.balanced_class_weights(Y - 1), "y", ValueError),
    (lambda: d.balanced_class_weights(Y, num_classes=1), "num_classes", ValueError),
    (lambda: d.balanced_class_weights(Y, num_classes=3), "y", ValueError),
    (lambda: d.oversample_indices(Y, seed=-1), "seed", ValueError),
    (lambda: d.oversample_indices(Y, seed=1.5), "seed", TypeError),
    (lambda: d.undersample_indices([], seed=0), "y", ValueError),
    (lambda: d.undersample_indices(Y.reshape(2, 3)), "y", ValueError),
]


@pytest.mark.parametrize(("call", "name", "kind"), CASES)
def test_bad_input_is_a_clear_error(call, name, kind):
    expect_clear_error(call, name, kind=kind)


def test_lists_are_accepted_with_the_same_answer():
    assert d.cost_optimal_threshold(S.tolist(), Y.tolist(), 1, 5) == d.cost_optimal_threshold(
        S, Y, 1, 5
    )
