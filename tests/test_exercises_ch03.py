"""The Chapter 3 exercise checks accept right answers in every numeric type and name the
usual slips (each check with at least two plausible wrong answers)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion import linear
from companion.exercises import CheckFailed
from companion.exercises.ch03 import (
    RESCALE_FACTOR,
    check_rescale_prediction,
    check_ridge_gradient,
    check_ridge_learning_rate,
    check_source_rule_fixed,
)


def _ridge_rate(kind="right", out=float):
    def rate(X, lam):
        A = torch.cat([torch.ones(len(X), 1, dtype=X.dtype), X], dim=1)
        pen = torch.ones(A.shape[1], dtype=X.dtype)
        pen[0] = 0.0 if kind != "bias" else 1.0
        lam_eff = {"no_penalty": 0.0, "half": lam / 2}.get(kind, lam)
        H = 2.0 / len(A) * A.T @ A + 2.0 * lam_eff * torch.diag(pen)
        value = 2.0 / torch.linalg.eigvalsh(H)[-1]
        if kind == "one_over":
            value = value / 2
        return out(value.item()) if out is not torch.tensor else value

    return rate


@pytest.mark.parametrize("out", [float, np.float64, torch.tensor, lambda v: np.array(v)])
def test_ridge_rate_right_in_every_type(out):
    assert check_ridge_learning_rate(_ridge_rate("right", out))


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("no_penalty", "adds 2 \\* lam to the Hessian"),
        ("half", "is 2 \\* lam, not lam"),
        ("bias", "bias is not penalised"),
        ("one_over", "not 1 / lambda_max"),
    ],
)
def test_ridge_rate_wrong_answers(kind, message):
    with pytest.raises(CheckFailed, match=message):
        check_ridge_learning_rate(_ridge_rate(kind))


def test_ridge_rate_cannot_be_passed_with_the_chapter_helper():
    with pytest.raises(CheckFailed, match="penalty"):
        check_ridge_learning_rate(lambda X, lam: linear.max_stable_learning_rate(X))
    with pytest.raises(CheckFailed, match="your function itself"):
        check_ridge_learning_rate(0.01)


def _ridge_grad(kind="right", out=lambda t: t):
    def grad(X, y, w, b, lam):
        r = X @ w + b - y
        n = len(y)
        gw = 2.0 / n * X.T @ r + 2.0 * lam * w
        if kind == "no_penalty":
            gw = 2.0 / n * X.T @ r
        if kind == "half_penalty":
            gw = 2.0 / n * X.T @ r + lam * w
        if kind == "no_two":
            gw = 1.0 / n * X.T @ r + 2.0 * lam * w
        gb = 2.0 / n * r.sum() + (2 * lam * b if kind == "bias" else 0.0)
        return out(gw), out(gb)

    return grad


@pytest.mark.parametrize("out", [lambda t: t, lambda t: t.numpy(), lambda t: t.tolist()])
def test_ridge_gradient_right_in_every_type(out):
    assert check_ridge_gradient(_ridge_grad("right", out))


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("no_penalty", "adds 2 \\* lam \\* w"),
        ("half_penalty", "is 2 \\* lam \\* w, not lam \\* w"),
        ("no_two", "brings down a factor 2"),
        ("bias", "the penalty does not touch b"),
    ],
)
def test_ridge_gradient_wrong_answers(kind, message):
    with pytest.raises(CheckFailed, match=message):
        check_ridge_gradient(_ridge_grad(kind))


@pytest.mark.parametrize(
    "answer", [0.01, 1 / 100, np.float64(0.01), torch.tensor(0.01), np.array(0.01), [0.01]]
)
def test_rescale_right_in_every_type(answer):
    assert check_rescale_prediction(answer)
    assert RESCALE_FACTOR == 0.01


@pytest.mark.parametrize(
    ("answer", "message"),
    [(0.1, "quadratic"), (100, "smaller"), (10, "smaller"), (1, "largest eigenvalue"),
     (0.5, "expected 0.01"), (True, "bool")],
)  # fmt: skip
def test_rescale_wrong_answers(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check_rescale_prediction(answer)


def test_rescale_answer_is_true_on_the_chapter_data():
    """The worked answer: on the ten standardised diabetes features the factor is 1/100."""
    from sklearn.datasets import load_diabetes

    X = torch.tensor(load_diabetes(scaled=False).data, dtype=torch.float64)
    X = (X - X.mean(0)) / X.std(0)
    ratio = linear.max_stable_learning_rate(10 * X) / linear.max_stable_learning_rate(X)
    assert ratio == pytest.approx(RESCALE_FACTOR, rel=1e-9)


@pytest.mark.parametrize(
    ("lr", "epochs"), [(0.05, 300), (np.float64(0.1), np.int64(300)), (torch.tensor(0.1), 300)]
)
def test_source_rule_right_in_every_type(lr, epochs):
    assert check_source_rule_fixed(lr, epochs)


@pytest.mark.parametrize(
    ("lr", "epochs", "message"),
    [(1.0, 10, "blow up"), (0.3, 50, "blow up"), (0.001, 2, "more epochs"),
     (0.05, 0, "positive int"), (0.05, 2.5, "positive int"), (-0.1, 10, "positive number")],
)  # fmt: skip
def test_source_rule_wrong_answers(lr, epochs, message):
    with pytest.raises(CheckFailed, match=message):
        check_source_rule_fixed(lr, epochs)
