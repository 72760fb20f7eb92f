"""Bad input to companion.architectures: clear errors, with the true minimum image sizes."""

from __future__ import annotations

import pytest
import torch

from companion.architectures import ResNet, alexnet, dqn, resnet50, vgg16
from tests.badinput.harness import expect_clear_error

with torch.device("meta"):  # shapes and dtypes only: no memory for 60 million weights
    ALEX, VGG, RES = alexnet(), vgg16(), resnet50()
DQN = dqn(4)


def meta(*shape, dtype=torch.float32):
    return torch.empty(*shape, dtype=dtype, device="meta")


CASES = [
    (lambda: ALEX(meta(1, 3, 224, 224, dtype=torch.float64)), "x", TypeError),
    (lambda: ALEX(meta(1, 3, 224, 224, dtype=torch.uint8)), "x", TypeError),  # raw pixels
    (lambda: ALEX(torch.zeros(1, 3, 64, 64).numpy()), "x", TypeError),
    (lambda: ALEX(meta(3, 224, 224)), "x", ValueError),
    (lambda: ALEX(meta(1, 1, 224, 224)), "x", ValueError),
    (lambda: ALEX(meta(1, 3, 32, 32)), "x", ValueError),  # accepted before; needs 63
    (lambda: ALEX(meta(1, 3, 62, 62)), "x", ValueError),
    (lambda: VGG(meta(1, 3, 31, 31)), "x", ValueError),
    (lambda: VGG(meta(1, 3, 224, 224, dtype=torch.float16)), "x", TypeError),
    (lambda: RES(meta(1, 3, 224, 224, dtype=torch.int64)), "x", TypeError),
    (lambda: RES(meta(1, 4, 224, 224)), "x", ValueError),
    (lambda: alexnet(num_classes=0), "num_classes", ValueError),
    (lambda: alexnet(num_classes=10.0), "num_classes", TypeError),
    (lambda: alexnet(grouped="no"), "grouped", TypeError),
    (lambda: vgg16(num_classes=-3), "num_classes", ValueError),
    (lambda: resnet50(num_classes=True), "num_classes", TypeError),
    (lambda: ResNet((3, 4, 6), 10), "blocks", ValueError),
    (lambda: ResNet((3, 4, 6, 0), 10), "blocks", ValueError),
    (lambda: ResNet((3, 4, 6, 2.5), 10), "blocks", TypeError),
    (lambda: ResNet(50, 10), "blocks", TypeError),
    (lambda: dqn(0), "n_actions", ValueError),
    (lambda: DQN(torch.zeros(1, 4, 84, 84, dtype=torch.float64)), "x", TypeError),
    (lambda: DQN(torch.zeros(1, 3, 84, 84)), "x", ValueError),
]


@pytest.mark.parametrize("call,name,kind", CASES)
def test_clear_error(call, name, kind):
    expect_clear_error(call, name, kind=kind)


def test_smallest_accepted_sizes_really_work():
    """Accepted on purpose: the minimum sizes run (checked on the meta device)."""
    assert ALEX(meta(1, 3, 63, 63)).shape == (1, 1000)
    assert VGG(meta(1, 3, 32, 32)).shape == (1, 1000)
    assert RES.eval()(meta(1, 3, 1, 1)).shape == (1, 1000)
