"""A decoder-only Transformer (GPT), readable in one sitting (Chapter 7; counted in Chapter 1).

Shapes: B = batch, T = sequence length (<= ``block_size``), C = ``n_embd``,
H = ``n_head``, D = C / H (head width), V = ``vocab_size``.

The block is pre-norm (LayerNorm before attention and before the MLP, residual around
each), as in GPT-2 and GPT-3; the original Transformer and BERT are post-norm. Attention is
:func:`companion.attention.attention` (the book's one implementation), explicit or through
PyTorch's fused kernel; the tests prove the two agree, and prove the whole model equal to
Hugging Face's ``GPT2LMHeadModel`` with the same weights. The MLP's GELU is GPT-2's tanh
approximation by default (``activation="gelu_tanh"``); ``"gelu"`` is the exact one.

Initialisation is GPT-2's: N(0, 0.02²) weights, zero biases, and std 0.02/√(2·n_layer) for
the two residual projections of each block (``attn.proj``, ``mlp.down``), so that the
variance added to the residual stream stays the same as the model deepens.
Training (schedule, weight-decay groups, loop) is :mod:`companion.lm_training`.

Generation (:meth:`GPT.generate`) can keep a key-value cache (:class:`KVCache`): the keys and
values of past positions are stored, so each new token costs one position's work instead of
the whole context's; the tokens are the same as without the cache (tested). Token ids are
checked (a host synchronisation) once per public call, not once per generated token.
Counting: :func:`gpt_parameter_formula` (the 12·L·d² rule) and
:func:`estimate_flops_per_token` (≈ 6N for training, plus attention).

Inputs are validated with :mod:`companion.validation` (tensors are not converted: a NumPy
array or list of ids is refused with a TypeError saying how to convert it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from companion.attention import attention, merge_heads, scaled_dot_product_attention, split_heads
from companion.parameters import count_parameters  # noqa: F401 - re-exported for the chapter
from companion.validation import (
    check_bool,
    check_choice,
    check_fraction,
    check_int,
    check_nonnegative,
    check_positive_int,
    check_same_device,
    check_tensor,
    describe,
)

ACTIVATIONS = ("gelu_tanh", "gelu")


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
    activation: str = "gelu_tanh"  # GPT-2's tanh approximation of GELU ("gelu": exact)

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            check_positive_int(getattr(self, name), name)
        check_fraction(self.dropout, "dropout")
        check_bool(self.bias, "bias")
        check_bool(self.tie_weights, "tie_weights")
        check_choice(self.activation, "activation", ACTIVATIONS)
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")


# Published configurations (Radford et al. 2019; Brown et al. 2020, Table 2.1).
GPT2_SMALL = GPTConfig(n_layer=12, n_head=12, n_embd=768)
GPT2_MEDIUM = GPTConfig(n_layer=24, n_head=16, n_embd=1024)
GPT2_LARGE = GPTConfig(n_layer=36, n_head=20, n_embd=1280)
GPT2_XL = GPTConfig(n_layer=48, n_head=25, n_embd=1600)
GPT3_175B = GPTConfig(n_layer=96, n_head=96, n_embd=12288, block_size=2048)


class KVCache:
    """Keys and values of the positions seen so far, one (k, v) pair per layer.

    Each k, v: (B, H, T_past, D). :meth:`GPT.forward` appends to it when given one.
    """

    def __init__(self, n_layer: int):
        self.layers: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * check_positive_int(
            n_layer, "n_layer"
        )

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
        self.n_head, self.n_embd, self.fused = cfg.n_head, cfg.n_embd, check_bool(fused, "fused")
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)  # residual projection
        self.dropout = nn.Dropout(cfg.dropout)

    def heads(self, x: torch.Tensor):
        """x: (B, T, C) -> q, k, v, each (B, H, T, D)."""
        q, k, v = self.qkv(x).split(self.n_embd, dim=2)
        return (split_heads(t, self.n_head) for t in (q, k, v))

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0):
        q, k, v = self.heads(x)  # x: (B, T, C)
        if cache is not None:
            k, v = cache.update(layer, k, v)  # (B, H, T_past + T, D)
        p = self.dropout.p if self.training else 0.0
        y, _ = attention(q, k, v, is_causal=True, fused=self.fused, dropout_p=p)
        return self.dropout(self.proj(merge_heads(y)))


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.up = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
        self.down = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)  # residual projection
        self.dropout = nn.Dropout(cfg.dropout)
        self.approximate = "tanh" if cfg.activation == "gelu_tanh" else "none"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.down(F.gelu(self.up(x), approximate=self.approximate)))


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
        check_tensor(x, "x", dtype="float", ndim=3, shape=("B", "T", C))
        x = x + self.attn(self.ln1(x), cache, layer)
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """Token + learned position embeddings, ``n_layer`` blocks, final LayerNorm, LM head."""

    def __init__(self, cfg: GPTConfig, fused: bool = True):
        super().__init__()
        if not isinstance(cfg, GPTConfig):
            raise TypeError(f"cfg must be a GPTConfig, got {describe(cfg)}")
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
            residual_std = 0.02 / math.sqrt(2 * cfg.n_layer)  # GPT-2's scaled residual init
            for block in self.blocks:
                nn.init.normal_(block.attn.proj.weight, mean=0.0, std=residual_std)
                nn.init.normal_(block.mlp.down.weight, mean=0.0, std=residual_std)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def _check_ids(self, idx, past: int = 0, name: str = "idx") -> None:
        """Type, shape, device and value range of the ids: once per public call (the range
        test reads the values, a host synchronisation on a GPU)."""
        if torch.is_tensor(idx) and idx.ndim == 1 and not idx.is_floating_point():
            raise ValueError(
                f"{name} must have shape (B, T), got a 1-D tensor of shape {tuple(idx.shape)}; "
                f"add a batch dimension with {name}[None] (CharTokenizer.encode returns (T,))"
            )
        check_tensor(idx, name, ndim=2, dtype="index")
        check_same_device(name, idx, "the model", self.tok_emb.weight)
        if idx.numel():
            lo, hi = int(idx.min()), int(idx.max())
            if lo < 0 or hi >= self.cfg.vocab_size:
                raise ValueError(f"{name}: token ids must lie in [0, vocab_size="
                                 f"{self.cfg.vocab_size}), got [{lo}, {hi}]")  # fmt: skip
        if past + idx.size(1) > self.cfg.block_size:
            raise ValueError(
                f"{name}: sequence length {past + idx.size(1)} exceeds the context size "
                f"block_size={self.cfg.block_size}"
            )

    def forward(self, idx: torch.Tensor, kv_cache: KVCache | None = None) -> torch.Tensor:
        """idx: (B, T) token ids -> logits (B, T, V).

        With ``kv_cache``, idx holds the *new* tokens only; they sit at positions
        len(cache)..len(cache)+T-1, and their keys and values are appended to the cache.
        """
        if kv_cache is not None and not isinstance(kv_cache, KVCache):
            raise TypeError(f"kv_cache must be a KVCache or None, got {describe(kv_cache)}")
        past = 0 if kv_cache is None else len(kv_cache)
        self._check_ids(idx, past)
        return self._logits(idx, kv_cache, past)

    def _logits(self, idx: torch.Tensor, kv_cache: KVCache | None, past: int) -> torch.Tensor:
        """The forward pass on ids already checked (no host synchronisation)."""
        pos = torch.arange(past, past + idx.size(1), device=idx.device)
        x = self.drop(self.tok_emb(idx) + self.pos_emb(pos))  # (B, T, C)
        for i, block in enumerate(self.blocks):
            x = block(x, kv_cache, i)
        return self.lm_head(self.ln_f(x))

    @torch.no_grad()
    def attention_maps(self, idx: torch.Tensor) -> list[torch.Tensor]:
        """The attention weights of every layer, computed explicitly: a list of (B, H, T, T).

        Computed in evaluation mode (no dropout); the model's previous mode is restored.
        """
        self._check_ids(idx)
        was_training = self.training
        self.eval()
        try:
            x = self.tok_emb(idx) + self.pos_emb(torch.arange(idx.size(1), device=idx.device))
            maps = []
            for block in self.blocks:
                q, k, v = block.attn.heads(block.ln1(x))
                maps.append(scaled_dot_product_attention(q, k, v, is_causal=True)[1])
                x = block(x)
        finally:
            self.train(was_training)
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
        cache is rebuilt, so ``use_cache`` never changes the tokens. A 1-D prompt (what
        ``CharTokenizer.encode`` returns) is refused, as in :meth:`forward`: pass ``ids[None]``.
        The prompt is checked once; the generated ids are in range by construction.
        """
        if torch.is_tensor(idx) and idx.ndim == 2 and idx.size(1) == 0:
            raise ValueError("idx must hold at least one token per row, got shape "
                             f"{tuple(idx.shape)}")  # fmt: skip
        self._check_ids(idx[:, -self.cfg.block_size :] if torch.is_tensor(idx) and idx.ndim == 2
                        else idx)  # fmt: skip
        max_new_tokens = check_int(max_new_tokens, "max_new_tokens", min=0)
        temperature = check_nonnegative(temperature, "temperature")
        if top_k is not None:
            top_k = check_int(top_k, "top_k", min=1, max=self.cfg.vocab_size)
        check_bool(use_cache, "use_cache")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got "
                            f"{describe(generator)}")  # fmt: skip
        was_training, cache = self.training, None
        self.eval()
        try:
            for _ in range(max_new_tokens):
                if cache is not None and len(cache) < self.cfg.block_size:
                    logits = self._logits(idx[:, -1:], cache, len(cache))  # one new position
                else:  # first step, no cache, or a full window: run on the last block_size
                    cache = KVCache(self.cfg.n_layer) if use_cache else None
                    logits = self._logits(idx[:, -self.cfg.block_size :], cache, 0)
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
        finally:
            self.train(was_training)
        return idx


def gpt_parameter_formula(cfg: GPTConfig) -> int:
    """Exact parameter count of :class:`GPT` in closed form (Chapter 7, the 12·L·d² rule).

    Per block: attention 4d² + 4d, MLP 8d² + 5d, two LayerNorms 4d, i.e. 12d² + 13d.
    Embeddings: (V + block_size)·d; final LayerNorm 2d; the LM head is tied.
    """
    if not isinstance(cfg, GPTConfig):
        raise TypeError(f"cfg must be a GPTConfig, got {describe(cfg)}")
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
    if not isinstance(cfg, GPTConfig):
        raise TypeError(f"cfg must be a GPTConfig, got {describe(cfg)}")
    T = cfg.block_size if seq_len is None else check_int(seq_len, "seq_len")
    check_bool(training, "training")
    if not 1 <= T <= cfg.block_size:
        raise ValueError(f"seq_len must lie in [1, block_size={cfg.block_size}], got {T}")
    d, L = cfg.n_embd, cfg.n_layer
    forward = 2 * (12 * L * d * d + cfg.vocab_size * d) + 4 * L * T * d
    return 3 * forward if training else forward
