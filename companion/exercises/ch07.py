"""Checks for the exercises of Chapter 7 (attention and Transformers, up to a small GPT).

Each check computes its reference itself, from torch primitives or closed forms written here,
never by calling a helper that the chapter imported.
"""

from __future__ import annotations

import math

import torch

from companion.exercises import CheckFailed, Passed, as_integer, expect_close, passed

# Exercise ch07-kv-cache: GPT-2 small (Radford et al. 2019) at its full context.
KV_LAYERS, KV_HEADS, KV_WIDTH, KV_CONTEXT = 12, 12, 768, 1024


def _reference_attention(q, k, v, keep):
    """softmax(q kᵀ/√D) v with keys where ``keep`` is False removed (the check's own)."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    scores = scores.masked_fill(~keep, float("-inf"))
    return scores.softmax(dim=-1) @ v


def check_padded_attention(fn) -> Passed:
    """Exercise ``ch07-padding``: ``fn(q, k, v, lengths)`` -> (B, H, T, D) attention output
    in which no query attends to the padded keys (positions >= lengths[b])."""
    if not callable(fn):
        raise CheckFailed(f"pass your function itself, got {type(fn).__name__}")
    g = torch.Generator().manual_seed(11)
    q, k, v = (torch.randn(3, 2, 6, 4, generator=g, dtype=torch.float64) for _ in range(3))
    lengths = torch.tensor([6, 4, 1])
    got = fn(q, k, v, lengths)
    if not torch.is_tensor(got):
        raise CheckFailed(f"return the attention output as a tensor, got {type(got).__name__}")
    if tuple(got.shape) != (3, 2, 6, 4):
        raise CheckFailed(
            f"the output should have shape (B, H, T, D) = (3, 2, 6, 4), got {tuple(got.shape)}"
        )
    keep = (torch.arange(6)[None, :] < lengths[:, None])[:, None, None, :]  # (B, 1, 1, T)
    everything = torch.ones_like(keep)
    got = got.double()
    if torch.allclose(got, _reference_attention(q, k, v, everything)):
        raise CheckFailed(
            "the output equals attention without any mask: the padded keys still receive weight"
        )
    if torch.allclose(got[1:], _reference_attention(q, k, v, ~keep)[1:]):
        # sequence 0 has no padding, so inverting its mask would block every key
        raise CheckFailed(
            "the mask is inverted: queries attend only to padding (a boolean mask "
            "is True where attention is allowed)"
        )
    unscaled = (q @ k.transpose(-2, -1)).masked_fill(~keep, float("-inf")).softmax(-1) @ v
    if torch.allclose(got, unscaled):
        raise CheckFailed("divide the scores by sqrt(D) before the softmax")
    expect_close(
        got,
        _reference_attention(q, k, v, keep),
        "the padded attention output",
        rtol=1e-5,  # float32 answers pass too
        atol=1e-6,
        hint="set the scores of padded keys to -inf before the softmax",
    )
    return passed("padded keys get zero weight and the real ones share all of it")


def check_layer_norm(fn) -> Passed:
    """Exercise ``ch07-layernorm``: ``fn(x, gamma, beta, eps)`` -> LayerNorm over the last axis,
    compared with ``torch.nn.functional.layer_norm`` on inputs generated here."""
    if not callable(fn):
        raise CheckFailed(f"pass your function itself, got {type(fn).__name__}")
    g = torch.Generator().manual_seed(7)
    x = 3.0 + 2.0 * torch.randn(4, 5, 8, generator=g, dtype=torch.float64)
    gamma = 1.0 + 0.5 * torch.randn(8, generator=g, dtype=torch.float64)
    beta = torch.randn(8, generator=g, dtype=torch.float64)
    eps = 1e-5
    got = fn(x, gamma, beta, eps)
    if not torch.is_tensor(got):
        raise CheckFailed(f"return a tensor, got {type(got).__name__}")
    if tuple(got.shape) != tuple(x.shape):
        raise CheckFailed(f"the output should have the shape of x, {tuple(x.shape)}, got "
                          f"{tuple(got.shape)}")  # fmt: skip
    got = got.double()
    want = torch.nn.functional.layer_norm(x, (8,), gamma, beta, eps)
    mu = x.mean(0, keepdim=True)
    batch_like = (x - mu) / (x.var(0, unbiased=False, keepdim=True) + eps).sqrt() * gamma + beta
    if torch.allclose(got, batch_like, atol=1e-6):
        raise CheckFailed(
            "you normalised over the batch (axis 0), as batch norm does; "
            "LayerNorm normalises each position over its features (the last axis)"
        )
    unbiased = (x - x.mean(-1, keepdim=True)) / (x.var(-1, keepdim=True) + eps).sqrt()
    if torch.allclose(got, unbiased * gamma + beta, atol=1e-6):
        raise CheckFailed(
            "use the biased variance (divide by n, unbiased=False), as LayerNorm does"
        )
    plain = torch.nn.functional.layer_norm(x, (8,), None, None, eps)
    if torch.allclose(got, plain, atol=1e-6):
        raise CheckFailed("you normalised correctly but forgot the gain gamma and shift beta")
    expect_close(got, want, "your LayerNorm", rtol=1e-5, atol=1e-6,
                 hint="subtract the mean of the last axis, divide by sqrt(variance + eps), "
                 "then multiply by gamma and add beta")  # fmt: skip
    return passed("your LayerNorm equals torch.nn.functional.layer_norm")


def _kv_cache_bytes(layers: int, width: int, context: int, batch: int = 1, bytes_per: int = 4):
    """Bytes of a key-value cache: K and V, each (B, H, T, D) per layer, H·D = width."""
    return 2 * layers * batch * context * width * bytes_per


def check_kv_cache_bytes(n) -> Passed:
    """Exercise ``ch07-kv-cache``: bytes of GPT-2 small's float32 cache for one sequence of
    1,024 tokens (2 · L · T · d · 4)."""
    want = _kv_cache_bytes(KV_LAYERS, KV_WIDTH, KV_CONTEXT)
    value = as_integer(n, "the cache size in bytes")
    slips = {
        want // 2: "a cache stores keys AND values: two tensors per layer",
        want * KV_HEADS: "H·D = d already covers all heads: do not multiply by the head count",
        want // 4: "that is a count of numbers; each float32 takes 4 bytes",
        want // KV_LAYERS: "every layer keeps its own keys and values",
    }
    if value in slips:
        raise CheckFailed(f"{value:,} bytes is not it. Hint: {slips[value]}")
    if value != want:
        raise CheckFailed(
            f"the cache size is {value:,} bytes, expected another number. Hint: "
            "two tensors (K, V) of shape (B, H, T, D) per layer, 4 bytes each"
        )
    return passed(f"{want:,} bytes = {want / 2**20:.0f} MiB for one sequence of 1,024 tokens")


def check_attention_crossover(T) -> Passed:
    """Exercise ``ch07-crossover``: the context length at which attention's 12·L·T·d training
    FLOPs per token equal 6·N with N = 12·L·d², for GPT-3 (d = 12288): T = 6d."""
    d = 12288
    if torch.is_tensor(T) or hasattr(T, "__array__"):
        T = torch.as_tensor(T)
        if T.numel() != 1:
            raise CheckFailed(f"T should be one number, got shape {tuple(T.shape)}")
        T = T.item()
    if isinstance(T, bool) or not isinstance(T, (int, float)):
        raise CheckFailed(f"T should be a number, got {type(T).__name__}")
    if abs(T - 12 * d) < 1:
        raise CheckFailed(
            f"T = {T:,.0f} is twice the answer: attention costs 12·L·T·d in "
            "training (QKᵀ and the weighted sum of V, each 2·T·d, times 3)"
        )
    if abs(T - 3 * d) < 1:
        raise CheckFailed(
            f"T = {T:,.0f} is half the answer: training costs 6N per token, forward and backward"
        )
    expect_close(
        T,
        6 * d,
        "the cross-over context length",
        rtol=1e-6,
        hint="set 12·L·T·d equal to 6·12·L·d² and solve for T",
    )
    return passed(f"T = 6d = {6 * d:,} tokens: at GPT-3's 2,048 the attention term is small")
