"""Transfer modes: frozen features stay fixed, full fine-tuning moves them, scratch is random."""

from __future__ import annotations

import pytest
import torch

from companion.cnn import LeNet
from companion.parameters import count_parameters
from companion.transfer import (
    MODES,
    LeNetFeatures,
    compare_transfer,
    trainable_count,
    transfer_model,
)


def test_features_are_lenet_up_to_fc2():
    torch.manual_seed(0)
    net = LeNet()
    x = torch.randn(3, 1, 28, 28)
    h = LeNetFeatures(net)(x)
    torch.testing.assert_close(net.fc3(h), net(x))  # the head on these features is LeNet


@pytest.mark.parametrize("mode", MODES)
def test_modes_start_and_train_as_documented(mode):
    torch.manual_seed(0)
    pre = LeNet()
    pre_conv = pre.conv1.weight.detach().clone()
    model = transfer_model(pre, 3, mode, seed=1)
    conv = model[0].net.conv1.weight
    assert torch.equal(conv, pre.conv1.weight) == (mode != "scratch")
    head = 84 * 3 + 3
    total = count_parameters(pre) - count_parameters(pre.fc3) + head
    assert trainable_count(model) == (head if mode == "frozen" else total)
    before = conv.detach().clone()
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    x, y = torch.randn(8, 1, 28, 28), torch.randint(0, 3, (8,))
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    assert torch.equal(conv, before) == (mode == "frozen")
    assert torch.equal(pre.conv1.weight, pre_conv)  # the pretrained model is not modified


def test_compare_transfer_shapes():
    torch.manual_seed(0)
    pre = LeNet()
    X, y = torch.randn(12, 1, 28, 28), torch.arange(12) % 3
    out = compare_transfer(pre, (X, y), (X, y), seeds=(0, 1), epochs=1)
    assert set(out) == set(MODES) and all(len(v) == 2 for v in out.values())
    assert all(0 <= a <= 1 for v in out.values() for a in v)
