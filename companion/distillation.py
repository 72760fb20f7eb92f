"""Knowledge distillation: a student learns from a teacher's softened outputs (Section 10.3).

With temperature ``T``, teacher logits ``t`` and student logits ``s`` (both (N, C)),
``p = softmax(t / T)`` and ``q = softmax(s / T)``; the loss (eq. ch10-kd) is ::

    L = alpha * T^2 * mean_n KL(p_n || q_n) + (1 - alpha) * CE(s, y)

The factor ``T^2`` keeps the soft term's gradients the same size as ``T`` changes (the
gradient of the KL term with respect to ``s`` scales like ``1 / T^2``; Hinton et al., 2015).
:func:`distillation_loss` writes the KL out with ``log_softmax``; the tests show it equals
``F.kl_div(log_softmax(s/T), log_softmax(t/T), log_target=True, reduction="batchmean")``.
:func:`train_classifier` trains a model with or without a teacher, the same loop either way.

Validation policy (see :mod:`companion.validation`): logits are float tensors of one dtype
and matching shape, labels an int64 tensor in range; ``T`` is finite and > 0 and ``alpha``
lies in [0, 1]. Nothing is converted silently.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from companion.validation import (
    check_floating,
    check_fraction,
    check_int,
    check_labels,
    check_positive,
    check_positive_int,
    check_tensor,
    describe,
)

__all__ = ["soft_kl", "distillation_loss", "train_classifier"]


def _check_logits(student_logits, teacher_logits) -> tuple[torch.Tensor, torch.Tensor]:
    sizes: dict[str, int] = {}
    s = check_tensor(student_logits, "student_logits", dtype="float", shape=("N", "C"), sizes=sizes)
    t = check_tensor(teacher_logits, "teacher_logits", dtype="float", shape=("N", "C"), sizes=sizes)
    check_floating(t, "teacher_logits", like=s)
    return s, t


def soft_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, T: float = 1.0):
    """``mean_n KL(softmax(t_n / T) || softmax(s_n / T))`` (a 0-d tensor), from log-softmaxes.

    The teacher is detached: distillation does not train the teacher."""
    s, t = _check_logits(student_logits, teacher_logits)
    T = check_positive(T, "T")
    log_p = torch.log_softmax(t.detach() / T, dim=1)  # teacher, (N, C)
    log_q = torch.log_softmax(s / T, dim=1)  # student, (N, C)
    return (log_p.exp() * (log_p - log_q)).sum(dim=1).mean()


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor,
    T: float = 4.0,
    alpha: float = 0.5,
) -> torch.Tensor:
    """Eq. ch10-kd: ``alpha * T**2 * soft_kl + (1 - alpha) * cross_entropy(s, labels)``."""
    s, t = _check_logits(student_logits, teacher_logits)
    y = check_labels(labels, "labels", s.shape[1], n=s.shape[0])
    alpha = check_fraction(alpha, "alpha", include_one=True)
    soft = soft_kl(s, t, T) * check_positive(T, "T") ** 2
    return alpha * soft + (1 - alpha) * F.cross_entropy(s, y)


def train_classifier(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    lr: float = 1e-3,
    batch_size: int = 64,
    teacher: nn.Module | None = None,
    T: float = 4.0,
    alpha: float = 0.5,
    seed: int = 0,
) -> nn.Module:
    """Train ``model`` (X (N, ...) float -> logits (N, C)) with Adam on shuffled mini-batches:
    cross-entropy alone, or eq. ch10-kd when a ``teacher`` is given. Returns ``model``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {describe(model)}")
    if teacher is not None and not isinstance(teacher, nn.Module):
        raise TypeError(f"teacher must be an nn.Module or None, got {describe(teacher)}")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters")
    X = check_floating(X, "X", like=params[0])
    y = _check_y(y, len(X))
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    gen = torch.Generator().manual_seed(check_int(seed, "seed", min=0))
    opt = torch.optim.Adam(params, lr=check_positive(lr, "lr"))
    if teacher is not None:
        teacher.eval()
        with torch.no_grad():
            teacher_logits = teacher(X)  # computed once: the teacher does not change
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(X), generator=gen).split(batch_size):
            logits = model(X[idx])
            if teacher is None:
                loss = F.cross_entropy(logits, y[idx])
            else:
                loss = distillation_loss(logits, teacher_logits[idx], y[idx], T, alpha)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def _check_y(y, n: int) -> torch.Tensor:
    """Labels for ``n`` rows: a 1-D integer tensor of length ``n`` with values >= 0."""
    t = check_tensor(y, "y", dtype="int", shape=(n,))
    if t.numel() and int(t.min()) < 0:
        raise ValueError(f"y must hold class indices >= 0, got minimum {int(t.min())}")
    return t
