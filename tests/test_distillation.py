"""The distillation loss equals PyTorch's KL form; training with a teacher uses it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from companion.distillation import distillation_loss, soft_kl, train_classifier


def _logits(seed=0, n=16, c=7):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, generator=g) * 3, torch.randn(n, c, generator=g) * 3


def _reference(s, t, y, T, alpha):
    kl = F.kl_div(F.log_softmax(s / T, 1), F.log_softmax(t / T, 1), log_target=True,
                  reduction="batchmean")  # fmt: skip
    return alpha * T**2 * kl + (1 - alpha) * F.cross_entropy(s, y)


@pytest.mark.parametrize(("T", "alpha"), [(1.0, 0.5), (4.0, 0.9), (2.5, 1.0), (8.0, 0.0)])
def test_loss_and_gradient_equal_kl_div_form(T, alpha):
    s, t = _logits()
    y = torch.arange(16) % 7
    s1, s2 = s.clone().requires_grad_(), s.clone().requires_grad_()
    ours, ref = distillation_loss(s1, t, y, T, alpha), _reference(s2, t, y, T, alpha)
    torch.testing.assert_close(ours, ref)
    ours.backward()
    ref.backward()
    torch.testing.assert_close(s1.grad, s2.grad)


@pytest.mark.filterwarnings("ignore:reduction")
def test_wrong_variants_differ():
    s, t = _logits(1)
    y = torch.zeros(16, dtype=torch.long)
    T, alpha = 4.0, 0.7
    ref = _reference(s, t, y, T, alpha)
    assert torch.allclose(distillation_loss(s, t, y, T, alpha), ref)
    no_t2 = alpha * soft_kl(s, t, T) + (1 - alpha) * F.cross_entropy(s, y)
    reverse = alpha * T**2 * soft_kl(t, s, T) + (1 - alpha) * F.cross_entropy(s, y)
    mean_red = alpha * T**2 * F.kl_div(F.log_softmax(s / T, 1), F.log_softmax(t / T, 1),
                                       log_target=True, reduction="mean")  # fmt: skip
    for wrong in (no_t2, reverse, mean_red + (1 - alpha) * F.cross_entropy(s, y)):
        assert not torch.allclose(wrong, ref, rtol=1e-3)


def test_soft_kl_zero_for_equal_logits_and_teacher_gets_no_gradient():
    s, _ = _logits()
    assert soft_kl(s, s.clone(), 3.0).abs() < 1e-6
    t = s.clone().requires_grad_()
    soft_kl(s.requires_grad_(), t, 2.0).backward()
    assert t.grad is None


def test_t_squared_keeps_gradient_scale():
    s, t = _logits(2, n=64, c=10)
    s_small, t_small = s * 0.05, t * 0.05  # logits small compared with T: the T^2 regime
    norms = []
    for T in (2.0, 8.0):
        x = s_small.clone().requires_grad_()
        distillation_loss(x, t_small, torch.zeros(64, dtype=torch.long), T, 1.0).backward()
        norms.append(x.grad.norm().item())
    # with T^2 the gradient keeps its size from T = 2 to T = 8; without it, it would shrink
    # about 16-fold (the gradient of the KL term alone scales like 1 / T^2)
    assert 0.9 < norms[1] / norms[0] < 1.1


def test_train_classifier_learns_and_distils():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(200, 5, generator=g)
    y = (X[:, 0] + X[:, 1] > 0).long()
    torch.manual_seed(0)
    teacher = train_classifier(nn.Linear(5, 2), X, y, epochs=20, lr=0.05)
    acc_t = (teacher(X).argmax(1) == y).float().mean()
    torch.manual_seed(1)
    student = train_classifier(nn.Linear(5, 2), X, y, epochs=20, lr=0.05, teacher=teacher)
    assert acc_t > 0.95 and (student(X).argmax(1) == y).float().mean() > 0.95
