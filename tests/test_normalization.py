"""companion.normalization against nn.BatchNorm1d / nn.LayerNorm (Chapter 8, §8.6)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from companion.normalization import BatchNorm1d, LayerNorm


def _pair(d=5, **kw):
    ours = BatchNorm1d(d, dtype=torch.float64, **kw)
    theirs = nn.BatchNorm1d(d, dtype=torch.float64, **kw)
    g = torch.Generator().manual_seed(0)
    if kw.get("affine", True):
        with torch.no_grad():
            w, b = (
                torch.randn(d, generator=g, dtype=torch.float64),
                torch.randn(d, generator=g, dtype=torch.float64),
            )
            ours.weight.copy_(w), ours.bias.copy_(b), theirs.weight.copy_(w), theirs.bias.copy_(b)
    return ours, theirs


@pytest.mark.parametrize("kw", [{}, {"momentum": 0.3, "eps": 1e-3}, {"affine": False}])
def test_batchnorm_train_and_eval_match_torch(kw):
    ours, theirs = _pair(**kw)
    g = torch.Generator().manual_seed(1)
    for step in range(6):
        x = 3 + 2 * torch.randn(16 + step, 5, generator=g, dtype=torch.float64)
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        ya, yb = ours(xa), theirs(xb)
        torch.testing.assert_close(ya, yb, rtol=1e-12, atol=1e-12)
        (ya**3).sum().backward()
        (yb**3).sum().backward()
        torch.testing.assert_close(xa.grad, xb.grad, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(ours.running_mean, theirs.running_mean, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(ours.running_var, theirs.running_var, rtol=1e-12, atol=1e-14)
    assert ours.num_batches_tracked.item() == theirs.num_batches_tracked.item() == 6
    ours.eval()
    theirs.eval()
    x = torch.randn(4, 5, generator=g, dtype=torch.float64)
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ours(x[:1]), theirs(x[:1]), rtol=1e-12, atol=1e-12)


def test_batchnorm_wrong_variants_fail():
    """Biased running variance, or eval mode with batch statistics, differ from torch."""
    ours, theirs = _pair()
    x = torch.randn(8, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    ours(x), theirs(x)
    biased = 0.9 + 0.1 * x.var(0, unbiased=False)
    assert not torch.allclose(biased, theirs.running_var)
    torch.testing.assert_close(ours.running_var, theirs.running_var)
    theirs.eval()
    x2 = x + 1
    batch_stats = (x2 - x2.mean(0)) / torch.sqrt(x2.var(0, unbiased=False) + 1e-5)
    batch_stats = batch_stats * theirs.weight + theirs.bias
    assert not torch.allclose(batch_stats, theirs(x2))


def test_batchnorm_state_dict_loads_into_torch():
    ours, theirs = _pair()
    ours(torch.randn(10, 5, dtype=torch.float64))
    theirs.load_state_dict(ours.state_dict())
    ours.eval(), theirs.eval()
    x = torch.randn(3, 5, dtype=torch.float64)
    torch.testing.assert_close(ours(x), theirs(x))


@pytest.mark.parametrize("shape", [(7, 6), (2, 3, 6)])
@pytest.mark.parametrize("affine", [True, False])
def test_layernorm_matches_torch(shape, affine):
    ours = LayerNorm(6, elementwise_affine=affine, dtype=torch.float64)
    theirs = nn.LayerNorm(6, elementwise_affine=affine, dtype=torch.float64)
    if affine:
        with torch.no_grad():
            w = torch.randn(6, dtype=torch.float64)
            ours.weight.copy_(w), theirs.weight.copy_(w)
            ours.bias.fill_(0.3), theirs.bias.fill_(0.3)
    x = 5 + torch.randn(*shape, dtype=torch.float64)
    for mode in ("train", "eval"):
        getattr(ours, mode)(), getattr(theirs, mode)()
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        torch.testing.assert_close(ours(xa), theirs(xb), rtol=1e-12, atol=1e-12)
        (ours(xa) ** 3).sum().backward()
        (theirs(xb) ** 3).sum().backward()
        torch.testing.assert_close(xa.grad, xb.grad, rtol=1e-9, atol=1e-10)
    # wrong variant: unbiased variance
    wrong = (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True) + 1e-5)
    theirs_plain = nn.LayerNorm(6, elementwise_affine=False, dtype=torch.float64)
    assert not torch.allclose(wrong, theirs_plain(x))


def test_layernorm_two_dims():
    ours = LayerNorm((3, 4), dtype=torch.float64)
    theirs = nn.LayerNorm((3, 4), dtype=torch.float64)
    x = torch.randn(5, 3, 4, dtype=torch.float64)
    torch.testing.assert_close(ours(x), theirs(x))


@pytest.mark.gpu
def test_cuda_batchnorm_and_layernorm_match_torch():
    """On CUDA, ours equals torch's modules on the same device (float32, rtol 1e-5)."""
    x = torch.randn(32, 6, device="cuda")
    ours, theirs = BatchNorm1d(6).cuda(), nn.BatchNorm1d(6).cuda()
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours.running_var, theirs.running_var, rtol=1e-5, atol=1e-6)
    ln_ours, ln_theirs = LayerNorm(6).cuda(), nn.LayerNorm(6).cuda()
    torch.testing.assert_close(ln_ours(x), ln_theirs(x), rtol=1e-5, atol=1e-5)


def test_layernorm_follows_module_dtype_conversion():
    ours, theirs = LayerNorm(6).double(), nn.LayerNorm(6).double()
    x = torch.randn(3, 6, dtype=torch.float64)
    torch.testing.assert_close(ours(x), theirs(x))
    bn_ours, bn_theirs = BatchNorm1d(6).double(), nn.BatchNorm1d(6).double()
    torch.testing.assert_close(bn_ours(x), bn_theirs(x))
