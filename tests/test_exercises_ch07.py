"""The Chapter 7 exercise checks accept right answers in every common type and reject
plausible wrong ones with the message a student would see."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from companion.exercises import CheckFailed
from companion.exercises.ch07 import (
    check_attention_crossover,
    check_kv_cache_bytes,
    check_layer_norm,
    check_padded_attention,
)

KV_BYTES = 2 * 12 * 1024 * 768 * 4


def _padded(q, k, v, lengths, *, scale=True, invert=False, mask=True):
    real = torch.arange(k.size(-2))[None, :] < lengths[:, None]
    if invert:
        real = ~real
    scores = q @ k.transpose(-2, -1) / (math.sqrt(q.size(-1)) if scale else 1.0)
    if mask:
        scores = scores.masked_fill(~real[:, None, None, :], float("-inf"))
    return scores.softmax(-1) @ v


def test_padded_attention_right_and_wrong():
    assert check_padded_attention(_padded)
    assert check_padded_attention(lambda q, k, v, n: _padded(q.float(), k.float(), v.float(), n))
    for wrong, message in (
        (lambda *a: _padded(*a, mask=False), "without any mask"),
        (lambda *a: _padded(*a, invert=True), "inverted"),
        (lambda *a: _padded(*a, scale=False), "sqrt"),
        (lambda q, k, v, n: _padded(q, k, v, n)[..., :3], "shape"),
        (lambda q, k, v, n: _padded(q, k, v, n).tolist(), "tensor"),
    ):
        with pytest.raises(CheckFailed, match=message):
            check_padded_attention(wrong)
    with pytest.raises(CheckFailed, match="function"):
        check_padded_attention(3)


def _layer_norm(x, gamma, beta, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * gamma + beta


def test_layer_norm_right_and_wrong():
    assert check_layer_norm(_layer_norm)
    assert check_layer_norm(lambda x, g, b, e: _layer_norm(x.float(), g.float(), b.float(), e))
    for wrong, message in (
        (lambda x, g, b, e: (x - x.mean(0)) / (x.var(0, unbiased=False) + e).sqrt() * g + b,
         "batch"),
        (lambda x, g, b, e: (x - x.mean(-1, keepdim=True)) / (x.var(-1, keepdim=True) + e).sqrt()
         * g + b, "biased variance"),
        (lambda x, g, b, e: F.layer_norm(x, x.shape[-1:], eps=e), "gamma"),
        (lambda x, g, b, e: _layer_norm(x, g, b, e)[0], "shape"),
        (lambda x, g, b, e: x * g + b, "your LayerNorm"),
    ):  # fmt: skip
        with pytest.raises(CheckFailed, match=message):
            check_layer_norm(wrong)


@pytest.mark.parametrize(
    "right",
    [KV_BYTES, float(KV_BYTES), np.int64(KV_BYTES), np.float64(KV_BYTES), torch.tensor(KV_BYTES),
     np.array(KV_BYTES), [KV_BYTES]],
)  # fmt: skip
def test_kv_cache_accepts_every_numeric_type(right):
    assert check_kv_cache_bytes(right)


@pytest.mark.parametrize(
    "wrong,message",
    [(KV_BYTES // 2, "keys AND values"), (KV_BYTES * 12, "all heads"),
     (KV_BYTES // 4, "4 bytes"), (KV_BYTES // 12, "every layer"), (KV_BYTES + 1, "expected"),
     ("75 MB", "whole number")],
)  # fmt: skip
def test_kv_cache_names_the_slip(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_kv_cache_bytes(wrong)


@pytest.mark.parametrize(
    "right", [73728, 73728.0, np.int64(73728), np.float64(73728), torch.tensor(73728),
              np.array(73728.0)],
)  # fmt: skip
def test_crossover_accepts_every_numeric_type(right):
    assert check_attention_crossover(right)


@pytest.mark.parametrize(
    "wrong,message",
    [(12 * 12288, "twice"), (3 * 12288, "half"), (12288, "cross-over"), ("6d", "number")],
)
def test_crossover_names_the_slip(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_attention_crossover(wrong)
