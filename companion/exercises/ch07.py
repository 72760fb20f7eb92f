"""Checks for the exercises of Chapter 7 (attention and Transformers, up to a small GPT)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from companion.attention import padding_mask
from companion.exercises import CheckFailed, Passed, expect_close, expect_integer, passed
from companion.transformer import GPTConfig, gpt_parameter_formula

# Exercise ch07-count: GPT-3 2.7B (Brown et al. 2020, Table 2.1), with GPT-2's vocabulary.
GPT3_2P7B = GPTConfig(n_layer=32, n_head=32, n_embd=2560, block_size=2048)


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
    keep = padding_mask(lengths, 6)
    want = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
    if torch.allclose(got.double(), F.scaled_dot_product_attention(q, k, v)):
        raise CheckFailed(
            "the output equals attention without any mask: the padded keys still receive weight"
        )
    if torch.allclose(
        got[1:].double(), F.scaled_dot_product_attention(q, k, v, attn_mask=~keep)[1:]
    ):  # sequence 0 has no padding, so inverting its mask blocks every key
        raise CheckFailed(
            "the mask is inverted: queries attend only to padding (a boolean mask "
            "is True where attention is allowed)"
        )
    expect_close(
        got,
        want,
        "the padded attention output",
        rtol=1e-6,
        atol=1e-8,
        hint="set the scores of padded keys to -inf before the softmax, "
        "and divide the scores by sqrt(D)",
    )
    return passed("padded keys get zero weight and the real ones share all of it")


def check_parameter_count(n) -> Passed:
    """Exercise ``ch07-count``: the exact parameter count of :data:`GPT3_2P7B`."""
    cfg, want = GPT3_2P7B, gpt_parameter_formula(GPT3_2P7B)
    d, L, V, T = cfg.n_embd, cfg.n_layer, cfg.vocab_size, cfg.block_size
    if isinstance(n, float) and n.is_integer():
        n = int(n)
    slips = {
        want - 2 * d: "you left out the final LayerNorm (2d)",
        want + V * d: "the output layer shares the token-embedding matrix: count it once",
        want - T * d: "you left out the learned position embeddings (block_size × d)",
        want - V * d: "you left out the token embeddings (V × d)",
        L * 12 * d * d: "12·L·d² is the approximation; the question asks for the exact count",
        want - L * 13 * d: "you left out the biases and LayerNorm parameters of the blocks (13d)",
        want - L * 4 * d: "you left out the two LayerNorms of each block (4d per block)",
    }
    if isinstance(n, int) and n in slips and n != want:
        raise CheckFailed(f"{n:,} is not it. Hint: {slips[n]}")
    expect_integer(
        n,
        want,
        "the parameter count",
        hint="per block 12d² + 13d; plus (V + block_size)·d embeddings and 2d",
    )
    return passed(f"{want:,} parameters, the '2.7B' of Brown et al. (2020)")


def check_attention_crossover(T) -> Passed:
    """Exercise ``ch07-crossover``: the context length at which attention's 12·L·T·d training
    FLOPs per token equal 6·N with N = 12·L·d², for GPT-3 (d = 12288): T = 6d."""
    d = 12288
    if torch.is_tensor(T):
        T = T.item()
    if not isinstance(T, (int, float)) or isinstance(T, bool):
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
