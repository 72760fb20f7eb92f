"""A decoder-only Transformer (GPT), readable in one sitting (Chapter 7; counted in Chapter 1).

Shapes: B = batch, T = sequence length (<= ``block_size``), C = ``n_embd``,
H = ``n_head``, D = C / H (head width), V = ``vocab_size``.

The block is pre-norm (LayerNorm before attention and before the MLP, residual around
each), as in GPT-2 and GPT-3. Attention is written out explicitly (:func:`causal_attention`)
and also offered through PyTorch's fused ``F.scaled_dot_product_attention``; the tests prove
the two agree. GPT-3's alternating sparse attention changes no parameter count and is
not modelled.

Generation (:meth:`GPT.generate`) can keep a key-value cache (:class:`KVCache`): the keys and
values of past positions are stored, so each new token costs one position's work instead of
the whole context's; the tokens are the same as without the cache (tested).
Counting: :func:`gpt_parameter_formula` (the 12·L·d² rule) and
:func:`estimate_flops_per_token` (≈ 6N for training, plus attention).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from companion.parameters import count_parameters  # noqa: F401 - re-exported for the chapter


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
    """Explicit masked scaled dot-product attention, eq. (ch07-attention).

    q: (B, H, T_q, D), k, v: (B, H, T_k, D) with T_q <= T_k -> (B, H, T_q, D). The queries are
    the last T_q positions (T_q < T_k when a key-value cache holds the earlier ones).
    """
    t_q, t_k = q.size(-2), k.size(-2)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (B, H, T_q, T_k)
    future = torch.ones(t_q, t_k, dtype=torch.bool, device=q.device).triu(t_k - t_q + 1)
    scores = scores.masked_fill(future, float("-inf"))
    return scores.softmax(dim=-1) @ v


class KVCache:
    """Keys and values of the positions seen so far, one (k, v) pair per layer.

    Each k, v: (B, H, T_past, D). :meth:`GPT.forward` appends to it when given one.
    """

    def __init__(self, n_layer: int):
        self.layers: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * n_layer

    def __len__(self) -> int:  # number of cached positions
        first = self.layers[0]
        return 0 if first is None else first[0].size(-2)

    def update(self, i: int, k: torch.Tensor, v: torch.Tensor):
        """Append this step's k, v (B, H, T_new, D) to layer i; return all of them."""
        if self.layers[i] is not None:
            k = torch.cat((self.layers[i][0], k), dim=-2)
            v = torch.cat((self.layers[i][1], v), dim=-2)
        self.layers[i] = (k, v)
        return k, v


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig, fused: bool = True):
        super().__init__()
        self.n_head, self.n_embd, self.fused = cfg.n_head, cfg.n_embd, fused
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.dropout = nn.Dropout(cfg.dropout)

    def heads(self, x: torch.Tensor):
        """x: (B, T, C) -> q, k, v, each (B, H, T, D)."""
        B, T, C = x.shape
        if C != self.n_embd:
            raise ValueError(f"expected input (B, T, n_embd={self.n_embd}), got {tuple(x.shape)}")
        q, k, v = self.qkv(x).split(C, dim=2)
        return (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0):
        B, T, C = x.shape  # x: (B, T, C)
        q, k, v = self.heads(x)
        if cache is not None:
            k, v = cache.update(layer, k, v)  # (B, H, T_past + T, D)
        if self.fused:
            p = self.dropout.p if self.training else 0.0
            t_k = k.size(-2)
            if T == t_k or T == 1:  # whole sequence, or one new token that may see everything
                y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=T > 1)
            else:  # several new tokens after a cache: causal mask aligned to the end
                mask = torch.ones(T, t_k, dtype=torch.bool, device=x.device).tril(t_k - T)
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
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

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0):
        """x: (B, T, C) -> (B, T, C), eq. (ch07-block): x + attn(ln1(x)), then + mlp(ln2(x))."""
        C = self.ln1.normalized_shape[0]
        if x.ndim != 3 or x.size(-1) != C:
            raise ValueError(f"expected input (B, T, n_embd={C}), got {tuple(x.shape)}")
        x = x + self.attn(self.ln1(x), cache, layer)
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

    def _check_ids(self, idx: torch.Tensor, past: int = 0) -> None:
        if not torch.is_tensor(idx) or idx.ndim != 2 or idx.dtype != torch.long:
            got = f"{tuple(idx.shape)} {idx.dtype}" if torch.is_tensor(idx) else type(idx).__name__
            raise ValueError(f"idx must be a (B, T) tensor of int64 token ids, got {got}")
        if idx.numel() and (idx.min() < 0 or idx.max() >= self.cfg.vocab_size):
            raise ValueError(
                f"token ids must lie in [0, vocab_size={self.cfg.vocab_size}), got "
                f"[{idx.min().item()}, {idx.max().item()}]"
            )
        if past + idx.size(1) > self.cfg.block_size:
            raise ValueError(
                f"sequence length {past + idx.size(1)} exceeds the context size "
                f"block_size={self.cfg.block_size}"
            )

    def forward(self, idx: torch.Tensor, kv_cache: KVCache | None = None) -> torch.Tensor:
        """idx: (B, T) token ids -> logits (B, T, V).

        With ``kv_cache``, idx holds the *new* tokens only; they sit at positions
        len(cache)..len(cache)+T-1, and their keys and values are appended to the cache.
        """
        past = 0 if kv_cache is None else len(kv_cache)
        self._check_ids(idx, past)
        pos = torch.arange(past, past + idx.size(1), device=idx.device)
        x = self.drop(self.tok_emb(idx) + self.pos_emb(pos))  # (B, T, C)
        for i, block in enumerate(self.blocks):
            x = block(x, kv_cache, i)
        return self.lm_head(self.ln_f(x))

    @torch.no_grad()
    def attention_maps(self, idx: torch.Tensor) -> list[torch.Tensor]:
        """The attention weights of every layer, computed explicitly: a list of (B, H, T, T)."""
        from companion.attention import scaled_dot_product_attention

        self._check_ids(idx)
        x = self.tok_emb(idx) + self.pos_emb(torch.arange(idx.size(1), device=idx.device))
        maps = []
        for block in self.blocks:
            q, k, v = block.attn.heads(block.ln1(x))
            maps.append(scaled_dot_product_attention(q, k, v, is_causal=True)[1])
            x = block(x)
        return maps

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        use_cache: bool = True,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Extend idx (B, T) by ``max_new_tokens`` tokens -> (B, T + max_new_tokens).

        ``temperature=0`` picks the most likely token (greedy); otherwise tokens are sampled
        from softmax(logits / temperature), restricted to the ``top_k`` most likely. Once the
        sequence fills the context, the oldest tokens drop out of it (sliding window) and the
        cache is rebuilt, so ``use_cache`` never changes the tokens.
        """
        self._check_ids(idx[:, -self.cfg.block_size :] if torch.is_tensor(idx) else idx)
        if max_new_tokens < 0 or temperature < 0:
            raise ValueError(
                f"need max_new_tokens >= 0 and temperature >= 0, got "
                f"{max_new_tokens}, {temperature}"
            )
        if top_k is not None and not 1 <= top_k <= self.cfg.vocab_size:
            raise ValueError(f"top_k must lie in [1, {self.cfg.vocab_size}], got {top_k}")
        was_training, cache = self.training, None
        self.eval()
        for _ in range(max_new_tokens):
            if cache is not None and len(cache) < self.cfg.block_size:
                logits = self(idx[:, -1:], kv_cache=cache)  # one new position
            else:  # first step, no cache, or a full window: run on the last block_size tokens
                cache = KVCache(self.cfg.n_layer) if use_cache else None
                logits = self(idx[:, -self.cfg.block_size :], kv_cache=cache)
            logits = logits[:, -1, :]  # (B, V)
            if temperature == 0:
                nxt = logits.argmax(dim=-1, keepdim=True)
            else:
                logits = logits / temperature
                if top_k is not None:
                    kth = torch.topk(logits, top_k).values[:, -1:]
                    logits = logits.masked_fill(logits < kth, float("-inf"))
                nxt = torch.multinomial(logits.softmax(dim=-1), 1, generator=generator)
            idx = torch.cat((idx, nxt), dim=1)
        self.train(was_training)
        return idx


def gpt_parameter_formula(cfg: GPTConfig) -> int:
    """Exact parameter count of :class:`GPT` in closed form (Chapter 7, the 12·L·d² rule).

    Per block: attention 4d² + 4d, MLP 8d² + 5d, two LayerNorms 4d, i.e. 12d² + 13d.
    Embeddings: (V + block_size)·d; final LayerNorm 2d; the LM head is tied.
    """
    d, L = cfg.n_embd, cfg.n_layer
    if not (cfg.bias and cfg.tie_weights):
        raise NotImplementedError("closed form written for bias=True, tie_weights=True")
    return L * (12 * d * d + 13 * d) + (cfg.vocab_size + cfg.block_size) * d + 2 * d


def estimate_flops_per_token(
    cfg: GPTConfig, seq_len: int | None = None, training: bool = True
) -> int:
    """FLOPs per token of :class:`GPT` (Chapter 7, "Counting"; after Kaplan et al. 2020, Tab. 1).

    Forward: 2 FLOPs (a multiply and an add) per weight of every matrix product,
    2·(12·L·d² + V·d) with the LM head, plus attention's QKᵀ and (weights)·V,
    2·2·L·T·d for a context of T = ``seq_len`` (default ``block_size``) tokens; Kaplan et
    al. count only QKᵀ, 2·L·T·d. Training adds the backward pass, about twice the forward:
    3 × forward ≈ 6N + 12·L·T·d.
    Embedding look-ups, LayerNorms, softmax and biases are ignored (a fraction of a percent).
    """
    T = cfg.block_size if seq_len is None else seq_len
    if not 1 <= T <= cfg.block_size:
        raise ValueError(f"seq_len must lie in [1, block_size={cfg.block_size}], got {T}")
    d, L = cfg.n_embd, cfg.n_layer
    forward = 2 * (12 * L * d * d + cfg.vocab_size * d) + 4 * L * T * d
    return 3 * forward if training else forward
