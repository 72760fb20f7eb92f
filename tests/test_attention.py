"""Tests of companion.attention (Chapter 7): explicit attention against PyTorch's own."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from companion.attention import (
    MultiHeadAttention,
    apply_rotary,
    causal_mask,
    padding_mask,
    scaled_dot_product_attention,
    sinusoidal_positional_encoding,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def _qkv(B=2, H=3, Tq=5, Tk=5, D=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(B, H, T, D, generator=g, dtype=torch.float64) for T in (Tq, Tk, Tk))


@pytest.mark.parametrize("case", ["none", "causal", "padding", "bool_full", "additive"])
def test_explicit_equals_fused(case):
    q, k, v = _qkv()
    kwargs = {}
    if case == "causal":
        kwargs = {"is_causal": True}
    elif case == "padding":
        kwargs = {"mask": padding_mask(torch.tensor([5, 2]), 5)}
    elif case == "bool_full":
        kwargs = {"mask": torch.rand(5, 5, generator=torch.Generator().manual_seed(1)) > 0.3}
        kwargs["mask"][:, 0] = True  # every query sees at least one key
    elif case == "additive":
        kwargs = {"mask": torch.randn(2, 1, 5, 5, dtype=torch.float64)}
    out, weights = scaled_dot_product_attention(q, k, v, **kwargs)
    ref = F.scaled_dot_product_attention(
        q, k, v, attn_mask=kwargs.get("mask"), is_causal=kwargs.get("is_causal", False)
    )
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 5, dtype=torch.float64))
    if case == "causal":  # no weight on the future
        assert (weights.triu(1) == 0).all()
    if case == "padding":  # no weight on padded keys of the second sequence
        assert (weights[1, :, :, 2:] == 0).all()


def test_causal_mask_after_a_cache_and_fully_masked_rows():
    assert torch.equal(causal_mask(2, 4), torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]]).bool())
    q, k, v = _qkv(Tq=2, Tk=4)
    out, _ = scaled_dot_product_attention(q, k, v, is_causal=True)
    q_full = torch.cat((k[..., :2, :], q), dim=-2)  # any first two queries; keep the last two
    full, _ = scaled_dot_product_attention(q_full, k, v, is_causal=True)
    torch.testing.assert_close(out, full[..., 2:, :])
    mask = torch.ones(5, 5, dtype=torch.bool)
    mask[0] = False  # query 0 may attend to nothing
    out, w = scaled_dot_product_attention(*_qkv(), mask=mask)
    assert torch.isfinite(out).all() and (out[..., 0, :] == 0).all() and (w[..., 0, :] == 0).all()


def test_gradients_match_fused_and_pass_gradcheck():
    q, k, v = (t.requires_grad_() for t in _qkv(B=1, H=2, Tq=3, Tk=3, D=2))
    assert torch.autograd.gradcheck(
        lambda q, k, v: scaled_dot_product_attention(q, k, v, is_causal=True)[0], (q, k, v)
    )
    g1 = torch.autograd.grad(scaled_dot_product_attention(q, k, v)[0].sum(), (q, k, v))
    g2 = torch.autograd.grad(F.scaled_dot_product_attention(q, k, v).sum(), (q, k, v))
    for a, b in zip(g1, g2, strict=True):
        torch.testing.assert_close(a, b)


def test_scale_controls_softmax_saturation():
    g = torch.Generator().manual_seed(0)
    d = 512
    q, k = torch.randn(1000, d, generator=g), torch.randn(1000, d, generator=g)
    raw = (q * k).sum(-1)
    assert 0.9 * math.sqrt(d) < raw.std() < 1.1 * math.sqrt(d)  # variance d, eq. (ch07-variance)
    assert 0.9 < (raw / math.sqrt(d)).std() < 1.1


def test_mha_equals_torch_multihead_attention():
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(12, 3, batch_first=True).double()
    mine = MultiHeadAttention(12, 3).double().load_from_torch(ref)
    x = torch.randn(2, 6, 12, dtype=torch.float64)
    mem = torch.randn(2, 4, 12, dtype=torch.float64)
    for query, key, kpm in ((x, x, None), (x, mem, torch.tensor([[0, 0, 0, 0], [0, 0, 1, 1]]))):
        kpm = None if kpm is None else kpm.bool()
        y_ref, w_ref = ref(query, key, key, key_padding_mask=kpm, average_attn_weights=False)
        mask = None if kpm is None else ~kpm[:, None, None, :]  # opposite convention
        y, w = mine(query, key, key, mask=mask)
        torch.testing.assert_close(y, y_ref)
        torch.testing.assert_close(w, w_ref)
        y_fused, none = mine(query, key, key, mask=mask, fused=True)
        assert none is None
        torch.testing.assert_close(y_fused, y_ref)
    causal = ~causal_mask(6)  # torch: True = blocked
    y_ref, w_ref = ref(x, x, x, attn_mask=causal, average_attn_weights=False)
    y, w = mine(x, is_causal=True)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(w, w_ref)


def test_sinusoidal_encoding_values_and_relative_property():
    pe = sinusoidal_positional_encoding(50, 16).double()
    assert pe.shape == (50, 16)
    torch.testing.assert_close(pe[0], torch.tensor([0.0, 1.0] * 8, dtype=torch.float64))
    assert pe[3, 2].item() == pytest.approx(math.sin(3 / 10000 ** (2 / 16)), abs=1e-6)
    assert pe[7, 5].item() == pytest.approx(math.cos(7 / 10000 ** (4 / 16)), abs=1e-6)
    # the dot product of two encodings depends only on their distance
    assert (pe[10] @ pe[13]).item() == pytest.approx((pe[30] @ pe[33]).item(), abs=1e-5)


def test_rotary_makes_scores_depend_on_relative_position_only():
    g = torch.Generator().manual_seed(0)
    q, k = (
        torch.randn(1, 8, dtype=torch.float64, generator=g),
        torch.randn(1, 8, generator=g).double(),
    )

    def score(p, s):
        return (apply_rotary(q, [p]) @ apply_rotary(k, [s]).T).item()

    assert score(5, 2) == pytest.approx(score(13, 10), abs=1e-10)
    assert score(5, 2) != pytest.approx(score(5, 3), abs=1e-6)
    torch.testing.assert_close(apply_rotary(q, [0]), q)  # position 0: no rotation
    torch.testing.assert_close(apply_rotary(q, [7]).norm(), q.norm())  # a rotation


def test_clear_errors():
    q, k, v = _qkv()
    with pytest.raises(ValueError, match=r"does not broadcast.*\(2, 3, 5, 5\)"):
        scaled_dot_product_attention(q, k, v, mask=torch.ones(4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="share the last dimension"):
        scaled_dot_product_attention(q, k[..., :3], v)
    with pytest.raises(ValueError, match="same length"):
        scaled_dot_product_attention(q, k, v[..., :4, :])
    mha = MultiHeadAttention(8, 2)
    with pytest.raises(ValueError, match=r"\(B, T, d_model=8\)"):
        mha(torch.randn(2, 5, 6))
    with pytest.raises(ValueError, match="does not broadcast"):
        mha(torch.randn(2, 5, 8), mask=torch.ones(2, 1, 1, 4, dtype=torch.bool), fused=True)
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(10, 3)
    with pytest.raises(ValueError, match=r"lengths must lie in \[0, 5\]"):
        padding_mask([6, 2], 5)
    with pytest.raises(ValueError, match="even"):
        sinusoidal_positional_encoding(10, 7)
    with pytest.raises(ValueError, match="sizes differ"):
        MultiHeadAttention(8, 2).load_from_torch(nn.MultiheadAttention(8, 4, batch_first=True))
