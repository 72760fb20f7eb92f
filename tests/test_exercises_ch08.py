"""The Chapter 8 exercise checks accept right answers and name the usual slips."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from companion.exercises import CheckFailed
from companion.exercises.ch08 import check_adam_update, check_first_step_ratio, check_kept_value


def _adam(correct=True, t_offset=0, eps_inside=False, sign=1.0, swap_betas=False):
    def adam_update(param, grad, m, v, t, lr, beta1, beta2, eps):
        if swap_betas:
            beta1, beta2 = beta2, beta1
        t = t + t_offset
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
        m_hat = m / (1 - beta1**t) if correct else m
        v_hat = v / (1 - beta2**t) if correct else v
        denom = (v_hat + eps).sqrt() if eps_inside else v_hat.sqrt() + eps
        return param - sign * lr * m_hat / denom, m, v

    return adam_update


def test_adam_right_answer_passes():
    assert check_adam_update(_adam())


def test_adam_numpy_implementation_passes():
    def adam_np(param, grad, m, v, t, lr, beta1, beta2, eps):
        p, g = np.asarray(param), np.asarray(grad)
        m = beta1 * np.asarray(m) + (1 - beta1) * g
        v = beta2 * np.asarray(v) + (1 - beta2) * g**2
        step = lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
        return p - step, m, v

    assert check_adam_update(adam_np)


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (_adam(correct=False), "forgot the bias correction"),
        (_adam(sign=-1.0), "wrong sign"),
        (_adam(t_offset=-1), "t counts from 1"),
        (_adam(t_offset=1), "param after step 1"),
        (_adam(swap_betas=True), "param after step 2"),  # step 1 is lr * sign(g) for any betas
    ],
)
def test_adam_wrong_answers_fail(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_adam_update(wrong)


def test_adam_bad_return():
    with pytest.raises(CheckFailed, match="tuple"):
        check_adam_update(lambda *args: args[0])
    with pytest.raises(CheckFailed, match="function"):
        check_adam_update(3)


RIGHT_RATIO = (1 - 0.9) / math.sqrt(1 - 0.99)


@pytest.mark.parametrize(
    "answer",
    [1, 1.0, RIGHT_RATIO, np.float64(RIGHT_RATIO), np.int64(1), torch.tensor(1.0),
     torch.tensor(RIGHT_RATIO, dtype=torch.float64), np.array(1.0), [1.0]],
)  # fmt: skip
def test_first_step_right_answers(answer):
    assert check_first_step_ratio(answer)


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        ((1 - 0.9) / math.sqrt(1 - 0.999), "default beta2"),
        (10.0, "momentum"),
        (0.1 / 0.01, "square root of v"),
        (0.5, "expected 1"),
    ],
)
def test_first_step_wrong_answers(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_first_step_ratio(wrong)


def test_first_step_shape():
    with pytest.raises(CheckFailed, match="one number"):
        check_first_step_ratio([1.0, 1.0])


@pytest.mark.parametrize(
    "answer",
    [4, 4.0, 3 / 0.75, np.int64(4), np.float64(4.0), torch.tensor(4), torch.tensor(4.0),
     np.array(4.0), [4.0]],
)  # fmt: skip
def test_kept_value_right(answer):
    assert check_kept_value(answer)


@pytest.mark.parametrize(
    ("wrong", "message"),
    [(3, "scaled by 1 / \\(1 - p\\)"), (2.25, "inverted dropout divides"), (12, "not by p"),
     (0.75, "expected 4")],
)  # fmt: skip
def test_kept_value_wrong(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_kept_value(wrong)
