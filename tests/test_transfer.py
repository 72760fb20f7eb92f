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


def test_features_are_lenets_conv_part():
    torch.manual_seed(0)
    net = LeNet()
    x = torch.randn(3, 1, 28, 28)
    h = LeNetFeatures(net)(x)
    assert h.shape == (3, 400)
    out = net.fc3(torch.relu(net.fc2(torch.relu(net.fc1(h)))))
    torch.testing.assert_close(out, net(x))  # LeNet's fully connected layers on these = LeNet


@pytest.mark.parametrize("mode", MODES)
def test_modes_start_and_train_as_documented(mode):
    torch.manual_seed(0)
    pre = LeNet()
    pre_conv = pre.conv1.weight.detach().clone()
    model = transfer_model(pre, 3, mode, seed=1)
    conv = model[0].net.conv1.weight if mode == "frozen" else model.conv1.weight
    assert torch.equal(conv, pre.conv1.weight) == (mode != "scratch")
    lenet_3 = count_parameters(pre) - count_parameters(pre.fc3) + 84 * 3 + 3
    assert trainable_count(model) == (400 * 3 + 3 if mode == "frozen" else lenet_3)
    before = conv.detach().clone()
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    x, y = torch.randn(8, 1, 28, 28), torch.randint(0, 3, (8,))
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    assert torch.equal(conv, before) == (mode == "frozen")
    assert torch.equal(pre.conv1.weight, pre_conv)  # the pretrained model is not modified
    if mode == "full":  # every pretrained weight but the output layer is copied
        torch.testing.assert_close(transfer_model(pre, 3, "full").fc2.weight, pre.fc2.weight)


def test_compare_transfer_shapes():
    torch.manual_seed(0)
    pre = LeNet()
    X, y = torch.randn(12, 1, 28, 28), torch.arange(12) % 3
    out = compare_transfer(pre, (X, y), (X, y), seeds=(0, 1), epochs=1)
    assert set(out) == set(MODES) and all(len(v) == 2 for v in out.values())
    assert all(0 <= a <= 1 for v in out.values() for a in v)
