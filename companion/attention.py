"""Attention, written out (Chapter 7, "Attention" and "Position").

* :func:`scaled_dot_product_attention` is eq. (ch07-attention), softmax(QKᵀ/√d_k + M)V, with
  a boolean or additive mask and a causal flag; it returns the weights as well as the output.
  PyTorch's fused ``F.scaled_dot_product_attention`` computes the same thing (tests prove it).
* :func:`causal_mask` and :func:`padding_mask` build the two masks a language model needs.
* :class:`MultiHeadAttention` is eq. (ch07-multihead), with the parameter layout of
  ``nn.MultiheadAttention`` (one stacked ``in_proj_weight``) so that it can load its weights.
* :func:`sinusoidal_positional_encoding` and :func:`apply_rotary` add position information.

Shapes: B = batch, H = heads, T_q / T_k = query / key lengths, D = head width,
d_model = H·D. Mask convention (as in ``F.scaled_dot_product_attention``): a boolean mask is
True where a query MAY attend; a float mask is added to the scores (0 or -inf).
``nn.MultiheadAttention``'s ``key_padding_mask`` uses the opposite convention (True = ignore).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def causal_mask(t_q: int, t_k: int | None = None, device=None) -> torch.Tensor:
    """(T_q, T_k) bool, True on and below the diagonal. With T_k > T_q the queries are the
    *last* T_q positions (the situation of a key-value cache): query i sees keys 0..T_k-T_q+i."""
    t_k = t_q if t_k is None else t_k
    if t_q < 1 or t_k < t_q:
        raise ValueError(f"causal_mask needs 1 <= T_q <= T_k, got T_q={t_q}, T_k={t_k}")
    return torch.ones(t_q, t_k, dtype=torch.bool, device=device).tril(diagonal=t_k - t_q)


def padding_mask(lengths, max_len: int) -> torch.Tensor:
    """(B, 1, 1, max_len) bool, True at real tokens: broadcasts against (B, H, T_q, T_k) scores.

    ``lengths``: (B,) number of real tokens in each sequence (the rest is padding on the right).
    """
    lengths = torch.as_tensor(lengths)
    if lengths.ndim != 1 or lengths.dtype.is_floating_point:
        raise ValueError(
            f"lengths must be a (B,) tensor of ints, got {tuple(lengths.shape)} {lengths.dtype}"
        )
    if (lengths < 0).any() or (lengths > max_len).any():
        raise ValueError(f"lengths must lie in [0, {max_len}], got {lengths.tolist()}")
    keep = torch.arange(max_len, device=lengths.device) < lengths[:, None]  # (B, max_len)
    return keep[:, None, None, :]


def _check_mask(mask: torch.Tensor, scores_shape: torch.Size) -> None:
    try:
        ok = torch.broadcast_shapes(mask.shape, scores_shape) == scores_shape
    except RuntimeError:
        ok = False
    if not ok:
        raise ValueError(
            f"mask of shape {tuple(mask.shape)} does not broadcast to the attention "
            f"scores (..., T_q, T_k) = {tuple(scores_shape)}"
        )


def scaled_dot_product_attention(
    q, k, v, mask=None, is_causal: bool = False, scale: float | None = None
):
    """Eq. (ch07-attention): softmax(q kᵀ · scale + mask) v, scale = 1/√D by default.

    q: (..., T_q, D), k: (..., T_k, D), v: (..., T_k, D_v); mask broadcastable to
    (..., T_q, T_k), bool (True = attend) or float (added). Returns (output (..., T_q, D_v),
    weights (..., T_q, T_k)). A query whose every key is masked gets zero weights and a zero
    output (as PyTorch's fused kernel does) instead of NaN.
    """
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not torch.is_tensor(t) or t.ndim < 2:
            raise TypeError(
                f"{name} must be a tensor of shape (..., T, D), got {type(t).__name__}"
                f"{'' if not torch.is_tensor(t) else tuple(t.shape)}"
            )
    if q.size(-1) != k.size(-1):
        raise ValueError(
            f"q and k must share the last dimension D: q {tuple(q.shape)}, k {tuple(k.shape)}"
        )
    if k.size(-2) != v.size(-2):
        raise ValueError(
            f"k and v must have the same length T_k: k {tuple(k.shape)}, v {tuple(v.shape)}"
        )
    scale = 1.0 / math.sqrt(q.size(-1)) if scale is None else scale
    scores = (q @ k.transpose(-2, -1)) * scale  # (..., T_q, T_k)
    blocked = torch.zeros((), dtype=torch.bool, device=q.device)
    if is_causal:
        blocked = ~causal_mask(q.size(-2), k.size(-2), device=q.device)
    if mask is not None:
        _check_mask(mask, scores.shape)
        if mask.dtype == torch.bool:
            blocked = blocked | ~mask
        else:
            scores = scores + mask
    scores = scores.masked_fill(blocked, float("-inf"))
    weights = scores.softmax(dim=-1)
    weights = weights.masked_fill((scores == float("-inf")).all(-1, keepdim=True), 0.0)
    return weights @ v, weights


class MultiHeadAttention(nn.Module):
    """Eq. (ch07-multihead): Concat(head_1..head_H) W^O, head_h = Attention(QW_h^Q, KW_h^K, VW_h^V).

    Parameters as in ``nn.MultiheadAttention``: ``in_proj_weight`` (3·d_model, d_model) stacks
    W^Q, W^K, W^V (each (d_model, d_model), head h owns rows h·D..(h+1)·D of each);
    ``out_proj`` is W^O. Inputs are batch-first: (B, T, d_model).
    """

    def __init__(self, d_model: int, n_head: int, bias: bool = True):
        super().__init__()
        if d_model % n_head:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_head ({n_head})")
        self.d_model, self.n_head = d_model, n_head
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d_model, d_model))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * d_model)) if bias else None
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)
        nn.init.xavier_uniform_(self.in_proj_weight)

    @torch.no_grad()
    def load_from_torch(self, mha: nn.MultiheadAttention) -> MultiHeadAttention:
        """Copy the weights of a batch-first ``nn.MultiheadAttention`` with the same sizes."""
        if (mha.embed_dim, mha.num_heads) != (self.d_model, self.n_head):
            raise ValueError(
                f"sizes differ: torch has embed_dim={mha.embed_dim}, num_heads="
                f"{mha.num_heads}; this has {self.d_model}, {self.n_head}"
            )
        if not mha._qkv_same_embed_dim:
            raise ValueError("only nn.MultiheadAttention with kdim = vdim = embed_dim is supported")
        self.in_proj_weight.copy_(mha.in_proj_weight)
        if self.in_proj_bias is not None:
            self.in_proj_bias.copy_(mha.in_proj_bias)
        self.out_proj.load_state_dict(mha.out_proj.state_dict())
        return self

    def _heads(self, x: torch.Tensor, which: int) -> torch.Tensor:  # (B, T, C) -> (B, H, T, D)
        C = self.d_model
        w = self.in_proj_weight[which * C : (which + 1) * C]
        b = None if self.in_proj_bias is None else self.in_proj_bias[which * C : (which + 1) * C]
        B, T, _ = x.shape
        return F.linear(x, w, b).view(B, T, self.n_head, C // self.n_head).transpose(1, 2)

    def forward(
        self, query, key=None, value=None, mask=None, is_causal: bool = False, fused: bool = False
    ):
        """query (B, T_q, d_model), key/value (B, T_k, d_model) (default: self-attention).

        Returns (output (B, T_q, d_model), weights (B, H, T_q, T_k)); with ``fused=True``
        PyTorch's kernel is used and the weights are not formed (None).
        """
        key = query if key is None else key
        value = key if value is None else value
        for name, t in (("query", query), ("key", key), ("value", value)):
            if t.ndim != 3 or t.size(-1) != self.d_model:
                raise ValueError(
                    f"{name} must have shape (B, T, d_model={self.d_model}), got {tuple(t.shape)}"
                )
        q, k, v = self._heads(query, 0), self._heads(key, 1), self._heads(value, 2)
        if fused:
            if mask is not None:
                _check_mask(mask, torch.Size((*q.shape[:-1], k.size(-2))))
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal)
            weights = None
        else:
            y, weights = scaled_dot_product_attention(q, k, v, mask, is_causal)
        B, H, T, D = y.shape
        return self.out_proj(y.transpose(1, 2).reshape(B, T, H * D)), weights


def sinusoidal_positional_encoding(n_positions: int, d_model: int, base: float = 10000.0):
    """Eq. (ch07-sinusoid): PE[p, 2i] = sin(p / base^(2i/d)), PE[p, 2i+1] = cos(same). (T, d)."""
    if d_model % 2 or d_model < 2 or n_positions < 1:
        raise ValueError(f"need n_positions >= 1 and an even d_model, got {n_positions}, {d_model}")
    pos = torch.arange(n_positions, dtype=torch.float64)[:, None]  # (T, 1)
    freq = base ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)  # (d/2,)
    pe = torch.empty(n_positions, d_model, dtype=torch.float64)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * freq), torch.cos(pos * freq)
    return pe.float()


def apply_rotary(x: torch.Tensor, positions=None, base: float = 10000.0) -> torch.Tensor:
    """Rotary position embedding (RoFormer): rotate each pair (x_2i, x_2i+1) of a query or key
    by the angle p·base^(-2i/D). x: (..., T, D), D even. Then q_p·k_s depends on p - s only."""
    T, D = x.shape[-2:]
    if D % 2:
        raise ValueError(f"rotary embedding needs an even head width D, got {tuple(x.shape)}")
    pos = torch.arange(T, device=x.device) if positions is None else torch.as_tensor(positions)
    freq = base ** (-torch.arange(0, D, 2, device=x.device, dtype=torch.float64) / D)
    angle = (pos.to(torch.float64)[:, None] * freq).to(x.dtype)  # (T, D/2)
    cos, sin = angle.cos(), angle.sin()
    even, odd = x[..., 0::2], x[..., 1::2]
    return torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1).flatten(-2)
