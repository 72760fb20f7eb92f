"""Pruning masks equal torch.nn.utils.prune's; a slimmed LeNet equals the masked one."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from companion.cnn import LeNet
from companion.pruning import (
    amount_to_count,
    apply_channel_mask_,
    apply_mask_,
    channel_mask,
    csr_bytes,
    global_magnitude_masks,
    magnitude_mask,
    slim_lenet,
    sparsity,
)


@pytest.mark.parametrize("amount", [0.0, 0.1, 0.37, 0.5, 0.9, 1.0, 7])
@pytest.mark.parametrize("shape", [(20, 30), (6, 3, 5, 5), (11,)])
def test_magnitude_mask_equals_torch(amount, shape):
    torch.manual_seed(1)
    w = torch.randn(shape)
    layer = nn.Module()
    layer.weight = nn.Parameter(w.clone())
    prune.l1_unstructured(layer, "weight", amount)
    mask = magnitude_mask(w, amount)
    assert torch.equal(mask, layer.weight_mask)
    # a wrong variant: pruning the *largest* weights gives another mask
    if 0 < amount_to_count(amount, w.numel()) < w.numel():
        wrong = torch.ones_like(w)
        wrong.view(-1)[torch.argsort(w.abs().flatten(), descending=True)[: int(
            (mask == 0).sum())]] = 0  # fmt: skip
        assert not torch.equal(wrong, layer.weight_mask)
        # and a signed ranking (w instead of |w|) too
        signed = torch.ones_like(w)
        signed.view(-1)[torch.argsort(w.flatten())[: int((mask == 0).sum())]] = 0
        assert not torch.equal(signed, layer.weight_mask)


def test_global_masks_equal_torch():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 5))
    ours = global_magnitude_masks([net[0].weight, net[2].weight], 0.6)
    ref = copy.deepcopy(net)
    prune.global_unstructured([(ref[0], "weight"), (ref[2], "weight")],
                              pruning_method=prune.L1Unstructured, amount=0.6)  # fmt: skip
    assert torch.equal(ours[0], ref[0].weight_mask)
    assert torch.equal(ours[1], ref[2].weight_mask)
    # layer-wise pruning at the same amount is a different (wrong) answer here
    assert not torch.equal(magnitude_mask(net[0].weight, 0.6), ref[0].weight_mask)


@pytest.mark.parametrize(("amount", "n", "dim"), [(0.5, 2, 0), (0.25, 1, 0), (0.4, 2, 1),
                                                  (3, 2, 0), (0.0, 2, 0)])  # fmt: skip
def test_channel_mask_equals_torch(amount, n, dim):
    torch.manual_seed(2)
    conv = nn.Conv2d(4, 10, 3)
    mask = channel_mask(conv.weight, amount, n=n, dim=dim)
    prune.ln_structured(conv, "weight", amount, n=n, dim=dim)
    assert torch.equal(mask, conv.weight_mask)


def test_channel_mask_wrong_norm_differs():
    torch.manual_seed(3)
    w = torch.randn(10, 4, 3, 3) * torch.linspace(0.5, 1.5, 36).view(1, 4, 3, 3)
    w[0] = 0.3  # large L1, small L2 after spreading... make L1 and L2 rankings disagree
    w[0, 0, 0, 0] = 2.0
    ref = nn.Conv2d(4, 10, 3)
    with torch.no_grad():
        ref.weight.copy_(w)
    prune.ln_structured(ref, "weight", 0.5, n=2, dim=0)
    assert torch.equal(channel_mask(w, 0.5, n=2), ref.weight_mask)
    # the max over a channel ranks channels differently: a wrong variant fails
    by_max = torch.ones_like(w)
    by_max[torch.argsort(w.abs().amax(dim=(1, 2, 3)))[:5]] = 0
    assert not torch.equal(by_max, ref.weight_mask)


def test_slim_lenet_equals_masked_lenet():
    torch.manual_seed(0)
    model = LeNet()
    masks = [channel_mask(model.conv1.weight, 0.5), channel_mask(model.conv2.weight, 0.25)]
    slim = slim_lenet(model, masks)
    assert (slim.conv1.out_channels, slim.conv2.out_channels) == (3, 12)
    x = torch.randn(4, 1, 28, 28)
    masked = copy.deepcopy(model)
    apply_channel_mask_(masked.conv1, masks[0])
    apply_channel_mask_(masked.conv2, masks[1])
    torch.testing.assert_close(slim(x), masked(x), rtol=1e-5, atol=1e-6)
    # masking the weights but not the biases is not the same network (wrong variant)
    half = copy.deepcopy(model)
    apply_mask_(half.conv1, masks[0])
    apply_mask_(half.conv2, masks[1])
    assert not torch.allclose(slim(x), half(x), atol=1e-4)


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support")
def test_sparsity_and_csr_bytes():
    w = torch.tensor([[0.0, 1.0, 0.0], [2.0, 0.0, 3.0]])
    assert sparsity(w) == pytest.approx(0.5)
    assert sparsity([w, torch.ones(2)]) == pytest.approx(3 / 8)
    csr = w.to_sparse_csr()
    want = sum(t.numel() * t.element_size()
               for t in (csr.values(), csr.col_indices(), csr.crow_indices()))  # fmt: skip
    assert csr_bytes(w) == want == 3 * 4 + 3 * 8 + 3 * 8


def test_amount_rounding_like_python():
    assert amount_to_count(0.25, 10) == 2  # round half to even, as PyTorch's round()
    assert amount_to_count(0.35, 10) == round(3.5)
    assert amount_to_count(4, 10) == 4
