"""companion.regularization against PyTorch (Chapter 8, §8.5)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from companion.regularization import (
    Dropout,
    dropout,
    l1_penalty,
    l2_penalty,
    label_smoothing_cross_entropy,
)


def test_l2_penalty_gradient_is_torch_weight_decay():
    g = torch.Generator().manual_seed(0)
    w0 = torch.randn(6, generator=g, dtype=torch.float64)
    x = torch.randn(6, generator=g, dtype=torch.float64)
    a, b = w0.clone().requires_grad_(), w0.clone().requires_grad_()
    oa = torch.optim.SGD([a], lr=0.1)
    ob = torch.optim.SGD([b], lr=0.1, weight_decay=0.3)
    for _ in range(5):
        oa.zero_grad()
        ob.zero_grad()
        ((a @ x) ** 2 + l2_penalty([a], 0.3)).backward()
        ((b @ x) ** 2).backward()
        oa.step()
        ob.step()
    torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
    # the wrong constant (no 1/2) doubles the decay and is caught
    c = w0.clone().requires_grad_()
    ((c @ x) ** 2 + 0.3 * (c**2).sum()).backward()
    assert not torch.allclose(c.grad, (w0 @ x) * 2 * x + 0.3 * w0)


def test_l1_penalty_value_and_subgradient():
    w = torch.tensor([1.5, -2.0, 0.5], requires_grad=True)
    pen = l1_penalty([w], 0.1)
    assert pen.item() == pytest.approx(0.4)
    pen.backward()
    torch.testing.assert_close(w.grad, torch.tensor([0.1, -0.1, 0.1]))
    assert l2_penalty(w, 2.0).item() == pytest.approx(1.5**2 + 4 + 0.25)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_equals_torch_with_the_same_seed(p):
    x = torch.randn(200, 30) + 3.0  # no zeros, so the mask is visible
    torch.manual_seed(7)
    want = F.dropout(x, p, training=True)
    torch.manual_seed(7)
    got = dropout(x, p, training=True)
    torch.testing.assert_close(got, want)
    assert torch.equal(got == 0, want == 0)
    # a wrong scaling (no 1/(1-p)) keeps the mask but not the values
    torch.manual_seed(7)
    unscaled = x * torch.empty_like(x).bernoulli_(1 - p)
    assert not torch.allclose(unscaled, want)


def test_dropout_expectation_and_eval():
    x = torch.full((400_000,), 2.0)
    out = dropout(x, 0.3, training=True, generator=torch.Generator().manual_seed(0))
    assert out.mean().item() == pytest.approx(2.0, rel=0.01)  # unbiased in expectation
    assert (out == 0).float().mean().item() == pytest.approx(0.3, abs=0.005)
    assert torch.equal(dropout(x, 0.3, training=False), x)
    layer = Dropout(0.3)
    layer.eval()
    assert torch.equal(layer(x), x)
    layer.train()
    assert (layer(x) == 0).any()
    assert torch.equal(dropout(x, 0.0), x)


def test_dropout_gradient_uses_the_mask():
    x = torch.ones(1000, requires_grad=True)
    out = dropout(x, 0.5, generator=torch.Generator().manual_seed(1))
    out.sum().backward()
    torch.testing.assert_close(x.grad, out.detach())  # d out / dx = mask / (1 - p) = out / x


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.35])
def test_label_smoothing_equals_torch(eps):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(17, 6, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 6, (17,), generator=g)
    ours = label_smoothing_cross_entropy(logits, y, eps)
    want = F.cross_entropy(logits, y, label_smoothing=eps)
    torch.testing.assert_close(ours, want, rtol=1e-12, atol=1e-14)
    (ga,) = torch.autograd.grad(ours, logits)
    (gb,) = torch.autograd.grad(want, logits)
    torch.testing.assert_close(ga, gb, rtol=1e-12, atol=1e-14)
    if eps:  # wrong variants: eps/(C-1) on the wrong classes, or no (1 - eps) on the true one
        log_p = torch.log_softmax(logits, 1)
        q = torch.full_like(log_p, eps / 5).scatter(1, y[:, None], 1 - eps)
        off_classes = -(q * log_p).sum(1).mean()
        no_discount = (-log_p.gather(1, y[:, None]).squeeze(1) - eps * log_p.mean(1)).mean()
        for wrong in (off_classes, no_discount):
            assert not torch.allclose(wrong, want)
