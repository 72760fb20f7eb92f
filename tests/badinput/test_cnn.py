"""Bad input to companion.cnn: every plausible mistake gets a clear error (or, where the
input is accepted on purpose, the right answer against PyTorch)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from companion.cnn import (
    ConvBlock,
    DeepConvNet,
    Im2colConv2d,
    LeNet,
    RandomShift,
    avg_pool2d,
    conv2d,
    conv2d_loops,
    conv_output_size,
    max_pool2d,
    receptive_field,
)
from tests.badinput.harness import expect_clear_error

X = torch.randn(2, 3, 8, 8)
W = torch.randn(4, 3, 3, 3)
B = torch.randn(4)
NET = LeNet()
IMGS = torch.randn(2, 1, 28, 28)

CASES = [
    # conv2d (and the loops, which share the checks)
    (lambda: conv2d(X.numpy(), W), "x", TypeError),
    (lambda: conv2d(X.tolist(), W), "x", TypeError),
    (lambda: conv2d(X.double(), W), "x", TypeError),  # float64 data, float32 weights
    (lambda: conv2d(X.long(), W), "x", TypeError),  # integer pixels
    (lambda: conv2d(X, W.double()), "x", TypeError),
    (lambda: conv2d(X, W.numpy()), "weight", TypeError),
    (lambda: conv2d(X, W > 0), "weight", TypeError),  # a bool kernel
    (lambda: conv2d(X, W.long()), "weight", TypeError),
    (lambda: conv2d(X[0], W), "x", ValueError),  # one image without the batch axis
    (lambda: conv2d(X, W[0]), "weight", ValueError),
    (lambda: conv2d(X, W[:, :2]), "x", ValueError),  # channel count mismatch
    (lambda: conv2d(torch.randn(1, 3, 2, 2), W), "kernel", ValueError),  # kernel > input
    (lambda: conv2d(X, W, stride=0), "stride", ValueError),
    (lambda: conv2d(X, W, stride=-1), "stride", ValueError),
    (lambda: conv2d(X, W, stride=1.5), "stride", TypeError),
    (lambda: conv2d(X, W, stride=True), "stride", TypeError),
    (lambda: conv2d(X, W, padding=-1), "padding", ValueError),
    (lambda: conv2d(X, W, padding="same"), "padding", TypeError),
    (lambda: conv2d(X, W, padding=(1, 1, 1)), "padding", ValueError),
    (lambda: conv2d(X, W, B[:3]), "bias", ValueError),
    (lambda: conv2d(X, W, B.double()), "bias", TypeError),
    (lambda: conv2d(X, W, B.numpy()), "bias", TypeError),
    (lambda: conv2d_loops(X.double(), W), "x", TypeError),
    (lambda: conv2d_loops(X, W, stride=0), "stride", ValueError),
    # conv_output_size
    (lambda: conv_output_size(28, 5, -1), "padding", ValueError),
    (lambda: conv_output_size(28, 5, 0, 0), "stride", ValueError),
    (lambda: conv_output_size(28, 0), "kernel", ValueError),
    (lambda: conv_output_size(28.0, 5), "size", TypeError),
    (lambda: conv_output_size(3, 5), "kernel", ValueError),
    (lambda: conv_output_size(28, 5, 0, 1.5), "stride", TypeError),
    # pooling
    (lambda: max_pool2d(X.numpy(), 2), "x", TypeError),
    (lambda: max_pool2d(X.long(), 2), "x", TypeError),
    (lambda: avg_pool2d(X.long(), 2), "x", TypeError),  # an integer mean would truncate
    (lambda: max_pool2d(X[0], 2), "x", ValueError),
    (lambda: max_pool2d(X, 0), "kernel_size", ValueError),
    (lambda: max_pool2d(X, 2, stride=0), "stride", ValueError),
    (lambda: max_pool2d(X, 2, padding=2), "padding", ValueError),
    (lambda: max_pool2d(X, 9), "kernel_size", ValueError),
    (lambda: avg_pool2d(X, 2.0), "kernel_size", TypeError),
    # receptive_field
    (lambda: receptive_field([(3, 0)]), "layers", ValueError),
    (lambda: receptive_field([(0, 1)]), "layers", ValueError),
    (lambda: receptive_field([3, 1]), "layers", TypeError),
    (lambda: receptive_field(3), "layers", TypeError),
    # LeNet
    (lambda: NET(IMGS.double()), "x", TypeError),
    (lambda: NET(IMGS.long()), "x", TypeError),
    (lambda: NET(IMGS.numpy()), "x", TypeError),
    (lambda: NET(IMGS[0]), "x", ValueError),
    (lambda: NET(torch.randn(2, 3, 28, 28)), "x", ValueError),
    (lambda: NET(torch.randn(2, 1, 32, 32)), "x", ValueError),
    (lambda: NET.features(IMGS.double()), "x", TypeError),
    (lambda: LeNet(image_size=64), "image_size", ValueError),
    (lambda: LeNet(in_channels=0), "in_channels", ValueError),
    (lambda: LeNet(num_classes=2.5), "num_classes", TypeError),
    (lambda: LeNet(channels=(6,)), "channels", TypeError),
    (lambda: LeNet(channels=(6, 0)), "channels", ValueError),
    (lambda: LeNet(conv=torch.nn.Linear), "conv", TypeError),
    # DeepConvNet, ConvBlock
    (lambda: DeepConvNet(depth=0), "depth", ValueError),
    (lambda: DeepConvNet(depth=2.0), "depth", TypeError),
    (lambda: DeepConvNet(depth=2, batch_norm="yes"), "batch_norm", TypeError),
    (lambda: DeepConvNet(depth=2)(torch.randn(2, 1, 7, 7).double()), "x", TypeError),
    (lambda: DeepConvNet(depth=2)(torch.randn(2, 3, 7, 7)), "x", ValueError),
    (lambda: ConvBlock(0, False, False), "width", ValueError),
    (lambda: ConvBlock(4, False, 1), "residual", TypeError),
    # Im2colConv2d
    (lambda: Im2colConv2d(3, 4, 3)(X.double()), "x", TypeError),
    (lambda: Im2colConv2d(3, 4, 3, dilation=2), "dilation", ValueError),
    (lambda: Im2colConv2d(3, 4, 3, padding="same"), "padding", ValueError),
    # RandomShift
    (lambda: RandomShift(IMGS.numpy(), torch.arange(2)), "X", TypeError),
    (lambda: RandomShift(IMGS[:, 0], torch.arange(2)), "X", ValueError),
    (lambda: RandomShift(IMGS, torch.arange(3)), "y", ValueError),
    (lambda: RandomShift(IMGS, torch.arange(2), max_shift=-1), "max_shift", ValueError),
    (lambda: RandomShift(IMGS, torch.arange(2), max_shift=1.5), "max_shift", TypeError),
    (lambda: RandomShift(IMGS, torch.arange(2), max_shift=28), "max_shift", ValueError),
]


@pytest.mark.parametrize("call,name,kind", CASES)
def test_clear_error(call, name, kind):
    expect_clear_error(call, name, kind=kind)


def test_accepted_inputs_give_the_right_answer():
    """Accepted on purpose, and right: pairs as lists, NumPy integers as sizes, float64
    data with float64 weights, non-square kernels, padding equal to half the window."""
    torch.testing.assert_close(
        conv2d(X, W, B, padding=[1, 0], stride=(np.int64(2), 1)),
        F.conv2d(X, W, B, padding=(1, 0), stride=(2, 1)),
    )
    torch.testing.assert_close(
        conv2d(X.double(), W.double(), B.double()), F.conv2d(X.double(), W.double(), B.double())
    )
    torch.testing.assert_close(max_pool2d(X, 3, 2, 1), F.max_pool2d(X, 3, 2, 1))
    assert conv_output_size(np.int64(224), 11, 2, 4) == 55
    assert receptive_field([(np.int64(3), 1), [3, 2]]) == [3, 5]
    net64 = LeNet().double()  # a float64 model takes float64 data
    assert net64(IMGS.double()).dtype == torch.float64
