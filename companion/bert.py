"""BERT's encoder, counted in Chapter 1 (Devlin et al. 2019, section 3 and Appendix A).

Shapes: B = batch, T = sequence length (<= ``max_position``), C = ``hidden``.

The model is what Devlin et al. call BERT: an embedding layer (token + learned position +
segment ("token type") embeddings, summed, then LayerNorm), ``n_layer`` post-norm
Transformer encoder layers (self-attention, GELU feed-forward of width ``intermediate``,
LayerNorm after each residual), and the *pooler* (a ``C x C`` dense layer with tanh on the
first token, ``[CLS]``). The pre-training heads (masked-LM transform and next-sentence
classifier) are not part of it: they are discarded after pre-training.

Each encoder layer is PyTorch's fused ``nn.TransformerEncoderLayer`` (``activation="gelu"``,
``norm_first=False``), whose parameters are those of BERT's layer one for one:
``4C^2 + 4C`` (attention), ``2·C·I + I + C`` (feed-forward), ``4C`` (two LayerNorms).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "BertConfig",
    "BERT_BASE",
    "BERT_LARGE",
    "Bert",
    "bert_parameter_formula",
    "explicit_encoder_layer",
]


@dataclass(frozen=True)
class BertConfig:
    vocab_size: int = 30522  # WordPiece vocabulary of the released uncased models
    max_position: int = 512
    type_vocab_size: int = 2  # sentence A / sentence B
    n_layer: int = 12
    n_head: int = 12
    hidden: int = 768
    intermediate: int = 3072  # 4 x hidden
    dropout: float = 0.1
    layer_norm_eps: float = 1e-12
    pooler: bool = True

    def __post_init__(self):
        for name in ("vocab_size", "max_position", "type_vocab_size", "n_layer", "n_head",
                     "hidden", "intermediate"):  # fmt: skip
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.hidden % self.n_head:
            raise ValueError(f"hidden ({self.hidden}) must be divisible by n_head ({self.n_head})")


# Devlin et al. (2019), section 3: BERT_BASE (L=12, H=768, A=12) and BERT_LARGE (L=24,
# H=1024, A=16); the feed-forward size is 4H.
BERT_BASE = BertConfig()
BERT_LARGE = BertConfig(n_layer=24, n_head=16, hidden=1024, intermediate=4096)


class Bert(nn.Module):
    """BERT encoder: embeddings -> ``n_layer`` encoder layers -> (optional) pooler."""

    def __init__(self, cfg: BertConfig = BERT_BASE):
        super().__init__()
        self.cfg = cfg
        C = cfg.hidden
        self.tok_emb = nn.Embedding(cfg.vocab_size, C)
        self.pos_emb = nn.Embedding(cfg.max_position, C)
        self.type_emb = nn.Embedding(cfg.type_vocab_size, C)
        self.emb_norm = nn.LayerNorm(C, eps=cfg.layer_norm_eps)
        self.drop = nn.Dropout(cfg.dropout)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                C,
                cfg.n_head,
                cfg.intermediate,
                cfg.dropout,
                activation="gelu",
                layer_norm_eps=cfg.layer_norm_eps,
                batch_first=True,
                norm_first=False,
            )  # fmt: skip
            for _ in range(cfg.n_layer)
        )
        self.pooler = nn.Linear(C, C) if cfg.pooler else None

    def forward(
        self, idx: torch.Tensor, token_type: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """idx: (B, T) token ids; token_type: (B, T) in {0, 1} or None (all sentence A).

        Returns the hidden states (B, T, C) and the pooled ``[CLS]`` vector (B, C) (None
        without a pooler).
        """
        if not torch.is_tensor(idx) or idx.ndim != 2 or idx.dtype != torch.long:
            got = f"{tuple(idx.shape)} {idx.dtype}" if torch.is_tensor(idx) else type(idx).__name__
            raise ValueError(f"idx must be a (B, T) int64 tensor of token ids, got {got}")
        T = idx.size(1)
        if T > self.cfg.max_position:
            raise ValueError(f"sequence length {T} exceeds max_position={self.cfg.max_position}")
        if token_type is None:
            token_type = torch.zeros_like(idx)
        elif token_type.shape != idx.shape:
            raise ValueError(f"token_type must have the shape of idx {tuple(idx.shape)}, got "
                             f"{tuple(token_type.shape)}")  # fmt: skip
        pos = torch.arange(T, device=idx.device)
        x = self.tok_emb(idx) + self.pos_emb(pos) + self.type_emb(token_type)  # (B, T, C)
        x = self.drop(self.emb_norm(x))
        for layer in self.layers:
            x = layer(x)
        pooled = torch.tanh(self.pooler(x[:, 0])) if self.pooler is not None else None
        return x, pooled


def bert_parameter_formula(cfg: BertConfig) -> int:
    """Exact parameter count of :class:`Bert` in closed form (Chapter 1, eq. ``bert-count``).

    Embeddings ``(V + P + S)·C + 2C``; per layer ``4C² + 4C + 2·C·I + I + C + 4C``;
    pooler ``C² + C``.
    """
    C, n_ff = cfg.hidden, cfg.intermediate
    embeddings = (cfg.vocab_size + cfg.max_position + cfg.type_vocab_size) * C + 2 * C
    layer = 4 * C * C + 4 * C + 2 * C * n_ff + n_ff + C + 4 * C
    pooler = C * C + C if cfg.pooler else 0
    return embeddings + cfg.n_layer * layer + pooler


def explicit_encoder_layer(layer: nn.TransformerEncoderLayer, x: torch.Tensor) -> torch.Tensor:
    """BERT's encoder layer written out, using the weights of PyTorch's fused ``layer``.

    x: (B, T, C) -> (B, T, C), without dropout (evaluation mode). Post-norm:
    ``h = LN(x + Attn(x))``, ``y = LN(h + W2·gelu(W1·h + b1) + b2)`` (Devlin et al. 2019;
    Vaswani et al. 2017, eq. 1). The tests check it against ``layer.eval()(x)``.
    """
    if not torch.is_tensor(x) or x.ndim != 3 or x.shape[-1] != layer.self_attn.embed_dim:
        raise ValueError(f"x must have shape (B, T, {layer.self_attn.embed_dim}), got "
                         f"{tuple(getattr(x, 'shape', ()))}")  # fmt: skip
    attn = layer.self_attn
    B, T, C = x.shape
    H = attn.num_heads
    q, k, v = F.linear(x, attn.in_proj_weight, attn.in_proj_bias).split(C, dim=-1)
    q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))  # (B, H, T, D)
    weights = (q @ k.transpose(-2, -1) / math.sqrt(C // H)).softmax(dim=-1)  # (B, H, T, T)
    y = (weights @ v).transpose(1, 2).reshape(B, T, C)
    h = layer.norm1(x + attn.out_proj(y))
    return layer.norm2(h + layer.linear2(F.gelu(layer.linear1(h))))
