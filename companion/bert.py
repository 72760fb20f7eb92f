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
:func:`explicit_encoder_layer` writes such a layer out with :mod:`companion.attention` (the
book's one attention implementation), following the layer's own activation and norm order.

Token ids and segment ids are validated with :mod:`companion.validation` (int64/int32 tensors
in range; a NumPy array or list is refused with a TypeError saying how to convert it).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from companion.attention import attention, check_model_input, merge_heads, split_heads
from companion.validation import check_fraction, check_positive, check_tensor, describe

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
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be a positive int, got {value!r}")
            if value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        check_fraction(self.dropout, "dropout")
        check_positive(self.layer_norm_eps, "layer_norm_eps")
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
        if not isinstance(cfg, BertConfig):
            raise TypeError(f"cfg must be a BertConfig, got {describe(cfg)}")
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
        sizes: dict[str, int] = {}
        self._check_ids(idx, "idx", self.cfg.vocab_size, sizes)
        T = idx.size(1)
        if T > self.cfg.max_position:
            raise ValueError(f"idx: sequence length {T} exceeds max_position="
                             f"{self.cfg.max_position}")  # fmt: skip
        if token_type is None:
            token_type = torch.zeros_like(idx)
        else:
            self._check_ids(token_type, "token_type", self.cfg.type_vocab_size, sizes)
        pos = torch.arange(T, device=idx.device)
        x = self.tok_emb(idx) + self.pos_emb(pos) + self.type_emb(token_type)  # (B, T, C)
        x = self.drop(self.emb_norm(x))
        for layer in self.layers:
            x = layer(x)
        pooled = torch.tanh(self.pooler(x[:, 0])) if self.pooler is not None else None
        return x, pooled

    def _check_ids(self, ids, name: str, high: int, sizes: dict[str, int]) -> None:
        if torch.is_tensor(ids) and ids.ndim == 1:
            raise ValueError(f"{name} must have shape (B, T), got {tuple(ids.shape)}; add a "
                             f"batch dimension with {name}[None]")  # fmt: skip
        check_tensor(ids, name, dtype="index", shape=("B", "T"), sizes=sizes)
        if ids.device != self.tok_emb.weight.device:
            raise ValueError(f"{name} is on {ids.device} but the model is on "
                             f"{self.tok_emb.weight.device}")  # fmt: skip
        if ids.numel():
            lo, hi = int(ids.min()), int(ids.max())
            if lo < 0 or hi >= high:
                raise ValueError(f"{name} must lie in [0, {high - 1}], got values in [{lo}, {hi}]")


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
    """An encoder layer written out, using the weights of PyTorch's fused ``layer``.

    x: (B, T, C) -> (B, T, C), without dropout (evaluation mode). It follows the layer's
    own settings: post-norm (``norm_first=False``, BERT and Vaswani et al. 2017, eq. 1)
    ``h = LN1(x + Attn(x))``, ``y = LN2(h + FF(h))``, or pre-norm (``norm_first=True``)
    ``h = x + Attn(LN1(x))``, ``y = h + FF(LN2(h))``, with ``FF(h) = W2·act(W1·h + b1) + b2``
    and ``act`` the layer's activation (GELU for BERT, ReLU by default in PyTorch). The tests
    check it against ``layer.eval()(x)`` for all four combinations.
    """
    if not isinstance(layer, nn.TransformerEncoderLayer):
        raise TypeError(f"layer must be an nn.TransformerEncoderLayer, got {describe(layer)}")
    attn = layer.self_attn
    if not attn.batch_first:
        raise ValueError("layer must be built with batch_first=True (x is (B, T, C))")
    if not attn._qkv_same_embed_dim:
        raise ValueError("layer: only kdim = vdim = d_model is supported")
    act = layer.activation
    if act not in (F.relu, F.gelu) and not isinstance(act, (nn.ReLU, nn.GELU)):
        raise ValueError(f"layer has activation {act!r}; only ReLU and GELU are written out here")
    check_model_input(x, "x", attn.embed_dim, attn.in_proj_weight)

    def self_attention(h: torch.Tensor) -> torch.Tensor:  # (B, T, C) -> (B, T, C)
        qkv = F.linear(h, attn.in_proj_weight, attn.in_proj_bias).chunk(3, dim=-1)
        q, k, v = (split_heads(t, attn.num_heads) for t in qkv)  # (B, H, T, D)
        return attn.out_proj(merge_heads(attention(q, k, v)[0]))

    def feed_forward(h: torch.Tensor) -> torch.Tensor:
        return layer.linear2(act(layer.linear1(h)))

    if layer.norm_first:
        h = x + self_attention(layer.norm1(x))
        return h + feed_forward(layer.norm2(h))
    h = layer.norm1(x + self_attention(x))
    return layer.norm2(h + feed_forward(h))
