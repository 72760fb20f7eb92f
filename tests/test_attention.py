"""Tests of companion.attention (Chapter 7): explicit attention against PyTorch's own.

References: ``F.scaled_dot_product_attention`` (with ``torch.nn.attention.bias``'s
``causal_lower_right`` for T_q < T_k), ``nn.MultiheadAttention``, and closed forms.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention.bias import causal_lower_right

from companion.attention import (
    MultiHeadAttention,
    apply_rotary,
    attention,
    causal_mask,
    merge_heads,
    padding_mask,
    scaled_dot_product_attention,
    sinusoidal_positional_encoding,
    split_heads,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def _qkv(B=2, H=3, Tq=5, Tk=5, D=4, seed=0, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    return tuple(
        torch.randn(B, H, T, D, generator=g, dtype=torch.float64).to(device) for T in (Tq, Tk, Tk)
    )


def _lower_right(t_q, t_k):
    """PyTorch's own bottom-right causal mask as a dense bool tensor (True = attend)."""
    q = torch.zeros(1, 1, t_q, 1)
    return causal_lower_right(t_q, t_k)._materialize(q.device)


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
    fused, none = attention(q, k, v, kwargs.get("mask"), kwargs.get("is_causal", False), fused=True)
    assert none is None
    torch.testing.assert_close(fused, ref)
    if case == "causal":  # no weight on the future
        assert (weights.triu(1) == 0).all()
    if case == "padding":  # no weight on padded keys of the second sequence
        assert (weights[1, :, :, 2:] == 0).all()


def test_causal_mask_is_torchs_lower_right_mask():
    for t_q, t_k in ((1, 1), (3, 3), (2, 4), (1, 6), (4, 9)):
        assert torch.equal(causal_mask(t_q, t_k), _lower_right(t_q, t_k))
    assert torch.equal(causal_mask(2, 4), torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]]).bool())


@pytest.mark.parametrize("t_q,t_k", [(1, 5), (2, 5), (4, 7), (5, 5)])
@pytest.mark.parametrize("extra", [None, "bool", "float"])
def test_causal_with_fewer_queries_than_keys_every_entry_point(t_q, t_k, extra):
    """The bug of the first edition: fused + is_causal aligned the mask top left."""
    q, k, v = _qkv(Tq=t_q, Tk=t_k)
    mask = None
    if extra == "bool":
        mask = padding_mask(torch.tensor([t_k, t_k - 1]), t_k)
    elif extra == "float":
        mask = 0.3 * torch.randn(2, 1, t_q, t_k, dtype=torch.float64)
    lower_right = _lower_right(t_q, t_k)
    ref_mask = lower_right  # torch's own bottom-right mask, combined with the extra one
    if extra == "bool":
        ref_mask = lower_right & mask
    if extra == "float":
        ref_mask = mask + torch.zeros(t_q, t_k).double().masked_fill(~lower_right, -math.inf)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=ref_mask)
    explicit, _ = scaled_dot_product_attention(q, k, v, mask, is_causal=True)
    torch.testing.assert_close(explicit, ref)
    for fused in (False, True):
        torch.testing.assert_close(attention(q, k, v, mask, True, fused=fused)[0], ref)
    if t_q < t_k and t_q > 1:  # the wrong variant: torch's top-left is_causal differs
        top_left = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=mask is None)
        if mask is None:
            assert not torch.allclose(top_left, ref)


@pytest.mark.parametrize("t_q,t_k", [(3, 6), (6, 6), (1, 4)])
def test_multihead_causal_paths_agree_with_fewer_queries(t_q, t_k):
    torch.manual_seed(0)
    mha = MultiHeadAttention(12, 3).double()
    x = torch.randn(2, t_k, 12, dtype=torch.float64)
    query = x[:, -t_q:]  # the last t_q positions, as after a key-value cache
    explicit, w = mha(query, x, x, is_causal=True)
    fused, _ = mha(query, x, x, is_causal=True, fused=True)
    torch.testing.assert_close(fused, explicit)
    full, _ = mha(x, is_causal=True)  # self-attention over all positions
    torch.testing.assert_close(explicit, full[:, -t_q:])
    assert (w.masked_select(~causal_mask(t_q, t_k)) == 0).all()


def test_causal_prefix_queries_equal_full_queries_and_fully_masked_rows():
    q, k, v = _qkv(Tq=2, Tk=4)
    out, _ = scaled_dot_product_attention(q, k, v, is_causal=True)
    q_full = torch.cat((k[..., :2, :], q), dim=-2)  # any first two queries; keep the last two
    full, _ = scaled_dot_product_attention(q_full, k, v, is_causal=True)
    torch.testing.assert_close(out, full[..., 2:, :])
    mask = torch.ones(5, 5, dtype=torch.bool)
    mask[0] = False  # query 0 may attend to nothing
    out, w = scaled_dot_product_attention(*_qkv(), mask=mask)
    assert torch.isfinite(out).all() and (out[..., 0, :] == 0).all() and (w[..., 0, :] == 0).all()


def test_integer_mask_is_refused_and_bool_conversion_is_right():
    q, k, v = _qkv(Tq=3, Tk=3)
    int_mask = torch.tril(torch.ones(3, 3, dtype=torch.long))
    for fused in (False, True):
        with pytest.raises(TypeError, match=r"mask.*mask\.bool\(\)"):
            attention(q, k, v, mask=int_mask, fused=fused)
    out, _ = scaled_dot_product_attention(q, k, v, mask=int_mask.bool())
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, is_causal=True))


def test_causal_with_more_queries_than_keys_is_refused():
    q, k, v = _qkv(Tq=5, Tk=3)
    for fused in (False, True):
        with pytest.raises(ValueError, match="T_q <= T_k"):
            attention(q, k, v, is_causal=True, fused=fused)
    out, _ = scaled_dot_product_attention(q, k, v)  # without a causal mask it is fine
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v))


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


def test_split_and_merge_heads_are_inverse_and_match_torch_layout():
    x = torch.arange(2 * 3 * 12.0).view(2, 3, 12)
    h = split_heads(x, 4)
    assert h.shape == (2, 4, 3, 3)
    torch.testing.assert_close(h[:, 1], x[..., 3:6])  # head 1 owns features 3..5
    torch.testing.assert_close(merge_heads(h), x)


def _wrong_split(x, n_head):  # the classic slip: heads taken from interleaved features
    B, T, C = x.shape
    return x.view(B, T, C // n_head, n_head).permute(0, 3, 1, 2)


def test_mha_equals_torch_multihead_attention_and_a_wrong_split_does_not():
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
    y_ref, w_ref = ref(x, x, x, attn_mask=~causal_mask(6), average_attn_weights=False)
    y, w = mine(x, is_causal=True)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(w, w_ref)
    # the wrong head split must fail the same comparison
    C = 12
    q, k, v = (
        _wrong_split(F.linear(x, mine.in_proj_weight[i * C : (i + 1) * C],
                              mine.in_proj_bias[i * C : (i + 1) * C]), 3)
        for i in range(3)
    )  # fmt: skip
    wrong = mine.out_proj(merge_heads(scaled_dot_product_attention(q, k, v, is_causal=True)[0]))
    assert not torch.allclose(wrong, y_ref, atol=1e-3)


def test_cross_attention_with_another_length():
    torch.manual_seed(1)
    ref = nn.MultiheadAttention(8, 2, batch_first=True).double()
    mine = MultiHeadAttention(8, 2).double().load_from_torch(ref)
    decoder, encoder = torch.randn(3, 5, 8).double(), torch.randn(3, 9, 8).double()
    y, w = mine(decoder, encoder)  # queries from the decoder, keys and values from the encoder
    y_ref, w_ref = ref(decoder, encoder, encoder, average_attn_weights=False)
    torch.testing.assert_close(y, y_ref)
    assert w.shape == (3, 2, 5, 9)
    torch.testing.assert_close(w, w_ref)


def test_sinusoidal_encoding_values_and_relative_property():
    pe = sinusoidal_positional_encoding(50, 16).double()
    assert pe.shape == (50, 16)
    torch.testing.assert_close(pe[0], torch.tensor([0.0, 1.0] * 8, dtype=torch.float64))
    assert pe[3, 2].item() == pytest.approx(math.sin(3 / 10000 ** (2 / 16)), abs=1e-6)
    assert pe[7, 5].item() == pytest.approx(math.cos(7 / 10000 ** (4 / 16)), abs=1e-6)
    # the dot product of two encodings depends only on their distance
    assert (pe[10] @ pe[13]).item() == pytest.approx((pe[30] @ pe[33]).item(), abs=1e-5)


def _rotary_complex(x, positions, base=10000.0):
    """An independent formulation: pairs as complex numbers times exp(i·p·θ_j)."""
    D = x.size(-1)
    theta = base ** (-torch.arange(0, D, 2, dtype=torch.float64) / D)
    z = torch.view_as_complex(x.double().reshape(*x.shape[:-1], D // 2, 2).contiguous())
    rot = torch.polar(torch.ones_like(theta), torch.as_tensor(positions).double()[:, None] * theta)
    return torch.view_as_real(z * rot).flatten(-2)


def test_rotary_equals_complex_rotation_and_depends_on_offsets_only():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 5, 8, dtype=torch.float64, generator=g)
    torch.testing.assert_close(apply_rotary(x), _rotary_complex(x, torch.arange(5)))
    pos = torch.tensor([4, 9, 0, 2, 7])
    torch.testing.assert_close(apply_rotary(x, pos), _rotary_complex(x, pos))
    torch.testing.assert_close(apply_rotary(x, pos.tolist()), _rotary_complex(x, pos))
    q, k = torch.randn(1, 8, dtype=torch.float64, generator=g), torch.randn(1, 8, generator=g)
    k = k.double()

    def score(p, s):
        return (apply_rotary(q, [p]) @ apply_rotary(k, [s]).T).item()

    assert score(5, 2) == pytest.approx(score(13, 10), abs=1e-10)
    assert score(5, 2) != pytest.approx(score(5, 3), abs=1e-6)
    torch.testing.assert_close(apply_rotary(q, [0]), q)  # position 0: no rotation


def test_rotary_refuses_one_position_for_many_rows():
    with pytest.raises(ValueError, match="positions must hold one position per row"):
        apply_rotary(torch.randn(5, 8), [3])


def test_clear_errors():
    q, k, v = _qkv()
    with pytest.raises(ValueError, match=r"does not broadcast.*\(2, 3, 5, 5\)"):
        scaled_dot_product_attention(q, k, v, mask=torch.ones(4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="share the last dimension"):
        scaled_dot_product_attention(q, k[..., :3], v)
    with pytest.raises(ValueError, match="same length"):
        scaled_dot_product_attention(q, k, v[..., :4, :])
    mha = MultiHeadAttention(8, 2)
    with pytest.raises(ValueError, match=r"query must have shape \(B, T, 8\)"):
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


@pytest.mark.gpu
@pytest.mark.parametrize("fused", [False, True])
def test_attention_on_cuda_matches_cpu(fused):
    """Both paths, causal with T_q < T_k and with a padding mask; float64 on both devices,
    so the results agree to 1e-10 (only the order of the sums differs)."""
    q, k, v = _qkv(Tq=3, Tk=6)
    mask = padding_mask(torch.tensor([6, 4]), 6)
    cpu, _ = attention(q, k, v, mask, is_causal=True, fused=fused)
    cuda, _ = attention(*(t.cuda() for t in (q, k, v)), mask.cuda(), is_causal=True, fused=fused)
    torch.testing.assert_close(cuda.cpu(), cpu, rtol=1e-10, atol=1e-10)


@pytest.mark.gpu
def test_rotary_with_explicit_positions_on_cuda():
    x = torch.randn(2, 5, 8, dtype=torch.float64)
    pos = torch.tensor([3, 1, 4, 1, 5])  # positions on the CPU, x on the GPU: the old bug
    torch.testing.assert_close(apply_rotary(x.cuda(), pos).cpu(), apply_rotary(x, pos))
