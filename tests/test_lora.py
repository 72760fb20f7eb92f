"""The companion's LoRA layer equals peft's on the same weights, before and after merging."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from companion.lora import LoRALinear, apply_lora, lora_parameter_count, merge_lora
from companion.parameters import count_parameters

peft = pytest.importorskip("peft")


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(12, 20), nn.ReLU(), nn.Linear(20, 5))


def _pair(r=4, alpha=8.0):
    net = _net()
    cfg = peft.LoraConfig(r=r, lora_alpha=alpha, target_modules=["0", "2"], lora_dropout=0.0)
    ref = peft.get_peft_model(copy.deepcopy(net), cfg)
    ours = apply_lora(copy.deepcopy(net), ["0", "2"], r=r, alpha=alpha)
    g = torch.Generator().manual_seed(1)
    for name in ("0", "2"):
        layer = ref.base_model.model.get_submodule(name)
        with torch.no_grad():  # a non-zero B, as after training
            layer.lora_B["default"].weight.copy_(
                torch.randn(layer.lora_B["default"].weight.shape, generator=g)
            )
            ours.get_submodule(name).lora_A.copy_(layer.lora_A["default"].weight)
            ours.get_submodule(name).lora_B.copy_(layer.lora_B["default"].weight)
    return net, ours, ref


@pytest.mark.parametrize(("r", "alpha"), [(4, 8.0), (2, 1.0), (8, 32.0)])
def test_equals_peft_before_and_after_merge(r, alpha):
    _, ours, ref = _pair(r, alpha)
    x = torch.randn(7, 12)
    torch.testing.assert_close(ours(x), ref(x))
    assert ours.get_submodule("0").scaling == ref.base_model.model[0].scaling["default"]
    before = ours(x)
    merge_lora(ours)
    torch.testing.assert_close(ours(x), before, rtol=1e-5, atol=1e-5)
    merged_ref = ref.merge_and_unload()
    torch.testing.assert_close(ours(x), merged_ref(x), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours[0].base.weight, merged_ref[0].weight)


def test_wrong_scalings_differ_from_peft():
    _, ours, ref = _pair(4, 8.0)
    x = torch.randn(7, 12)
    layer = ours[0]
    h = layer.base(x)
    update = x @ layer.lora_A.T @ layer.lora_B.T
    want = ref.base_model.model[0](x)
    torch.testing.assert_close(h + 2.0 * update, want)  # alpha / r = 2
    assert not torch.allclose(h + 8.0 * update, want)  # alpha alone
    assert not torch.allclose(h + update, want)  # no scaling
    assert not torch.allclose(h + 0.5 * update, want)  # r / alpha


def test_init_is_identity_and_peft_like():
    net = _net()
    lora = apply_lora(copy.deepcopy(net), ["0", "2"], r=4, alpha=8.0)
    x = torch.randn(3, 12)
    torch.testing.assert_close(lora(x), net(x))  # B = 0: starts at the pretrained function
    assert torch.count_nonzero(lora[0].lora_B) == 0 and torch.count_nonzero(lora[0].lora_A) > 0
    bound = 1 / 12**0.5  # kaiming_uniform(a=sqrt 5) on fan_in 12, as nn.Linear and peft
    assert lora[0].lora_A.abs().max() <= bound


def test_trainable_parameters_and_count():
    net = _net()
    lora = apply_lora(copy.deepcopy(net), ["0", "2"], r=4, alpha=8.0)
    want = lora_parameter_count(12, 20, 4) + lora_parameter_count(20, 5, 4)
    assert count_parameters(lora, trainable_only=True) == want == 4 * 32 + 4 * 25
    cfg = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["0", "2"])
    ref = peft.get_peft_model(copy.deepcopy(net), cfg)
    assert sum(p.numel() for p in ref.parameters() if p.requires_grad) == want


def test_training_moves_only_lora_and_unmerge_restores():
    net = _net()
    lora = apply_lora(copy.deepcopy(net), ["0", "2"], r=2, alpha=4.0)
    w0 = lora[0].base.weight.clone()
    opt = torch.optim.SGD([p for p in lora.parameters() if p.requires_grad], lr=0.1)
    x, y = torch.randn(32, 12), torch.randn(32, 5)
    for _ in range(5):
        opt.zero_grad()
        ((lora(x) - y) ** 2).mean().backward()
        opt.step()
    assert torch.equal(lora[0].base.weight, w0) and lora[0].lora_B.abs().sum() > 0
    out = lora(x)
    layer = lora[0].merge()
    assert layer.merged and not torch.equal(layer.base.weight, w0)
    torch.testing.assert_close(lora(x), out, rtol=1e-5, atol=1e-5)
    layer.merge()  # a second merge is a no-op, not a double update
    torch.testing.assert_close(lora(x), out, rtol=1e-5, atol=1e-5)
    layer.unmerge()
    torch.testing.assert_close(layer.base.weight, w0)


def test_lora_linear_keeps_dtype():
    base = nn.Linear(6, 3).double()
    layer = LoRALinear(base, r=2)
    assert layer.lora_A.dtype == torch.float64
    assert layer(torch.randn(2, 6, dtype=torch.float64)).dtype == torch.float64


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_lora_on_cuda_matches_cpu():
    """Same weights on both devices; float32 products agree within 1e-5 (TF32 is off here)."""
    torch.backends.cuda.matmul.allow_tf32 = False
    _, ours, _ = _pair(4, 8.0)
    x = torch.randn(16, 12)
    gpu = copy.deepcopy(ours).cuda()
    torch.testing.assert_close(gpu(x.cuda()).cpu(), ours(x), rtol=1e-5, atol=1e-5)
    merge_lora(gpu)
    torch.testing.assert_close(gpu(x.cuda()).cpu(), ours(x), rtol=1e-5, atol=1e-5)
