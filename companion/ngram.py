"""Count-based n-gram language models: the baselines a neural language model must beat.

Chapters 6 and 7 train character-level language models. Their held-out cross-entropy
(nats per token) means little on its own; the honest comparison is with the strongest
simple model fitted on the same training text: a **unigram** model (each token's
frequency) and a **bigram** model (the frequency of each token after the previous one).

With add-``alpha`` (Laplace/Lidstone) smoothing, a bigram model with vocabulary ``V``
predicts

    p(b | a) = (count(a, b) + alpha) / (count(a) + alpha * V),

so a pair never seen in training still gets a small probability and the held-out loss
stays finite. ``alpha`` is chosen on validation data, like any hyper-parameter
(:func:`best_alpha`). The loss is the mean negative log-likelihood in nats per predicted
token; perplexity is its exponential, ``exp(loss)``, the effective number of equally
likely next tokens.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from companion.validation import (
    check_index_tensor,
    check_int,
    check_positive,
    check_positive_int,
)

__all__ = ["NGramLM", "best_alpha", "perplexity"]


class NGramLM:
    """A unigram (``order=1``) or bigram (``order=2``) model over token ids ``0..V-1``.

    >>> lm = NGramLM(order=2, vocab_size=3).fit(torch.tensor([0, 1, 2, 0, 1]))
    >>> round(lm.loss(torch.tensor([0, 1])), 4)  # -log p(1 | 0) = -log((2 + 1) / (2 + 3))
    0.5108
    """

    def __init__(self, order: int, vocab_size: int, alpha: float = 1.0):
        self.order = check_int(order, "order", min=1, max=2)
        self.vocab_size = check_positive_int(vocab_size, "vocab_size")
        self.alpha = check_positive(alpha, "alpha")
        self.log_probs: torch.Tensor | None = None  # (V,) or (V, V), rows sum to one

    def fit(self, tokens: torch.Tensor) -> NGramLM:
        """Count the (n,) int tokens of the training text; return ``self``."""
        tokens = check_index_tensor(tokens, "tokens", self.vocab_size, shape=(None,))
        if len(tokens) < self.order:
            raise ValueError(f"tokens must hold at least order={self.order} ids, got {len(tokens)}")
        V = self.vocab_size
        t = tokens.long().cpu()
        if self.order == 1:
            counts = torch.bincount(t, minlength=V).double()  # (V,)
        else:
            pairs = t[:-1] * V + t[1:]
            counts = torch.bincount(pairs, minlength=V * V).double().view(V, V)  # (prev, next)
        smoothed = counts + self.alpha
        self.log_probs = (smoothed / smoothed.sum(dim=-1, keepdim=True)).log()
        return self

    def loss(self, tokens: torch.Tensor) -> float:
        """Mean negative log-likelihood (nats per predicted token) of (n,) held-out tokens.

        A bigram model predicts tokens 1..n-1 from their predecessors; a unigram model
        predicts tokens 1..n-1 too, so both are scored on the same tokens.
        """
        if self.log_probs is None:
            raise RuntimeError("call fit(...) before loss(...)")
        tokens = check_index_tensor(tokens, "tokens", self.vocab_size, shape=(None,))
        if len(tokens) < 2:
            raise ValueError(f"tokens must hold at least 2 ids to score, got {len(tokens)}")
        t = tokens.long().cpu()
        if self.order == 1:
            picked = self.log_probs[t[1:]]
        else:
            picked = self.log_probs[t[:-1], t[1:]]
        return float(-picked.mean())


def perplexity(loss_nats: float) -> float:
    """Perplexity ``exp(loss)`` of a mean loss in nats per token."""
    if isinstance(loss_nats, bool) or not isinstance(loss_nats, (int, float)):
        raise TypeError(f"loss_nats must be a real number, got {type(loss_nats).__name__}")
    if not math.isfinite(loss_nats) or loss_nats < 0:
        raise ValueError(f"loss_nats must be a finite number >= 0, got {loss_nats}")
    return math.exp(loss_nats)


def best_alpha(
    order: int,
    vocab_size: int,
    train: torch.Tensor,
    valid: torch.Tensor,
    alphas: Sequence[float] = (0.001, 0.01, 0.03, 0.1, 0.3, 1.0),
) -> tuple[float, NGramLM]:
    """Choose the smoothing ``alpha`` with the lowest validation loss; return it and the model."""
    if not alphas:
        raise ValueError("alphas must name at least one value")
    fitted = [NGramLM(order, vocab_size, a).fit(train) for a in alphas]
    losses = [m.loss(valid) for m in fitted]
    i = min(range(len(alphas)), key=losses.__getitem__)
    return float(alphas[i]), fitted[i]
