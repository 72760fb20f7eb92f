"""The Chapter 14b exercise checks accept right answers in every common type and name the
usual slips."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from companion.exercises import CheckFailed
from companion.exercises.ch14b import (
    check_dpo,
    check_lsh_probability,
    check_returns,
    check_singleton_survival,
)

# --- ch14b-returns -----------------------------------------------------------------------------


def returns_loop(rewards, gamma):
    out = torch.empty_like(rewards)
    running = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


def returns_numpy(rewards, gamma):
    r = np.asarray(rewards, dtype=np.float64)
    return np.array([sum(gamma**k * r[t + k] for k in range(len(r) - t)) for t in range(len(r))])


def returns_list(rewards, gamma):
    return returns_numpy(rewards, gamma).tolist()


def returns_forward(rewards, gamma):
    out, running = [], 0.0
    for r in rewards.tolist():
        running = r + gamma * running
        out.append(running)
    return torch.tensor(out)


def returns_without_own_reward(rewards, gamma):
    g = returns_loop(rewards, gamma)
    return torch.cat([g[1:], torch.zeros(1)])


def returns_undiscounted(rewards, gamma):
    return returns_loop(rewards, 1.0)


@pytest.mark.parametrize("fn", [returns_loop, returns_numpy, returns_list])
def test_returns_right_answers_pass(fn):
    assert check_returns(fn)


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (returns_forward, "accumulated from the start"),
        (returns_without_own_reward, "must include r_t"),
        (returns_undiscounted, "returns for rewards"),
        (lambda r, g: returns_loop(r, g)[:-1], "should return shape"),
        (lambda r, g: None, "returned None"),
    ],
)
def test_returns_wrong_answers_fail(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_returns(wrong)


def test_returns_not_a_function():
    with pytest.raises(CheckFailed, match="must be a function"):
        check_returns([1.0, 0.5])


# --- ch14b-dpo ---------------------------------------------------------------------------------


def dpo_right(pc, pr, rc, rr, beta):
    return -F.logsigmoid(beta * ((pc - rc) - (pr - rr))).mean()


def dpo_numpy(pc, pr, rc, rr, beta):
    z = beta * ((np.asarray(pc) - np.asarray(rc)) - (np.asarray(pr) - np.asarray(rr)))
    return float(np.mean(np.logaddexp(0.0, -z)))


def dpo_naive(pc, pr, rc, rr, beta):
    return -torch.log(torch.sigmoid(beta * ((pc - rc) - (pr - rr)))).mean()


def dpo_no_reference(pc, pr, rc, rr, beta):
    return -F.logsigmoid(beta * (pc - pr)).mean()


def dpo_swapped(pc, pr, rc, rr, beta):
    return -F.logsigmoid(beta * ((pr - rr) - (pc - rc))).mean()


def dpo_beta_outside(pc, pr, rc, rr, beta):
    return -beta * F.logsigmoid((pc - rc) - (pr - rr)).mean()


def dpo_sum(pc, pr, rc, rr, beta):
    return -F.logsigmoid(beta * ((pc - rc) - (pr - rr))).sum()


@pytest.mark.parametrize("fn", [dpo_right, dpo_numpy])
def test_dpo_right_answers_pass(fn):
    assert check_dpo(fn)


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (dpo_naive, "logsigmoid"),
        (dpo_no_reference, "reference model is missing"),
        (dpo_swapped, "swapped"),
        (dpo_beta_outside, "the DPO loss"),
        (dpo_sum, "the DPO loss"),
        (lambda pc, pr, rc, rr, beta: -F.logsigmoid(beta * ((pc - rc) - (pr - rr))), "one number"),
    ],
)
def test_dpo_wrong_answers_fail(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_dpo(wrong)


# --- ch14b-lsh ---------------------------------------------------------------------------------

RIGHT_LSH = 1 - (1 - 0.6**5) ** 20


@pytest.mark.parametrize(
    "value",
    [
        RIGHT_LSH,
        np.float64(RIGHT_LSH),
        np.float32(RIGHT_LSH),
        torch.tensor(RIGHT_LSH),
        torch.tensor([RIGHT_LSH]),
        np.array(RIGHT_LSH),
        round(RIGHT_LSH, 3),
    ],  # fmt: skip
)
def test_lsh_right_answers_pass(value):
    assert check_lsh_probability(value)


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (0.6**5, "ONE band"),
        ((1 - 0.6**5) ** 20, "NO band"),
        (1 - (1 - 0.6**20) ** 5, "swapped"),
        (20 * 0.6**5, "counts overlaps twice"),
        (0.5, "p_candidate"),
        (1, "p_candidate"),
        ([0.8, 0.2], "one number"),
        ("0.802", "should be a number"),
    ],
)
def test_lsh_wrong_answers_fail(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_lsh_probability(wrong)


# --- ch14b-collapse ----------------------------------------------------------------------------

RIGHT_SURVIVAL = 1 - math.exp(-1)


@pytest.mark.parametrize(
    "value",
    [
        RIGHT_SURVIVAL,
        np.float64(RIGHT_SURVIVAL),
        torch.tensor(RIGHT_SURVIVAL),
        1 - (1 - 1 / 64285) ** 64285,
        round(RIGHT_SURVIVAL, 3),
    ],  # fmt: skip
)
def test_survival_right_answers_pass(value):
    assert check_singleton_survival(value)


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (math.exp(-1), "NOT drawn"),
        (0.5, "Poisson"),
        (1, "disappears"),
        (0, "often survives"),
        (63.2, "between 0 and 1"),
        (0.7, "singleton_survival"),
    ],
)
def test_survival_wrong_answers_fail(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_singleton_survival(wrong)
