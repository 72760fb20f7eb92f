"""Bad input to companion.attention: every plausible mistake gets a clear error."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from companion.attention import (
    MultiHeadAttention,
    apply_rotary,
    attention,
    causal_mask,
    padding_mask,
    scaled_dot_product_attention,
    sinusoidal_positional_encoding,
)
from tests.badinput.harness import expect_clear_error

Q = torch.randn(2, 3, 4, 8)
K = torch.randn(2, 3, 6, 8)
V = torch.randn(2, 3, 6, 8)
MHA = MultiHeadAttention(8, 2)
X = torch.randn(2, 5, 8)

CASES = [
    # (call, names the message must mention, kind)
    (lambda: scaled_dot_product_attention(Q.numpy(), K, V), "q", TypeError),
    (lambda: scaled_dot_product_attention(Q.tolist(), K, V), "q", TypeError),
    (lambda: scaled_dot_product_attention(Q, K.long(), V), "k", TypeError),
    (lambda: scaled_dot_product_attention(Q, K, V.double()), "v", TypeError),
    (lambda: scaled_dot_product_attention(Q[0, 0, 0], K, V), "q", ValueError),
    (lambda: scaled_dot_product_attention(Q, K[..., :5], V), "k", ValueError),
    (lambda: scaled_dot_product_attention(Q, K, V[..., :5, :]), "v", ValueError),
    (
        lambda: scaled_dot_product_attention(Q, K, V, mask=torch.ones(4, 6, dtype=torch.long)),
        "mask",
        TypeError,
    ),
    (
        lambda: scaled_dot_product_attention(Q, K, V, mask=torch.ones(4, 6, dtype=torch.uint8)),
        "mask",
        TypeError,
    ),
    (lambda: scaled_dot_product_attention(Q, K, V, mask=np.ones((4, 6), bool)), "mask", TypeError),
    (
        lambda: scaled_dot_product_attention(Q, K, V, mask=torch.zeros(4, 6, dtype=torch.float64)),
        "mask",
        TypeError,
    ),
    (
        lambda: scaled_dot_product_attention(Q, K, V, mask=torch.ones(6, 4, dtype=torch.bool)),
        "mask",
        ValueError,
    ),
    (lambda: scaled_dot_product_attention(Q, K, V, is_causal="yes"), "is_causal", TypeError),
    (lambda: scaled_dot_product_attention(Q, K, V, scale=0.0), "scale", ValueError),
    (lambda: scaled_dot_product_attention(Q, K, V, scale=float("nan")), "scale", ValueError),
    (lambda: scaled_dot_product_attention(Q, K, V, dropout_p=-0.1), "dropout_p", ValueError),
    (lambda: scaled_dot_product_attention(Q, K, V, dropout_p=1.0), "dropout_p", ValueError),
    (lambda: scaled_dot_product_attention(K, Q, Q, is_causal=True), "T_q", ValueError),
    (lambda: attention(K, Q, Q, is_causal=True, fused=True), "T_q", ValueError),
    (
        lambda: attention(Q, K, V, mask=torch.ones(4, 6, dtype=torch.int32), fused=True),
        "mask",
        TypeError,
    ),
    (lambda: attention(Q, K, V, fused="True"), "fused", TypeError),
    (lambda: causal_mask(0), "t_q", ValueError),
    (lambda: causal_mask(3.0), "t_q", TypeError),
    (lambda: causal_mask(5, 3), "t_q", ValueError),
    (lambda: padding_mask(torch.tensor([1.0, 2.0]), 4), "lengths", TypeError),
    (lambda: padding_mask(torch.tensor([[1, 2]]), 4), "lengths", ValueError),
    (lambda: padding_mask([1, -1], 4), "lengths", ValueError),
    (lambda: padding_mask([1, 2], 0), "max_len", ValueError),
    (lambda: MultiHeadAttention(8, 3), "n_head", ValueError),
    (lambda: MultiHeadAttention(8, 0), "n_head", ValueError),
    (lambda: MultiHeadAttention(8.0, 2), "d_model", TypeError),
    (lambda: MultiHeadAttention(True, 1), "d_model", TypeError),
    (lambda: MHA(X.double()), "query", TypeError),
    (lambda: MHA(X.long()), "query", TypeError),
    (lambda: MHA(X.numpy()), "query", TypeError),
    (lambda: MHA(X[0]), "query", ValueError),
    (lambda: MHA(torch.randn(2, 5, 6)), "query", ValueError),
    (lambda: MHA(X, torch.randn(3, 5, 8)), "batch", ValueError),
    (lambda: MHA(X, mask=torch.ones(5, 5, dtype=torch.long)), "mask", TypeError),
    (lambda: MHA.load_from_torch(nn.Linear(8, 8)), "mha", TypeError),
    (lambda: sinusoidal_positional_encoding(0, 8), "n_positions", ValueError),
    (lambda: sinusoidal_positional_encoding(10, 7), "d_model", ValueError),
    (lambda: sinusoidal_positional_encoding(10, 8, base=-1.0), "base", ValueError),
    (lambda: apply_rotary(torch.randn(5, 7)), "x", ValueError),
    (lambda: apply_rotary(torch.arange(10).view(5, 2)), "x", TypeError),
    (lambda: apply_rotary(torch.randn(5, 8).numpy()), "x", TypeError),
    (lambda: apply_rotary(torch.randn(5, 8), [3]), "positions", ValueError),
    (
        lambda: apply_rotary(torch.randn(5, 8), torch.tensor([0.0, 1, 2, 3, 4])),
        "positions",
        TypeError,
    ),
]


@pytest.mark.parametrize("call,name,kind", CASES)
def test_clear_error(call, name, kind):
    expect_clear_error(call, name, kind=kind)


def test_accepted_inputs_give_the_right_answer():
    """Inputs that are accepted on purpose, checked against an independent reference."""
    lengths = [4, 2]  # a list of lengths is converted (documented)
    torch.testing.assert_close(padding_mask(lengths, 4), padding_mask(torch.tensor(lengths), 4))
    mask = torch.zeros(4, 6).masked_fill(torch.rand(4, 6) > 0.5, float("-inf"))
    mask[:, 0] = 0.0
    torch.testing.assert_close(
        scaled_dot_product_attention(Q, K, V, mask=mask)[0],
        F.scaled_dot_product_attention(Q, K, V, attn_mask=mask),
    )
