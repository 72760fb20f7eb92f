"""DP-SGD from scratch against Opacus: per-example gradients, clipping, noise, accounting."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from companion.dp import (
    clip_per_example,
    dp_sgd_gradient,
    per_example_gradients,
    rdp_epsilon,
    rdp_sampled_gaussian,
    train_dp_sgd,
)

opacus = pytest.importorskip("opacus")
from opacus import GradSampleModule  # noqa: E402
from opacus.accountants import RDPAccountant  # noqa: E402
from opacus.accountants.analysis import rdp as opacus_rdp  # noqa: E402
from opacus.optimizers import DPOptimizer  # noqa: E402


def net(seed=0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(10, 8), nn.Tanh(), nn.Linear(8, 3))


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(1)
    return torch.randn(16, 10, generator=g), torch.randint(0, 3, (16,), generator=g)


def opacus_gradient(model, x, y, max_norm, noise, seed):
    """p.grad after Opacus' clipping, noising and scaling (DPOptimizer.pre_step)."""
    twin = net()
    twin.load_state_dict(model.state_dict())
    gsm = GradSampleModule(twin)
    opt = DPOptimizer(torch.optim.SGD(gsm.parameters(), lr=0.1), noise_multiplier=noise,
                      max_grad_norm=max_norm, expected_batch_size=len(x),
                      generator=torch.Generator().manual_seed(seed))  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        F.cross_entropy(gsm(x), y).backward()
    grad_samples = {n: p.grad_sample.clone() for n, p in twin.named_parameters()}
    opt.pre_step()
    return {n: p.grad.clone() for n, p in twin.named_parameters()}, grad_samples


def test_per_example_gradients_equal_opacus_and_a_loop(batch):
    x, y = batch
    model = net()
    ours = per_example_gradients(model, x, y)
    _, theirs = opacus_gradient(model, x, y, 1.0, 0.0, 0)
    for name, p in model.named_parameters():
        torch.testing.assert_close(ours[name], theirs[name], rtol=1e-5, atol=1e-7)
        model.zero_grad()
        F.cross_entropy(model(x[3:4]), y[3:4]).backward()  # an independent loop, one row
        torch.testing.assert_close(ours[name][3], p.grad, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("max_norm", [0.05, 0.5, 100.0])
def test_clipped_mean_without_noise_equals_opacus(batch, max_norm):
    x, y = batch
    model = net()
    ours = dp_sgd_gradient(model, x, y, max_norm, 0.0)
    theirs, _ = opacus_gradient(model, x, y, max_norm, 0.0, 0)
    for name in theirs:
        torch.testing.assert_close(ours[name], theirs[name], rtol=1e-5, atol=1e-8)


def test_noised_gradient_equals_opacus_for_a_fixed_seed(batch):
    x, y = batch
    model = net()
    ours = dp_sgd_gradient(model, x, y, 0.5, 1.3, generator=torch.Generator().manual_seed(5))
    theirs, _ = opacus_gradient(model, x, y, 0.5, 1.3, 5)
    for name in theirs:
        torch.testing.assert_close(ours[name], theirs[name], rtol=1e-5, atol=1e-7)
    other = dp_sgd_gradient(model, x, y, 0.5, 1.3, generator=torch.Generator().manual_seed(6))
    assert not torch.allclose(other["0.weight"], theirs["0.weight"])


def test_wrong_clipping_variants_differ_from_opacus(batch):
    """Clipping each parameter tensor separately, or clipping the *mean* gradient, is not
    per-example clipping of the whole gradient."""
    x, y = batch
    model = net()
    theirs, _ = opacus_gradient(model, x, y, 0.05, 0.0, 0)
    g = per_example_gradients(model, x, y)
    per_tensor = {k: (v * (0.05 / (v.flatten(1).norm(dim=1) + 1e-6)).clamp(max=1)
                      .view(-1, *[1] * (v.ndim - 1))).mean(0) for k, v in g.items()}  # fmt: skip
    assert not torch.allclose(per_tensor["0.weight"], theirs["0.weight"], rtol=1e-3)
    mean = {k: v.mean(0) for k, v in g.items()}
    total = torch.cat([v.flatten() for v in mean.values()]).norm()
    batch_clipped = {k: v * min(1.0, 0.05 / total.item()) for k, v in mean.items()}
    assert not torch.allclose(batch_clipped["0.weight"], theirs["0.weight"], rtol=1e-3)


def test_clip_per_example_bounds_every_norm():
    g = {"a": torch.tensor([[3.0, 4.0], [0.3, 0.4]]), "b": torch.zeros(2, 1)}
    clipped, norms = clip_per_example(g, 1.0)
    torch.testing.assert_close(norms, torch.tensor([5.0, 0.5]))
    torch.testing.assert_close(clipped["a"], torch.tensor([[0.6, 0.8], [0.3, 0.4]]), atol=1e-6,
                               rtol=0)  # fmt: skip


def test_noise_has_the_stated_standard_deviation():
    model = nn.Linear(200, 50, bias=False)
    with torch.no_grad():
        model.weight.zero_()
    x, y = torch.zeros(4, 200), torch.zeros(4, dtype=torch.long)
    g = dp_sgd_gradient(model, x, y, 2.0, 1.5, generator=torch.Generator().manual_seed(0))
    # zero input: zero gradients, so the result is pure noise of std sigma * C / B
    assert g["weight"].std().item() == pytest.approx(1.5 * 2.0 / 4, rel=0.03)


def test_train_dp_sgd_without_noise_or_clipping_learns_and_with_noise_is_seeded():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(200, 10, generator=g)
    y = (X[:, 0] > 0).long()
    model = net()
    steps = train_dp_sgd(model, X, y, epochs=5, sample_rate=0.1, lr=0.5, max_norm=float("inf"),
                         noise_multiplier=0.0)  # fmt: skip
    assert steps == 50
    assert (model(X).argmax(1) == y).float().mean() > 0.9
    a, b = net(), net()
    for m in (a, b):
        train_dp_sgd(m, X, y, epochs=1, sample_rate=0.1, lr=0.5, max_norm=1.0,
                     noise_multiplier=1.0, seed=3)  # fmt: skip
    torch.testing.assert_close(a[0].weight, b[0].weight)


ORDERS = list(range(2, 64))


@pytest.mark.parametrize(
    ("q", "sigma", "steps"),
    [(0.01, 1.1, 1000), (0.05, 0.8, 300), (1.0, 2.0, 10), (0.004, 4.0, 10_000)],
)
def test_rdp_and_epsilon_equal_opacus_at_integer_orders(q, sigma, steps):
    ours = rdp_sampled_gaussian(q, sigma, steps, ORDERS)
    theirs = opacus_rdp.compute_rdp(q=q, noise_multiplier=sigma, steps=steps, orders=ORDERS)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)
    eps, order = rdp_epsilon(q, sigma, steps, 1e-5, ORDERS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eps_o, order_o = opacus_rdp.get_privacy_spent(orders=ORDERS, rdp=theirs, delta=1e-5)
    assert eps == pytest.approx(float(eps_o), rel=1e-9) and order == order_o


def test_opacus_default_orders_are_at_most_slightly_tighter():
    """Opacus also tries fractional orders; its epsilon can only be lower, and only a little."""
    acc = RDPAccountant()
    acc.history = [(1.1, 0.01, 1000)]
    theirs = acc.get_epsilon(1e-5)
    ours, _ = rdp_epsilon(0.01, 1.1, 1000, 1e-5)
    assert theirs <= ours <= 1.02 * theirs


def test_epsilon_grows_with_steps_and_falls_with_noise():
    e = [rdp_epsilon(0.01, 1.0, s, 1e-5)[0] for s in (100, 1000, 10_000)]
    assert e[0] < e[1] < e[2]
    assert rdp_epsilon(0.01, 2.0, 1000, 1e-5)[0] < e[1]
    # a wrong accountant that ignores subsampling (q = 1) is far more pessimistic
    assert rdp_epsilon(1.0, 1.0, 1000, 1e-5, range(2, 64))[0] > 10 * e[1]


@pytest.mark.gpu
def test_dp_sgd_gradient_cuda_matches_cpu(batch):
    x, y = batch
    model = net()
    cpu = dp_sgd_gradient(model, x, y, 0.5, 0.0)
    gpu = dp_sgd_gradient(model.cuda(), x.cuda(), y.cuda(), 0.5, 0.0)
    for name in cpu:
        torch.testing.assert_close(gpu[name].cpu(), cpu[name], rtol=1e-4, atol=1e-6)
