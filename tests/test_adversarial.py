"""FGSM, PGD and poisoning against closed forms for linear models, and their invariants."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from companion.adversarial import (
    add_trigger,
    attack_success_rate,
    fgsm,
    flip_labels,
    pgd,
    poison_with_trigger,
    project_linf,
    robust_accuracy,
)


def linear(classes=3, seed=0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, classes))


def images(n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 4, 4, generator=g), torch.randint(0, 3, (n,), generator=g)


def test_fgsm_equals_the_closed_form_of_a_softmax_regression():
    """For logits W x + b the gradient of the cross-entropy is (softmax - onehot) W."""
    model = linear()
    x, y = images()
    W, b = (t.detach().numpy().astype(np.float64) for t in (model[1].weight, model[1].bias))
    X = x.reshape(6, 16).numpy().astype(np.float64)
    z = X @ W.T + b
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    grad = (p - np.eye(3)[y.numpy()]) @ W
    want = np.clip(X + 0.1 * np.sign(grad), 0, 1).reshape(6, 1, 4, 4)
    np.testing.assert_allclose(fgsm(model, x, y, 0.1).numpy(), want, atol=1e-6)
    wrong = np.clip(X - 0.1 * np.sign(grad), 0, 1).reshape(6, 1, 4, 4)  # descends the loss
    assert not np.allclose(fgsm(model, x, y, 0.1).numpy(), wrong, atol=1e-6)


def test_pgd_reaches_the_optimum_for_two_classes():
    """Two-class linear model: the loss grows with -(w_y - w_o).x, so the best perturbation in
    the ball is -eps sign(w_y - w_o) (no pixel range); PGD must find it from any start."""
    model = linear(classes=2)
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(8, 1, 4, 4, generator=g), torch.randint(0, 2, (8,), generator=g)
    W = model[1].weight.detach()
    direction = (W[y] - W[1 - y]).view(8, 1, 4, 4)
    best = x - 0.2 * direction.sign()
    got = pgd(model, x, y, 0.2, steps=20, clamp=None, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(got, best)
    torch.testing.assert_close(fgsm(model, x, y, 0.2, clamp=None), best)


def test_pgd_stays_in_the_ball_and_the_pixel_range_and_beats_fgsm():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 3))
    x, y = images(64)
    eps = 0.1
    adv = pgd(model, x, y, eps, steps=20, generator=torch.Generator().manual_seed(0))
    assert (adv - x).abs().max() <= eps + 1e-6
    assert adv.min() >= 0 and adv.max() <= 1
    loss = lambda z: F.cross_entropy(model(z), y).item()  # noqa: E731
    assert loss(adv) >= loss(fgsm(model, x, y, eps)) > loss(x)


def test_project_linf_is_the_nearest_point_of_both_boxes():
    x = torch.tensor([[0.5, 0.95, 0.02]])
    x_adv = torch.tensor([[0.9, 1.2, -0.3]])
    torch.testing.assert_close(project_linf(x_adv, x, 0.1), torch.tensor([[0.6, 1.0, 0.0]]))
    torch.testing.assert_close(project_linf(x_adv, x, 0.1, clamp=None),
                               torch.tensor([[0.6, 1.05, -0.08]]))  # fmt: skip
    # a wrong variant that only clips to the pixel range leaves the ball
    assert (x_adv.clamp(0, 1) - x).abs().max() > 0.1


def test_pgd_random_start_is_seeded_and_matters():
    model = linear()
    x, y = images()
    kw = dict(steps=1, alpha=0.01)  # a short step: the start still shows
    a = pgd(model, x, y, 0.1, generator=torch.Generator().manual_seed(3), **kw)
    b = pgd(model, x, y, 0.1, generator=torch.Generator().manual_seed(3), **kw)
    c = pgd(model, x, y, 0.1, random_start=False, **kw)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


def test_robust_accuracy_zero_radius_is_clean_accuracy_and_falls():
    model = linear()
    x, y = images(200)
    clean = (model(x).argmax(1) == y).float().mean().item()
    accs = robust_accuracy(model, x, y, [0.0, 0.05, 0.3], attack="fgsm", batch_size=64)
    assert accs[0] == pytest.approx(clean)
    assert accs[0] >= accs[1] >= accs[2]
    accs_pgd = robust_accuracy(model, x, y, [0.05, 0.3], steps=5,
                               generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert accs_pgd[1] <= accs[2] + 1e-9


def test_model_mode_is_restored():
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3), nn.Dropout(0.5))
    x, y = images()
    model.train()
    fgsm(model, x, y, 0.1)
    assert model.training


def test_flip_labels_changes_exactly_the_chosen_rows():
    y = torch.arange(100) % 10
    new, idx = flip_labels(y, 0.25, 10, generator=torch.Generator().manual_seed(0))
    assert len(idx) == 25 and len(set(idx.tolist())) == 25
    assert (new[idx] != y[idx]).all()
    keep = torch.ones(100, dtype=torch.bool)
    keep[idx] = False
    assert torch.equal(new[keep], y[keep])
    assert (new >= 0).all() and (new < 10).all()


def test_trigger_and_poisoning():
    x = torch.zeros(10, 1, 8, 8)
    y = torch.arange(10)
    t = add_trigger(x, size=2, value=1.0)
    assert t[:, :, -2:, -2:].eq(1).all() and t.sum() == 10 * 4
    assert x.sum() == 0  # the input is not modified
    xp, yp = poison_with_trigger(x, y, 0.5, target=3, generator=torch.Generator().manual_seed(0))
    assert xp.shape == (15, 1, 8, 8) and torch.equal(yp[:10], y)
    assert (yp[10:] == 3).all() and xp[10:, :, -2:, -2:].eq(1).all()


def test_attack_success_rate_of_a_model_that_reads_the_corner():
    """A model that outputs class 3 whenever the bottom-right pixel is bright: rate 1."""

    class Corner(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            out = torch.zeros(len(x), 10) + self.w
            out[:, 3] = 10 * x[:, 0, -1, -1]
            out[:, 0] = 5.0
            return out

    x, y = torch.zeros(20, 1, 8, 8), torch.arange(20) % 10
    assert attack_success_rate(Corner(), x, y, target=3) == 1.0
    assert attack_success_rate(Corner(), x, y, target=3, value=0.0) == 0.0


@pytest.mark.gpu
def test_fgsm_cuda_matches_cpu():
    model = linear()
    x, y = images(32)
    cpu = fgsm(model, x, y, 0.1)
    gpu = fgsm(model.cuda(), x.cuda(), y.cuda(), 0.1).cpu()
    assert (cpu - gpu).abs().max() < 1e-5  # a sign can flip only where the gradient is ~0
