"""Attention, written out (Chapter 7, "Attention", "Multi-head attention" and "Position").

This module is the book's *one* implementation of attention; :mod:`companion.transformer`
(GPT) and :mod:`companion.bert` build on it.

* :func:`scaled_dot_product_attention` is eq. (ch07-attention), softmax(QKᵀ/√d_k + M)V, with
  a boolean or additive mask and a causal flag; it returns the weights as well as the output.
* :func:`attention` runs either that explicit version or PyTorch's fused
  ``F.scaled_dot_product_attention`` with the *same* masking rules (the tests prove they agree).
* :func:`causal_mask` and :func:`padding_mask` build the two masks a language model needs.
* :func:`split_heads` / :func:`merge_heads` reshape (B, T, H·D) <-> (B, H, T, D).
* :class:`MultiHeadAttention` is eq. (ch07-multihead), with the parameter layout of
  ``nn.MultiheadAttention`` (one stacked ``in_proj_weight``) so that it can load its weights.
* :func:`sinusoidal_positional_encoding` and :func:`apply_rotary` add position information.

Shapes: B = batch, H = heads, T_q / T_k = query / key lengths, D = head width,
d_model = H·D. Mask convention (as in ``F.scaled_dot_product_attention``): a boolean mask is
True where a query MAY attend; a floating mask is *added* to the scores (0 or -inf). Integer
masks are refused (adding a 0/1 mask would mask nothing). ``nn.MultiheadAttention``'s
``key_padding_mask`` uses the opposite convention (True = ignore).

Causal masking with T_q < T_k (a key-value cache holds the earlier positions) aligns the
queries with the *last* T_q keys (bottom right), in both the explicit and the fused path;
PyTorch's own ``is_causal=True`` aligns top left, so the fused path passes an explicit mask.
T_q > T_k with a causal mask is refused: the first queries would see no key at all.

Inputs are validated with :mod:`companion.validation`: tensors are not converted (a NumPy
array or list is refused with a TypeError), q, k, v must share one floating dtype and device.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from companion.validation import (
    check_bool,
    check_fraction,
    check_index_tensor,
    check_positive,
    check_positive_int,
    check_same_device,
    check_tensor,
    describe,
)

__all__ = [
    "causal_mask",
    "padding_mask",
    "scaled_dot_product_attention",
    "attention",
    "split_heads",
    "merge_heads",
    "MultiHeadAttention",
    "sinusoidal_positional_encoding",
    "apply_rotary",
]


def causal_mask(t_q: int, t_k: int | None = None, device=None) -> torch.Tensor:
    """(T_q, T_k) bool, True on and below the diagonal. With T_k > T_q the queries are the
    *last* T_q positions (the situation of a key-value cache): query i sees keys 0..T_k-T_q+i."""
    t_q = check_positive_int(t_q, "t_q")
    t_k = t_q if t_k is None else check_positive_int(t_k, "t_k")
    if t_k < t_q:
        raise ValueError(
            f"causal_mask needs t_q <= t_k (the queries are the last t_q positions), "
            f"got t_q={t_q}, t_k={t_k}"
        )
    return torch.ones(t_q, t_k, dtype=torch.bool, device=device).tril(diagonal=t_k - t_q)


def padding_mask(lengths, max_len: int) -> torch.Tensor:
    """(B, 1, 1, max_len) bool, True at real tokens: broadcasts against (B, H, T_q, T_k) scores.

    ``lengths``: (B,) integer tensor (a list is converted) of the number of real tokens in each
    sequence (the rest is padding on the right).
    """
    max_len = check_positive_int(max_len, "max_len")
    if isinstance(lengths, (list, tuple)):
        lengths = torch.as_tensor(lengths)
    lengths = check_index_tensor(lengths, "lengths", shape=(None,))
    if lengths.numel() and (int(lengths.min()) < 0 or int(lengths.max()) > max_len):
        raise ValueError(f"lengths must lie in [0, {max_len}], got {lengths.tolist()}")
    keep = torch.arange(max_len, device=lengths.device) < lengths[:, None]  # (B, max_len)
    return keep[:, None, None, :]


def _check_qkv(q, k, v) -> None:
    for name, t in (("q", q), ("k", k), ("v", v)):
        check_tensor(t, name, dtype="float")
        if t.ndim < 2:
            raise ValueError(f"{name} must have shape (..., T, D), got {tuple(t.shape)}")
    for name, t in (("k", k), ("v", v)):
        if t.dtype != q.dtype:
            raise TypeError(f"q and {name} must share one dtype, got {q.dtype} and {t.dtype}")
        check_same_device("q", q, name, t)
    if q.size(-1) != k.size(-1):
        raise ValueError(
            f"q and k must share the last dimension D: q {tuple(q.shape)}, k {tuple(k.shape)}"
        )
    if k.size(-2) != v.size(-2):
        raise ValueError(
            f"k and v must have the same length T_k: k {tuple(k.shape)}, v {tuple(v.shape)}"
        )


def _check_mask(mask, scores_shape: torch.Size, q: torch.Tensor) -> torch.Tensor:
    """A bool mask (True = attend) or a float mask of q's dtype, broadcastable to the scores."""
    check_tensor(mask, "mask")
    if mask.dtype != torch.bool:
        if not mask.dtype.is_floating_point:
            raise TypeError(
                f"mask must be bool (True = may attend) or a floating additive mask (0 or "
                f"-inf), got {mask.dtype}: an integer 0/1 mask would be added to the scores "
                "and mask nothing; convert it with mask.bool()"
            )
        if mask.dtype != q.dtype:
            raise TypeError(f"an additive mask must have the dtype of q ({q.dtype}), got "
                            f"{mask.dtype}")  # fmt: skip
    check_same_device("q", q, "mask", mask)
    try:
        ok = torch.broadcast_shapes(mask.shape, scores_shape) == scores_shape
    except RuntimeError:
        ok = False
    if not ok:
        raise ValueError(
            f"mask of shape {tuple(mask.shape)} does not broadcast to the attention "
            f"scores (..., T_q, T_k) = {tuple(scores_shape)}"
        )
    return mask


def _check_causal(is_causal, t_q: int, t_k: int) -> bool:
    check_bool(is_causal, "is_causal")
    if is_causal and t_q > t_k:
        raise ValueError(
            f"is_causal needs T_q <= T_k (queries are the last T_q positions), got "
            f"T_q={t_q}, T_k={t_k}: the first queries would see no key"
        )
    return is_causal


def scaled_dot_product_attention(
    q, k, v, mask=None, is_causal: bool = False, scale: float | None = None,
    dropout_p: float = 0.0,
):  # fmt: skip
    """Eq. (ch07-attention): softmax(q kᵀ · scale + mask) v, scale = 1/√D by default.

    q: (..., T_q, D), k: (..., T_k, D), v: (..., T_k, D_v); mask broadcastable to
    (..., T_q, T_k), bool (True = attend) or float (added). Returns (output (..., T_q, D_v),
    weights (..., T_q, T_k)). A query whose every key is masked gets zero weights and a zero
    output (as PyTorch's fused kernel does) instead of NaN. ``dropout_p`` drops attention
    weights (training only; the returned weights are those before dropout).
    """
    _check_qkv(q, k, v)
    t_q, t_k = q.size(-2), k.size(-2)
    _check_causal(is_causal, t_q, t_k)
    scale = 1.0 / math.sqrt(q.size(-1)) if scale is None else check_positive(scale, "scale")
    dropout_p = check_fraction(dropout_p, "dropout_p")
    scores = (q @ k.transpose(-2, -1)) * scale  # (..., T_q, T_k)
    blocked = torch.zeros((), dtype=torch.bool, device=q.device)
    if is_causal:
        blocked = ~causal_mask(t_q, t_k, device=q.device)
    if mask is not None:
        _check_mask(mask, scores.shape, q)
        if mask.dtype == torch.bool:
            blocked = blocked | ~mask
        else:
            scores = scores + mask
    scores = scores.masked_fill(blocked, float("-inf"))
    weights = scores.softmax(dim=-1)
    weights = weights.masked_fill((scores == float("-inf")).all(-1, keepdim=True), 0.0)
    dropped = F.dropout(weights, dropout_p) if dropout_p > 0 else weights
    return dropped @ v, weights


def attention(
    q, k, v, mask=None, is_causal: bool = False, fused: bool = False, dropout_p: float = 0.0
):
    """Attention through the explicit path or PyTorch's fused kernel, with the same masks.

    Shapes as in :func:`scaled_dot_product_attention`. Returns (output, weights); the fused
    path does not form the weights and returns None for them. With ``is_causal`` and
    T_q < T_k, both paths align the queries with the last keys (a key-value cache).
    """
    if not check_bool(fused, "fused"):
        return scaled_dot_product_attention(q, k, v, mask, is_causal, dropout_p=dropout_p)
    _check_qkv(q, k, v)
    t_q, t_k = q.size(-2), k.size(-2)
    _check_causal(is_causal, t_q, t_k)
    dropout_p = check_fraction(dropout_p, "dropout_p")
    if mask is not None:
        _check_mask(mask, torch.Size((*q.shape[:-1], t_k)), q)
    if is_causal and t_q == t_k and mask is None:
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True), None
    if is_causal and t_q > 1:  # torch's is_causal aligns top left: pass the bottom-right mask
        causal = causal_mask(t_q, t_k, device=q.device)
        if mask is None:
            mask = causal
        elif mask.dtype == torch.bool:
            mask = mask & causal
        else:
            mask = mask.masked_fill(~causal, float("-inf"))
    # (one query, T_q = 1, is the newest position: it may see every key, no causal mask)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p), None


def split_heads(x: torch.Tensor, n_head: int) -> torch.Tensor:
    """(B, T, H·D) -> (B, H, T, D): head h owns features h·D..(h+1)·D-1."""
    B, T, C = x.shape
    return x.view(B, T, n_head, C // n_head).transpose(1, 2)


def merge_heads(y: torch.Tensor) -> torch.Tensor:
    """(B, H, T, D) -> (B, T, H·D), the inverse of :func:`split_heads` (the Concat of eq.
    ch07-multihead)."""
    B, H, T, D = y.shape
    return y.transpose(1, 2).reshape(B, T, H * D)


def check_model_input(x, name: str, d_model: int, like: torch.Tensor) -> torch.Tensor:
    """A (B, T, d_model) float tensor of the dtype and device of the parameter ``like``."""
    check_tensor(x, name, dtype="float", ndim=3, shape=("B", "T", d_model))
    if x.dtype != like.dtype:
        raise TypeError(
            f"{name} has dtype {x.dtype} but the model's weights are {like.dtype}; convert "
            f"the input with .to({like.dtype}) (or the model with .to({x.dtype}))"
        )
    check_same_device(name, x, "the model", like)
    return x


class MultiHeadAttention(nn.Module):
    """Eq. (ch07-multihead): Concat(head_1..head_H) W^O, head_h = Attention(QW_h^Q, KW_h^K, VW_h^V).

    Parameters as in ``nn.MultiheadAttention``: ``in_proj_weight`` (3·d_model, d_model) stacks
    W^Q, W^K, W^V (each (d_model, d_model), head h owns rows h·D..(h+1)·D of each);
    ``out_proj`` is W^O. Inputs are batch-first: (B, T, d_model).
    """

    def __init__(self, d_model: int, n_head: int, bias: bool = True):
        super().__init__()
        d_model = check_positive_int(d_model, "d_model")
        n_head = check_positive_int(n_head, "n_head")
        check_bool(bias, "bias")
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
        if not isinstance(mha, nn.MultiheadAttention):
            raise TypeError(f"mha must be an nn.MultiheadAttention, got {describe(mha)}")
        if (mha.embed_dim, mha.num_heads) != (self.d_model, self.n_head):
            raise ValueError(
                f"sizes differ: torch has embed_dim={mha.embed_dim}, num_heads="
                f"{mha.num_heads}; this has {self.d_model}, {self.n_head}"
            )
        if not mha._qkv_same_embed_dim:
            raise ValueError("only nn.MultiheadAttention with kdim = vdim = embed_dim is supported")
        if (mha.in_proj_bias is None) != (self.in_proj_bias is None):
            raise ValueError("bias differs: build both with the same bias setting")
        self.in_proj_weight.copy_(mha.in_proj_weight)
        if self.in_proj_bias is not None:
            self.in_proj_bias.copy_(mha.in_proj_bias)
        self.out_proj.load_state_dict(mha.out_proj.state_dict())
        return self

    def _heads(self, x: torch.Tensor, which: int) -> torch.Tensor:  # (B, T, C) -> (B, H, T, D)
        C = self.d_model
        w = self.in_proj_weight[which * C : (which + 1) * C]
        b = None if self.in_proj_bias is None else self.in_proj_bias[which * C : (which + 1) * C]
        return split_heads(F.linear(x, w, b), self.n_head)

    def forward(
        self, query, key=None, value=None, mask=None, is_causal: bool = False, fused: bool = False
    ):
        """query (B, T_q, d_model), key/value (B, T_k, d_model) (default: self-attention).

        ``key`` != ``query`` is cross-attention (the decoder reading the encoder's output).
        Returns (output (B, T_q, d_model), weights (B, H, T_q, T_k)); with ``fused=True``
        PyTorch's kernel is used and the weights are not formed (None).
        """
        key = query if key is None else key
        value = key if value is None else value
        for name, t in (("query", query), ("key", key), ("value", value)):
            check_model_input(t, name, self.d_model, self.in_proj_weight)
        if key.size(0) != query.size(0) or value.shape[:2] != key.shape[:2]:
            raise ValueError(
                f"query, key and value must share the batch size B and key/value the length "
                f"T_k: got {tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}"
            )
        q, k, v = self._heads(query, 0), self._heads(key, 1), self._heads(value, 2)
        y, weights = attention(q, k, v, mask, is_causal, fused=fused)
        return self.out_proj(merge_heads(y)), weights


def sinusoidal_positional_encoding(n_positions: int, d_model: int, base: float = 10000.0):
    """Eq. (ch07-sinusoid): PE[p, 2i] = sin(p / base^(2i/d)), PE[p, 2i+1] = cos(same). (T, d)."""
    n_positions = check_positive_int(n_positions, "n_positions")
    d_model = check_positive_int(d_model, "d_model")
    base = check_positive(base, "base")
    if d_model % 2:
        raise ValueError(f"d_model must be even, got {d_model}")
    pos = torch.arange(n_positions, dtype=torch.float64)[:, None]  # (T, 1)
    freq = base ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)  # (d/2,)
    pe = torch.empty(n_positions, d_model, dtype=torch.float64)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * freq), torch.cos(pos * freq)
    return pe.float()


def apply_rotary(x: torch.Tensor, positions=None, base: float = 10000.0) -> torch.Tensor:
    """Rotary position embedding (RoFormer): rotate each pair (x_2i, x_2i+1) of a query or key
    by the angle p·base^(-2i/D). x: (..., T, D), D even. Then q_p·k_s depends on p - s only.

    ``positions``: T integer positions (a tensor or a list, converted; default 0..T-1), one
    per row of x; a single position is not broadcast over T (pass it once per row).
    """
    check_tensor(x, "x", dtype="float")
    if x.ndim < 2:
        raise ValueError(f"x must have shape (..., T, D), got {tuple(x.shape)}")
    base = check_positive(base, "base")
    T, D = x.shape[-2:]
    if D % 2:
        raise ValueError(f"rotary embedding needs an even head width D, got x {tuple(x.shape)}")
    if positions is None:
        pos = torch.arange(T, device=x.device)
    else:
        if isinstance(positions, (list, tuple)):
            positions = torch.as_tensor(positions)
        pos = check_tensor(positions, "positions", dtype="int", ndim=1)
        if pos.numel() != T:
            raise ValueError(
                f"positions must hold one position per row of x (T={T}), got {pos.numel()}"
            )
        pos = pos.to(x.device)
    freq = base ** (-torch.arange(0, D, 2, device=x.device, dtype=torch.float64) / D)
    angle = (pos.to(torch.float64)[:, None] * freq).to(x.dtype)  # (T, D/2)
    cos, sin = angle.cos(), angle.sin()
    even, odd = x[..., 0::2], x[..., 1::2]
    return torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1).flatten(-2)
