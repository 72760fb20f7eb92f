"""Saliency, integrated gradients and attention rollout against Captum and closed forms."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from companion.interpretability import (
    METHODS,
    attention_rollout,
    completeness_gap,
    integrated_gradients,
    quadrature,
    saliency,
)
from companion.transformer import GPT, GPTConfig

captum_attr = pytest.importorskip("captum.attr")


def small_cnn(dtype=torch.float32) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3)).to(
        dtype
    )


def smooth_mlp(dtype=torch.float64) -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 3)).to(dtype)


@pytest.fixture
def batch():
    return torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(2))


def captum(cls, model, x, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "did not already require gradients"
        return cls(model).attribute(x, **kw)


@pytest.mark.parametrize("method", [m for m in METHODS if m != "riemann_trapezoid"])
@pytest.mark.parametrize("target", [1, torch.tensor([0, 1, 2, 0, 1])])
def test_integrated_gradients_equal_captum(method, target, batch):
    model = small_cnn().eval()
    ours = integrated_gradients(model, batch, target, steps=20, method=method)
    ref = captum(captum_attr.IntegratedGradients, model, batch, target=target, n_steps=20,
                 method=method)  # fmt: skip
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-6)


def test_integrated_gradients_baseline_and_chunking_equal_captum(batch):
    model = small_cnn().eval()
    base = torch.full((1, 8, 8), 0.3)
    ours = integrated_gradients(model, batch, 2, baseline=base, steps=16, batch_size=7)
    ref = captum(captum_attr.IntegratedGradients, model, batch, target=2, n_steps=16,
                 baselines=base.expand_as(batch))  # fmt: skip
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-6)
    # a wrong variant, the gradient at the input times (x - baseline), is not the same
    wrong = saliency(model, batch, 2, absolute=False) * (batch - base)
    assert not torch.allclose(wrong, ref, rtol=1e-3, atol=1e-4)


def test_trapezoid_weights_differ_from_captum_by_n_minus_1_over_n(batch):
    """Captum's trapezoid weights are 1/n with halved ends (they sum to (n-1)/n); the
    trapezoid rule on n equally spaced nodes of [0, 1] uses 1/(n-1) (summing to 1)."""
    n = 10
    model = small_cnn().eval()
    ours = integrated_gradients(model, batch, 0, steps=n, method="riemann_trapezoid")
    ref = captum(captum_attr.IntegratedGradients, model, batch, target=0, n_steps=n,
                 method="riemann_trapezoid")  # fmt: skip
    torch.testing.assert_close(ours * (n - 1) / n, ref, rtol=1e-5, atol=1e-6)
    _, w = quadrature(n, "riemann_trapezoid")
    assert float(w.sum()) == pytest.approx(1.0)


@pytest.mark.parametrize("method", METHODS)
def test_quadrature_weights_sum_to_one_and_integrate_a_line(method):
    alphas, w = quadrature(12, method)
    assert float(w.sum()) == pytest.approx(1.0)
    assert ((alphas >= 0) & (alphas <= 1)).all()
    if method in ("gausslegendre", "riemann_trapezoid", "riemann_middle"):
        assert float((w * alphas).sum()) == pytest.approx(0.5)  # exact for g(a) = a


def test_gauss_legendre_is_exact_for_polynomials():
    alphas, w = quadrature(5, "gausslegendre")
    assert float((w * alphas**9).sum()) == pytest.approx(0.1, rel=1e-12)


@pytest.mark.parametrize("absolute", [True, False])
def test_saliency_equals_captum(absolute, batch):
    model = small_cnn().eval()
    target = torch.tensor([2, 1, 0, 0, 1])
    ours = saliency(model, batch, target, absolute=absolute)
    ref = captum(captum_attr.Saliency, model, batch, target=target, abs=absolute)
    torch.testing.assert_close(ours, ref)


def test_saliency_of_a_linear_model_is_its_weight_row(batch):
    lin = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
    w = lin[1].weight.detach()
    got = saliency(lin, batch, 1, absolute=False)
    torch.testing.assert_close(got, w[1].view(1, 1, 8, 8).expand_as(batch))


def test_ig_of_a_linear_model_is_weight_times_difference(batch):
    lin = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
    w = lin[1].weight.detach()[2].view(1, 1, 8, 8)
    got = integrated_gradients(lin, batch, 2, baseline=0.25, steps=3)
    torch.testing.assert_close(got, w * (batch - 0.25))


def test_completeness_gap_shrinks_with_steps(batch):
    model = smooth_mlp()
    x = batch.double().reshape(5, 64)[:, :16].contiguous()
    gaps = []
    for steps in (2, 4, 8, 16, 32):
        attr = integrated_gradients(model, x, 0, steps=steps, method="riemann_middle")
        gaps.append(completeness_gap(model, x, attr, 0).abs().max().item())
    assert all(b < a for a, b in zip(gaps, gaps[1:], strict=False)), gaps
    assert gaps[-1] < 1e-3
    # the midpoint rule's error falls like 1/steps^2: doubling the steps divides it by ~4
    assert 2.5 < gaps[-2] / gaps[-1] < 6
    attr = integrated_gradients(model, x, 0, steps=16)  # Gauss-Legendre: near machine precision
    assert completeness_gap(model, x, attr, 0).abs().max().item() < 1e-10


def test_completeness_fails_for_wrong_variants(batch):
    model = smooth_mlp()
    x = batch.double().reshape(5, 64)[:, :16].contiguous()
    attr = integrated_gradients(model, x, 1, steps=64)
    assert completeness_gap(model, x, attr, 1).abs().max() < 1e-10
    grad_times_input = saliency(model, x, 1, absolute=False) * x
    assert completeness_gap(model, x, grad_times_input, 1).abs().max() > 1e-3
    no_difference = attr / x  # forgot to multiply by (x - baseline)
    assert completeness_gap(model, x, no_difference, 1).abs().max() > 1e-3


def test_rows_are_independent_and_mode_is_restored():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Dropout(0.5), nn.Linear(6, 2))
    model.train()
    model[1].running_mean.uniform_()  # so that training/evaluation statistics differ
    x = torch.randn(8, 4)
    both = integrated_gradients(model, x, 1, steps=8)
    one = integrated_gradients(model, x[:1], 1, steps=8)
    torch.testing.assert_close(both[:1], one)
    assert model.training


def test_attention_rollout_matches_a_numpy_loop():
    g = torch.Generator().manual_seed(0)
    maps = [torch.softmax(torch.randn(2, 3, 5, 5, generator=g), -1) for _ in range(3)]
    ref = np.stack([np.eye(5)] * 2)
    for a in maps:
        layer = a.mean(1).numpy() * 0.5 + 0.5 * np.eye(5)
        layer = layer / layer.sum(-1, keepdims=True)
        ref = np.einsum("bij,bjk->bik", layer, ref)
    got = attention_rollout(maps)
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-5, atol=1e-6)
    wrong_order = attention_rollout(maps[::-1])
    assert not np.allclose(wrong_order.numpy(), ref, atol=1e-4)
    plain = attention_rollout(maps, residual=False)
    np.testing.assert_allclose(plain[0].numpy(),
                               (maps[2].mean(1) @ maps[1].mean(1) @ maps[0].mean(1))[0].numpy(),
                               rtol=1e-5)  # fmt: skip


def test_attention_rollout_of_a_gpt_is_causal_and_row_stochastic():
    cfg = GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16)
    torch.manual_seed(0)
    gpt = GPT(cfg)
    idx = torch.randint(0, 11, (3, 8))
    r = attention_rollout(gpt.attention_maps(idx))
    assert r.shape == (3, 8, 8)
    torch.testing.assert_close(r.sum(-1), torch.ones(3, 8))
    assert torch.equal(torch.triu(r, 1), torch.zeros_like(r))


@pytest.mark.gpu
def test_integrated_gradients_cuda_matches_cpu(batch):
    """float32 on CUDA vs CPU: the same attributions within 1e-4 (cuDNN sums differently)."""
    model = small_cnn().eval()
    cpu = integrated_gradients(model, batch, 1, steps=32)
    gpu = integrated_gradients(model.cuda(), batch.cuda(), 1, steps=32).cpu()
    torch.testing.assert_close(gpu, cpu, rtol=1e-4, atol=1e-5)
