"""Regularisation from scratch: L1/L2 penalties, dropout, label smoothing (Chapter 8, §8.5).

* ``l2_penalty(params, lam) = lam / 2 * sum ||w||^2``, whose gradient ``lam w`` is what
  ``weight_decay=lam`` adds to the gradient in ``torch.optim.SGD`` / ``Adam``;
  ``l1_penalty(params, lam) = lam * sum |w|`` (eq. ch08-penalties).
* ``dropout(x, p, training)`` (Srivastava et al., 2014), "inverted" as in PyTorch: in
  training each entry is kept with probability ``1 - p`` and scaled by ``1 / (1 - p)`` so
  the expectation is unchanged; in evaluation it is the identity (eq. ch08-dropout). The
  mask is drawn as ``torch.empty_like(x).bernoulli_(1 - p)`` from torch's global generator
  (or ``generator``), the same draw ``F.dropout`` makes on the CPU, so with the same seed
  the two produce the same mask.
* ``label_smoothing_cross_entropy(logits, y, eps)`` (Szegedy et al., 2016): cross-entropy
  against the target ``(1 - eps) onehot(y) + eps / C``, equal to
  ``F.cross_entropy(logits, y, label_smoothing=eps)`` (eq. ch08-label-smoothing).

Input policy (:mod:`companion.validation`): tensors are never converted silently; ``p`` and
``eps`` in [0, 1); ``lam`` >= 0 and finite; ``logits`` floating ``(n, C)``, ``y`` integer
labels ``(n,)`` in ``[0, C)``.
"""

from __future__ import annotations

import torch
from torch import nn

from companion.validation import (
    check_bool,
    check_fraction,
    check_labels,
    check_nonnegative,
    check_parameters,
    check_tensor,
    describe,
)

__all__ = ["Dropout", "dropout", "l1_penalty", "l2_penalty", "label_smoothing_cross_entropy"]


def _params(params) -> list[torch.Tensor]:
    ps = check_parameters(params, "params")
    for i, p in enumerate(ps):
        if not p.is_floating_point():
            raise TypeError(f"params[{i}] must be a floating tensor, got {p.dtype}")
    return ps


def l2_penalty(params, lam: float) -> torch.Tensor:
    """``lam / 2 * sum_w ||w||^2`` over ``params``; its gradient is ``lam * w``."""
    lam = check_nonnegative(lam, "lam")
    return 0.5 * lam * sum((p * p).sum() for p in _params(params))


def l1_penalty(params, lam: float) -> torch.Tensor:
    """``lam * sum_w |w|``; its (sub)gradient is ``lam * sign(w)``."""
    lam = check_nonnegative(lam, "lam")
    return lam * sum(p.abs().sum() for p in _params(params))


def dropout(
    x: torch.Tensor,
    p: float = 0.5,
    training: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Inverted dropout, eq. (ch08-dropout): ``x * mask / (1 - p)`` in training, ``x`` in eval.

    ``x``: floating, any shape; ``mask`` has ``x``'s shape, entries 1 with probability
    ``1 - p``.
    """
    check_tensor(x, "x", dtype="float")
    p = check_fraction(p, "p")
    training = check_bool(training, "training")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {describe(generator)}")
    if not training or p == 0.0:
        return x
    keep = 1.0 - p
    mask = torch.empty_like(x).bernoulli_(keep, generator=generator)
    return x * mask / keep


class Dropout(nn.Module):
    """Module form of :func:`dropout`; active in ``train()`` mode, identity in ``eval()``."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = check_fraction(p, "p")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def label_smoothing_cross_entropy(
    logits: torch.Tensor, y: torch.Tensor, eps: float = 0.1
) -> torch.Tensor:
    """Mean cross-entropy against smoothed targets, eq. (ch08-label-smoothing).

    ``logits``: ``(n, C)``; ``y``: ``(n,)`` labels. With ``q = (1 - eps) onehot(y) + eps / C``
    the loss of a row is ``-sum_c q_c log p_c = (1 - eps) (-log p_y) + eps mean_c(-log p_c)``.
    """
    check_tensor(logits, "logits", ndim=2, dtype="float")
    n, C = logits.shape
    if C < 2:
        raise ValueError(f"logits must have C >= 2 columns, got shape {tuple(logits.shape)}")
    check_labels(y, "y", C, n=n)
    eps = check_fraction(eps, "eps")
    log_p = torch.log_softmax(logits, dim=1)  # (n, C)
    nll = -log_p.gather(1, y[:, None]).squeeze(1)  # (n,)
    uniform = -log_p.mean(dim=1)  # (n,): cross-entropy against the uniform distribution
    return ((1.0 - eps) * nll + eps * uniform).mean()
