"""The checks of Chapter 1's exercises accept right answers in every numeric type and explain
plausible wrong ones; none can be passed by calling the chapter's helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from companion.exercises import CheckFailed, ch01
from companion.history import TIMELINE, count_on_meta, training_flops

# --- ch01-conv ---------------------------------------------------------------------------------


def conv_right(c_out, c_in, k, groups, bias):
    return c_out * (c_in // groups * k * k + bias)


@pytest.mark.parametrize(
    "wrap", [int, float, np.int64, np.float64, torch.tensor, lambda v: np.array(v)]
)
def test_conv_right_answer_in_every_numeric_type(wrap):
    assert ch01.check_conv_params(lambda *a: wrap(conv_right(*a)))


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda c_out, c_in, k, g, b: c_out * (c_in * k * k + b), "ignores the groups"),
        (lambda c_out, c_in, k, g, b: c_out * c_in // g * k * k, "also has a bias"),
        (lambda c_out, c_in, k, g, b: c_out * (c_in // g * k * k + 1), "bias=False"),
        (lambda c_out, c_in, k, g, b: c_out * (c_in // g * k + b), "expected"),
    ],
)
def test_conv_wrong_answers(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        ch01.check_conv_params(wrong)


def test_conv_refuses_asking_pytorch():
    def via_torch(c_out, c_in, k, groups, bias):
        return sum(
            p.numel()
            for p in torch.nn.Conv2d(c_in, c_out, k, groups=groups, bias=bias).parameters()
        )

    with pytest.raises(CheckFailed, match="implement the formula"):
        ch01.check_conv_params(via_torch)
    with pytest.raises(CheckFailed, match="should be a function"):
        ch01.check_conv_params(307_456)


# --- ch01-bert ---------------------------------------------------------------------------------


def bert_right(V, P, S, d, L, d_ff):
    layer = 4 * d * d + 4 * d + 2 * d * d_ff + d_ff + d + 4 * d
    return (V + P + S) * d + 2 * d + L * layer + d * d + d


@pytest.mark.parametrize("wrap", [int, float, np.int64, np.float64, torch.tensor])
def test_bert_right_answer_in_every_numeric_type(wrap):
    assert ch01.check_bert_params(lambda *a: wrap(bert_right(*a)))
    assert bert_right(30522, 512, 2, 768, 12, 3072) == 109_482_240  # the published config


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda V, P, S, d, L, f: bert_right(V, P, S, d, L, f) - d * d - d, "pooler"),
        (lambda V, P, S, d, L, f: bert_right(V, P, S, d, L, f) - L * 4 * d, "LayerNorm"),
        (lambda V, P, S, d, L, f: bert_right(V, P, S, d, L, f) - 4 * d * L, "LayerNorm|biases"),
        (lambda V, P, S, d, L, f: (V + P + S) * d + L * 12 * d * d, "expected"),
        (lambda V, P, S, d, L, f: 109_482_240, "expected"),  # the printed count, copied
    ],
)
def test_bert_wrong_answers(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        ch01.check_bert_params(wrong)


def test_bert_refuses_the_companion_model():
    from companion.bert import Bert, BertConfig

    def via_companion(V, P, S, d, L, d_ff):
        cfg = BertConfig(V, P, S, L, 1, d, d_ff)
        return count_on_meta(lambda: Bert(cfg))

    with pytest.raises(CheckFailed, match="count_on_meta"):
        ch01.check_bert_params(via_companion)


# --- ch01-chinchilla ---------------------------------------------------------------------------


@pytest.mark.parametrize("wrap", [float, np.float64, torch.tensor, lambda v: int(round(v))])
def test_compute_optimal_right_answer_in_every_numeric_type(wrap):
    def right(C):
        n = math.sqrt(C / 120)
        return wrap(n), wrap(20 * n)

    assert ch01.check_compute_optimal(right)
    assert ch01.check_compute_optimal(lambda C: [math.sqrt(C / 120), 20 * math.sqrt(C / 120)])


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda C: (math.sqrt(C / 40), 20 * math.sqrt(C / 40)), "2·N·D"),
        (lambda C: (20 * math.sqrt(C / 120), math.sqrt(C / 120)), "swapped"),
        (lambda C: (C / 120, 20 * C / 120), "N for C"),
        (lambda C: math.sqrt(C / 120), "pair"),
        (lambda C: (70e9, 1.4e12), "N for C = 3.14e"),  # Chinchilla's numbers, copied
    ],
)
def test_compute_optimal_wrong_answers(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        ch01.check_compute_optimal(wrong)


def test_compute_optimal_refuses_training_flops():
    def via_helper(C):
        n = math.sqrt(C / training_flops(1, 20))
        return n, 20 * n

    with pytest.raises(CheckFailed, match="training_flops"):
        ch01.check_compute_optimal(via_helper)


# --- ch01-order --------------------------------------------------------------------------------

EVENTS = [e.event for e in (TIMELINE[1], TIMELINE[3], TIMELINE[9], TIMELINE[-3], TIMELINE[-1])]


def test_chronological_right_order():
    assert ch01.check_chronological(list(EVENTS), EVENTS[::-1])
    assert ch01.check_chronological(tuple(EVENTS), EVENTS)


@pytest.mark.parametrize(
    "order, message",
    [
        ([], "every one of the 5 events"),  # an empty list used to pass
        (EVENTS[:2], "3 missing"),
        (EVENTS[::-1], "comes after"),
        (EVENTS[:4] + [EVENTS[0]], "repeated"),
        (["Moon landing"] + EVENTS[1:], "not an event"),
        ("perceptron", "list of event names"),
    ],
)
def test_chronological_wrong_answers(order, message):
    with pytest.raises(CheckFailed, match=message):
        ch01.check_chronological(order, EVENTS)
