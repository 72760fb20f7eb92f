"""AlexNet, VGG-16, ResNet-50/152 and DQN (companion.architectures): counts, layer-by-layer
shapes against the papers' tables, minimum input sizes, and (where torchvision imports)
outputs against torchvision's own definitions with the same weights."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from companion.architectures import (
    Bottleneck,
    alexnet,
    dqn,
    min_input_size,
    resnet50,
    resnet152,
    vgg16,
)
from companion.parameters import count_on_meta

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


# --- layer by layer: the published output shape of every stage, for a 224x224 input -------
# Each entry: (layer type, kernel, stride, output (C, H, W)) for the convolutions and pools,
# ("fc", None, None, (features,)) for the linear layers, in forward order.
# AlexNet: Krizhevsky et al. (2012), Fig. 2 / section 3.5 (with 224 input and padding 2 the
# first map is 55x55, as the paper states); the single tower: torchvision's definition
# (Krizhevsky 2014, "One weird trick"). VGG-16: Simonyan & Zisserman (2015), Table 1, column D.
# ResNet-50: He et al. (2016), Table 1 (stage outputs conv1 112, conv2_x 56, ..., conv5_x 7).
ALEXNET_2012 = [
    ("conv", 11, 4, (96, 55, 55)), ("pool", 3, 2, (96, 27, 27)),
    ("conv", 5, 1, (256, 27, 27)), ("pool", 3, 2, (256, 13, 13)),
    ("conv", 3, 1, (384, 13, 13)), ("conv", 3, 1, (384, 13, 13)),
    ("conv", 3, 1, (256, 13, 13)), ("pool", 3, 2, (256, 6, 6)),
    ("fc", None, None, (4096,)), ("fc", None, None, (4096,)), ("fc", None, None, (1000,)),
]  # fmt: skip
ALEXNET_SINGLE = [
    ("conv", 11, 4, (64, 55, 55)), ("pool", 3, 2, (64, 27, 27)),
    ("conv", 5, 1, (192, 27, 27)), ("pool", 3, 2, (192, 13, 13)),
    ("conv", 3, 1, (384, 13, 13)), ("conv", 3, 1, (256, 13, 13)),
    ("conv", 3, 1, (256, 13, 13)), ("pool", 3, 2, (256, 6, 6)),
    ("fc", None, None, (4096,)), ("fc", None, None, (4096,)), ("fc", None, None, (1000,)),
]  # fmt: skip
VGG16_D = (
    [("conv", 3, 1, (64, 224, 224))] * 2 + [("pool", 2, 2, (64, 112, 112))]
    + [("conv", 3, 1, (128, 112, 112))] * 2 + [("pool", 2, 2, (128, 56, 56))]
    + [("conv", 3, 1, (256, 56, 56))] * 3 + [("pool", 2, 2, (256, 28, 28))]
    + [("conv", 3, 1, (512, 28, 28))] * 3 + [("pool", 2, 2, (512, 14, 14))]
    + [("conv", 3, 1, (512, 14, 14))] * 3 + [("pool", 2, 2, (512, 7, 7))]
    + [("fc", None, None, (4096,))] * 2 + [("fc", None, None, (1000,))]
)  # fmt: skip


def _trace(model: nn.Module, size: int = 224) -> list[tuple]:
    """(type, kernel, stride, output shape) of every conv, max-pool and linear layer of
    ``model`` in the order they run, from hooks on the meta device (no memory, no maths)."""
    rows, hooks = [], []
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.Linear)):

            def hook(mod, inputs, out):
                if isinstance(mod, nn.Linear):
                    rows.append(("fc", None, None, tuple(out.shape[1:])))
                else:
                    kind = "conv" if isinstance(mod, nn.Conv2d) else "pool"
                    k, s = mod.kernel_size, mod.stride
                    k, s = (
                        (k[0] if isinstance(k, tuple) else k),
                        (s[0] if isinstance(s, tuple) else s),
                    )
                    rows.append((kind, k, s, tuple(out.shape[1:])))

            hooks.append(m.register_forward_hook(hook))
    model(torch.empty(1, 3, size, size, device="meta"))
    for h in hooks:
        h.remove()
    return rows


@pytest.mark.parametrize(
    "builder,published",
    [(alexnet, ALEXNET_2012), (lambda: alexnet(grouped=False), ALEXNET_SINGLE), (vgg16, VGG16_D)],
    ids=["alexnet-2012", "alexnet-single-tower", "vgg16"],
)
def test_layer_by_layer_shapes_match_the_papers(builder, published):
    with torch.device("meta"):
        model = builder()
    assert _trace(model) == published


def test_alexnet_2012_has_the_two_gpu_groups_where_the_paper_has_them():
    """conv2, conv4 and conv5 see only their own GPU's half of the channels (paper, Fig. 2)."""
    with torch.device("meta"):
        convs = [m for m in alexnet().features if isinstance(m, nn.Conv2d)]
    assert [c.groups for c in convs] == [1, 2, 1, 2, 2]
    assert [tuple(c.weight.shape[:2]) for c in convs] == [
        (96, 3), (256, 48), (384, 256), (384, 192), (256, 192)
    ]  # fmt: skip


# ResNet-50, He et al. (2016) Table 1: per stage, the bottleneck widths (1x1, 3x3, 1x1), the
# number of blocks, and the stage's output (C, H, W) for a 224x224 image.
RESNET50_TABLE = [
    ((64, 64, 256), 3, (256, 56, 56)),
    ((128, 128, 512), 4, (512, 28, 28)),
    ((256, 256, 1024), 6, (1024, 14, 14)),
    ((512, 512, 2048), 3, (2048, 7, 7)),
]


def test_resnet50_stages_match_table_1():
    with torch.device("meta"):
        model = resnet50()
    stem_out = model.stem(torch.empty(1, 3, 224, 224, device="meta"))
    conv1 = model.stem[0]
    assert (conv1.kernel_size, conv1.stride, conv1.out_channels) == ((7, 7), (2, 2), 64)
    assert tuple(model.stem[:3](torch.empty(1, 3, 224, 224, device="meta")).shape) == (
        1,
        64,
        112,
        112,
    )  # fmt: skip  "conv1: 112x112, 7x7, 64, stride 2"
    assert tuple(stem_out.shape) == (1, 64, 56, 56)  # "3x3 max pool, stride 2"
    x = stem_out
    for stage, (widths, n_blocks, out_shape) in zip(model.stages, RESNET50_TABLE, strict=True):
        assert len(stage) == n_blocks
        for block in stage:
            convs = (block.conv1, block.conv2, block.conv3)
            assert tuple(c.out_channels for c in convs) == widths
            assert tuple(c.kernel_size[0] for c in convs) == (1, 3, 1)
        x = stage(x)
        assert tuple(x.shape[1:]) == out_shape
    assert model.fc.in_features == 2048 and model.fc.out_features == 1000


def test_resnet_downsamples_on_the_3x3_convolution_like_torchvision_v1_5():
    """The stride-2 convolution of each downsampling block is the 3x3 one (torchvision's
    "ResNet v1.5"); the paper's Caffe model strides the first 1x1. Same parameter count."""
    with torch.device("meta"):
        model = resnet50()
    for i, stage in enumerate(model.stages):
        first = stage[0]
        assert first.conv1.stride == (1, 1)
        assert first.conv2.stride == ((1, 1) if i == 0 else (2, 2))
        assert isinstance(first.shortcut, nn.Sequential)  # projection shortcut (option B)
        assert all(isinstance(b.shortcut, nn.Identity) for b in stage[1:])


# --- the smallest input each network accepts -----------------------------------------------


@pytest.mark.parametrize(
    "builder,expected",
    [(alexnet, 63), (lambda: alexnet(grouped=False), 63), (vgg16, 32), (resnet50, 1)],
    ids=["alexnet", "alexnet-single", "vgg16", "resnet50"],
)
def test_min_size_is_the_true_minimum(builder, expected):
    """min_size is computed from the layers; torch itself fails one pixel below it."""
    with torch.device("meta"):
        model = builder()
    assert model.min_size == expected
    body = model.features if hasattr(model, "features") else nn.Sequential(model.stem, model.stages)
    out = body(torch.empty(2, 3, expected, expected, device="meta"))  # 2: BatchNorm needs >1
    assert min(out.shape[-2:]) >= 1
    if expected > 1:  # torch fails one pixel below; the companion says why, before torch
        with pytest.raises(RuntimeError):
            body(torch.empty(1, 3, expected - 1, expected - 1, device="meta"))
        with pytest.raises(ValueError, match=f"at least {expected}x{expected}"):
            model(torch.empty(1, 3, expected - 1, expected, device="meta"))


def test_min_input_size_formula_on_small_chains():
    """n >= (m - 1) s + k - 2p, walked backwards; checked against F.conv2d/F.max_pool2d."""
    chains = [
        [nn.Conv2d(1, 1, 5)],  # 5
        [nn.Conv2d(1, 1, 3, stride=2), nn.MaxPool2d(2)],  # pool needs 2 -> conv needs 5
        [nn.Conv2d(1, 1, 7, stride=2, padding=3), nn.MaxPool2d(3, 2, padding=1)],  # 1
        [nn.Conv2d(1, 1, 3, padding=1), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3)],  # 6
    ]
    for chain in chains:
        n = min_input_size(chain)
        seq = nn.Sequential(*chain)
        assert min(seq(torch.zeros(1, 1, n, n)).shape[-2:]) >= 1
        if n > 1:
            with pytest.raises(RuntimeError):
                seq(torch.zeros(1, 1, n - 1, n - 1))
    assert [min_input_size(c) for c in chains] == [5, 5, 1, 6]


def test_real_forward_pass_small_batch():
    torch.manual_seed(0)
    model = resnet50(num_classes=7).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        y = model(x)
        y0 = model(x[1:])
    assert y.shape == (2, 7) and torch.isfinite(y).all()
    torch.testing.assert_close(y[1:], y0, rtol=1e-4, atol=1e-5)  # samples do not interact


def test_grouped_conv_is_two_gpus_side_by_side():
    """conv2 with groups=2 equals two convolutions, each on its own half of the channels;
    an ungrouped convolution with the same weights would not (the wrong variant)."""
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
    # wrong variant: every output channel sees the first 48 input channels only
    wrong = F.conv2d(x[:, :48], w, b, padding=2)
    assert not torch.allclose(conv2(x), wrong, atol=1e-3)


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


# --- against torchvision, where it imports beside this torch (not here: see the brief) -----


def _load_by_position(ours: nn.Module, theirs: nn.Module) -> None:
    """Copy ``theirs``' state into ``ours`` entry by entry (the orders match; names differ)."""
    src, dst = theirs.state_dict(), ours.state_dict()
    assert len(src) == len(dst)
    new = {}
    for (k_dst, v_dst), (k_src, v_src) in zip(dst.items(), src.items(), strict=True):
        assert v_dst.shape == v_src.shape, (k_dst, k_src)
        new[k_dst] = v_src
    ours.load_state_dict(new)


@pytest.mark.parametrize("name", ["alexnet", "vgg16", "resnet50"])
def test_outputs_equal_torchvision_with_the_same_weights(name):
    models = pytest.importorskip("torchvision.models")
    torch.manual_seed(0)
    theirs = getattr(models, name)(weights=None).eval()
    ours = {"alexnet": lambda: alexnet(grouped=False), "vgg16": vgg16, "resnet50": resnet50}[
        name
    ]().eval()
    _load_by_position(ours, theirs)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), rtol=1e-4, atol=1e-5)
