"""AlexNet, VGG-16, ResNet-50/152 and DQN (companion.architectures): counts, shapes, values."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from companion.architectures import Bottleneck, alexnet, dqn, resnet50, resnet152, vgg16
from companion.history import count_on_meta

# Reference counts (weights + biases + BatchNorm affine); torchvision gives the same numbers for
# alexnet (single tower), vgg16, resnet50 and resnet152.
EXACT = {
    "alexnet-2012": (alexnet, 60_965_224),
    "alexnet-single-tower": (lambda: alexnet(grouped=False), 61_100_840),
    "vgg16": (vgg16, 138_357_544),
    "resnet50": (resnet50, 25_557_032),
    "resnet152": (resnet152, 60_192_808),
    "dqn": (dqn, 1_693_362),
}


@pytest.mark.parametrize("name", EXACT)
def test_exact_parameter_counts(name):
    builder, expected = EXACT[name]
    assert count_on_meta(builder) == expected


def test_alexnet_count_by_hand():
    """Layer by layer from Krizhevsky et al. (2012), section 3.5 and Figure 2."""
    conv = [(96, 11, 3), (256, 5, 48), (384, 3, 256), (384, 3, 192), (256, 3, 192)]
    fc = [(9216, 4096), (4096, 4096), (4096, 1000)]
    total = sum(n * (k * k * c + 1) for n, k, c in conv) + sum(o * (i + 1) for i, o in fc)
    assert total == count_on_meta(alexnet) == 60_965_224


def test_num_classes_changes_only_the_last_layer():
    assert count_on_meta(lambda: resnet50(10)) == 25_557_032 - 2049 * 990
    assert count_on_meta(lambda: vgg16(10)) == 138_357_544 - 4097 * 990


@pytest.mark.parametrize("builder", [alexnet, lambda: alexnet(grouped=False), vgg16, resnet50])
def test_imagenet_shapes_on_meta(builder):
    with torch.device("meta"):
        model = builder()
        out = model(torch.empty(1, 3, 224, 224))
    assert out.shape == (1, 1000)


def test_real_forward_pass_small_batch():
    torch.manual_seed(0)
    model = resnet50(num_classes=7).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        y = model(x)
        y0 = model(x[:1])
    assert y.shape == (2, 7) and torch.isfinite(y).all()
    torch.testing.assert_close(y[:1], y0, rtol=1e-4, atol=1e-5)  # samples do not interact


def test_grouped_conv_is_two_gpus_side_by_side():
    """conv2 with groups=2 equals two convolutions, each on its own half of the channels."""
    torch.manual_seed(0)
    with torch.device("meta"):
        conv2 = alexnet().features[4]
    conv2 = conv2.to_empty(device="cpu")  # real memory for this layer only
    torch.nn.init.normal_(conv2.weight, std=0.05)
    torch.nn.init.normal_(conv2.bias)
    assert conv2.groups == 2 and conv2.weight.shape == (256, 48, 5, 5)
    x = torch.randn(1, 96, 27, 27)
    w, b = conv2.weight, conv2.bias
    halves = [
        F.conv2d(
            x[:, 48 * g : 48 * (g + 1)],
            w[128 * g : 128 * (g + 1)],
            b[128 * g : 128 * (g + 1)],
            padding=2,
        )
        for g in range(2)
    ]
    torch.testing.assert_close(conv2(x), torch.cat(halves, dim=1))


def test_bottleneck_with_zero_last_gamma_is_relu_identity():
    torch.manual_seed(0)
    block = Bottleneck(256, 64).eval()
    torch.nn.init.zeros_(block.bn3.weight)
    torch.nn.init.zeros_(block.bn3.bias)
    x = torch.randn(2, 256, 8, 8)
    torch.testing.assert_close(block(x), torch.relu(x))
    down = Bottleneck(256, 128, stride=2)
    assert down(x).shape == (2, 512, 4, 4)


def test_dqn_shapes():
    assert dqn(4)(torch.zeros(3, 4, 84, 84)).shape == (3, 4)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="num_classes"):
        alexnet(num_classes=0)
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        resnet50(10)(torch.zeros(1, 1, 64, 64))
    with pytest.raises(ValueError, match="blocks"):
        from companion.architectures import ResNet

        ResNet((3, 4, 6), 10)
    with pytest.raises(ValueError, match="n_actions"):
        dqn(0)
