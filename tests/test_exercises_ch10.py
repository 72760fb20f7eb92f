"""The Chapter 10 exercise checks accept right answers and name the usual slips."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion.exercises import CheckFailed
from companion.exercises.ch10 import check_int4_memory, check_lora, check_quantizer


def _quantizer(rounding=torch.round, widen=True, clamp=True, qmax_off=0, as_numpy=False):
    def my_quantize(x, bits):
        qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1 + qmax_off
        lo, hi = x.min().item(), x.max().item()
        if widen:
            lo, hi = min(lo, 0.0), max(hi, 0.0)
        scale = torch.tensor(max((hi - lo) / (qmax - qmin), 1.2e-7)).float().item()
        zp = int(min(max(qmin - round(lo / scale), qmin), qmax))
        q = rounding(x / scale) + zp
        if clamp:
            q = q.clamp(qmin, qmax)
        q = q.long()
        return (q.numpy(), np.float64(scale), np.int64(zp)) if as_numpy else (q, scale, zp)

    return my_quantize


def test_quantizer_right_answers_pass():
    assert check_quantizer(_quantizer())
    assert check_quantizer(_quantizer(as_numpy=True))  # NumPy arrays and scalars are fine too


def test_quantizer_float_q_with_integral_values_passes():
    right = _quantizer()
    assert check_quantizer(lambda x, b: (right(x, b)[0].double(), *right(x, b)[1:]))
    assert check_quantizer(
        lambda x, b: (right(x, b)[0], torch.tensor(right(x, b)[1]), torch.tensor(right(x, b)[2]))
    )  # 0-d tensors


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (_quantizer(rounding=torch.floor), "truncated, not rounded"),
        (_quantizer(widen=False), "range widened to contain 0"),
        (_quantizer(qmax_off=1), "scale"),  # 2**bits levels instead of 2**bits - 1 steps
        (lambda x, b: _quantizer()(x, b)[:2], "tuple"),
        (lambda x, b: (_quantizer()(x, b)[0][:-1], *_quantizer()(x, b)[1:]), "shape"),
        (lambda x, b: (x / _quantizer()(x, b)[1], *_quantizer()(x, b)[1:]), "integers"),
        (lambda x, b: (_quantizer()(x, b)[0], _quantizer()(x, b)[1], 0), "zero_point"),
    ],
)
def test_quantizer_wrong_answers_fail(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_quantizer(wrong)


def test_quantizer_without_clamp_is_accepted_where_harmless():
    # with qparams from min/max nothing leaves the range, so a missing clamp is harmless
    # there: the check must still accept it (it is a correct answer for these inputs)
    assert check_quantizer(_quantizer(clamp=False))


def _lora(scale="right", merge_scale="right", drop_bias=False):
    def factor(alpha, r, which):
        return {"right": alpha / r, "alpha": alpha, "one": 1.0, "inverse": r / alpha}[which]

    def lora_forward(x, W, b, A, B, alpha):
        r = A.shape[0]
        out = x @ W.T + (0 if drop_bias else b)
        return out + factor(alpha, r, scale) * (x @ A.T) @ B.T

    def lora_merge(W, A, B, alpha):
        return W + factor(alpha, A.shape[0], merge_scale) * B @ A

    return lora_forward, lora_merge


def test_lora_right_answers_pass():
    assert check_lora(*_lora())

    def np_forward(x, W, b, A, B, alpha):
        x, W, b, A, B = (np.asarray(t) for t in (x, W, b, A, B))
        return x @ W.T + b + alpha / A.shape[0] * (x @ A.T) @ B.T

    assert check_lora(np_forward, lambda W, A, B, alpha: np.asarray(W) + alpha / A.shape[0]
                      * np.asarray(B) @ np.asarray(A))  # fmt: skip


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (_lora(scale="alpha"), "scaled by alpha / r, not alpha"),
        (_lora(scale="one"), "scaled by alpha / r"),
        (_lora(scale="inverse"), "not r / alpha"),
        (_lora(drop_bias=True), "lora_forward"),
        (_lora(merge_scale="alpha"), "lora_merge"),
        ((lambda x, W, b, A, B, alpha: x @ W.T + b, _lora()[1]), "update B A x is missing"),
        ((lambda x, W, b, A, B, alpha: (x @ W.T + b).T, _lora()[1]), "shape"),
    ],
)
def test_lora_wrong_answers_fail(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_lora(*wrong)


RIGHT_GB = 13e9 * (4 + 16 / 64) / 8 / 1e9


@pytest.mark.parametrize(
    "value",
    [
        RIGHT_GB,
        6.906,
        np.float64(RIGHT_GB),
        np.float32(RIGHT_GB),
        torch.tensor(RIGHT_GB),
        [RIGHT_GB],
        np.array(RIGHT_GB),
    ],
)
def test_int4_memory_right_answers_pass(value):
    assert check_int4_memory(value)


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (13e9 * 4 / 8 / 1e9, "scales cost memory"),
        (13e9 * 4.25 / 1e9, "divide by 8"),
        (13e9 * 4.25 / 8 / 2**30, "GiB"),
        (13e9 * 20 / 8 / 1e9, "shared by 64 weights"),
        (26, "int4_gb"),
        (7, "int4_gb"),  # an int that is not the answer
        ([6.9, 7.0], "one number"),
    ],
)
def test_int4_memory_wrong_answers_fail(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_int4_memory(wrong)
