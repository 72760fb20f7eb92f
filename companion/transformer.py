"""A decoder-only Transformer (GPT), readable in one sitting (Chapter 7; counted in Chapter 1).

Shapes: B = batch, T = sequence length (<= ``block_size``), C = ``n_embd``,
H = ``n_head``, D = C / H (head width), V = ``vocab_size``.

The block is pre-norm (LayerNorm before attention and before the MLP, residual around
each), as in GPT-2 and GPT-3. Attention is written out explicitly (:func:`causal_attention`)
and also offered through PyTorch's fused ``F.scaled_dot_product_attention``; the tests prove
the two agree. GPT-3's alternating sparse attention changes no parameter count and is
not modelled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int = 50257
    block_size: int = 1024
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True
    tie_weights: bool = True  # output projection shares the token-embedding matrix (GPT-2)

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")


# Published configurations (Radford et al. 2019; Brown et al. 2020, Table 2.1).
GPT2_SMALL = GPTConfig(n_layer=12, n_head=12, n_embd=768)
GPT2_MEDIUM = GPTConfig(n_layer=24, n_head=16, n_embd=1024)
GPT2_LARGE = GPTConfig(n_layer=36, n_head=20, n_embd=1280)
GPT2_XL = GPTConfig(n_layer=48, n_head=25, n_embd=1600)
GPT3_175B = GPTConfig(n_layer=96, n_head=96, n_embd=12288, block_size=2048)


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Explicit masked scaled dot-product attention. q, k, v: (B, H, T, D) -> (B, H, T, D)."""
    T = q.size(-2)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (B, H, T, T)
    future = torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1)
    scores = scores.masked_fill(future, float("-inf"))
    return scores.softmax(dim=-1) @ v


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig, fused: bool = True):
        super().__init__()
        self.n_head, self.fused = cfg.n_head, fused
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, T, C)
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        if self.fused:
            p = self.dropout.p if self.training else 0.0
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        else:
            y = causal_attention(q, k, v)
        y = y.transpose(1, 2).reshape(B, T, C)  # re-join the heads
        return self.dropout(self.proj(y))


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.up = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
        self.down = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.down(F.gelu(self.up(x))))


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig, fused: bool = True):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.attn = CausalSelfAttention(cfg, fused)
        self.ln2 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.mlp = MLP(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """Token + learned position embeddings, ``n_layer`` blocks, final LayerNorm, LM head."""

    def __init__(self, cfg: GPTConfig, fused: bool = True):
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.pos_emb = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg, fused) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        if cfg.tie_weights:
            self.lm_head.weight = self.tok_emb.weight
        if self.tok_emb.weight.device.type != "meta":
            self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """idx: (B, T) token ids -> logits (B, T, V)."""
        if idx.ndim != 2 or idx.dtype != torch.long:
            raise ValueError(
                f"idx must be a (B, T) tensor of int64 token ids, got "
                f"{tuple(idx.shape)} {idx.dtype}"
            )
        T = idx.size(1)
        if T > self.cfg.block_size:
            raise ValueError(
                f"sequence length {T} exceeds the context size block_size={self.cfg.block_size}"
            )
        pos = torch.arange(T, device=idx.device)
        x = self.drop(self.tok_emb(idx) + self.pos_emb(pos))  # (B, T, C)
        for block in self.blocks:
            x = block(x)
        return self.lm_head(self.ln_f(x))


def count_parameters(model: nn.Module) -> int:
    """Number of distinct parameters (a tied matrix counts once)."""
    return sum(p.numel() for p in model.parameters())


def gpt_parameter_formula(cfg: GPTConfig) -> int:
    """Exact parameter count of :class:`GPT` in closed form (Chapter 7, the 12·L·d² rule).

    Per block: attention 4d² + 4d, MLP 8d² + 5d, two LayerNorms 4d, i.e. 12d² + 13d.
    Embeddings: (V + block_size)·d; final LayerNorm 2d; the LM head is tied.
    """
    d, L = cfg.n_embd, cfg.n_layer
    if not (cfg.bias and cfg.tie_weights):
        raise NotImplementedError("closed form written for bias=True, tie_weights=True")
    return L * (12 * d * d + 13 * d) + (cfg.vocab_size + cfg.block_size) * d + 2 * d
