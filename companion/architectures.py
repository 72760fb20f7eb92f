"""Three landmark image classifiers, written with ``torch.nn`` (Chapter 1; reused in Chapter 5).

* :func:`alexnet` -- Krizhevsky, Sutskever & Hinton (2012). ``grouped=True`` (default) is the
  original two-GPU network: conv2, conv4 and conv5 see only the 48/192 channels on "their"
  GPU, which PyTorch expresses as ``groups=2``; it has 60,965,224 parameters (paper: "60
  million"). ``grouped=False`` is the single-tower variant of Krizhevsky (2014) that
  torchvision ships (64-192-384-256-256 filters), 61,100,840 parameters.
* :func:`vgg16` -- Simonyan & Zisserman (2015), configuration D: 138,357,544 parameters.
* :func:`resnet50` -- He, Zhang, Ren & Sun (2016), bottleneck blocks [3, 4, 6, 3]:
  25,557,032 parameters (``resnet152``: [3, 8, 36, 3], 60,192,808).

Every count includes biases and BatchNorm's affine weights (running statistics are buffers,
not parameters). All three take images ``(B, 3, 224, 224)`` and return logits
``(B, num_classes)``; an adaptive pooling layer before the classifier keeps the head's shape
fixed, as in torchvision, so smaller images work down to each model's ``min_size``
(AlexNet 63, VGG-16 32, ResNet-50 1 pixel; computed from the layers by
:func:`min_input_size`, not typed). Build them under ``torch.device("meta")`` to count
parameters without allocating memory (:func:`companion.parameters.count_on_meta`).

Input policy (see :mod:`companion.validation`): images must be a floating tensor of the
weights' dtype (float64 or integer pixels are refused with a ``TypeError``, not cast), of
shape (B, 3, H, W) with H, W >= ``min_size`` (``ValueError``); constructor arguments are
checked (``num_classes`` a positive int, ``grouped`` a bool).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from companion.validation import check_bool, check_floating, check_positive_int

__all__ = [
    "alexnet",
    "min_input_size",
    "dqn",
    "vgg16",
    "resnet50",
    "resnet152",
    "ResNet",
    "Bottleneck",
    "VGG16_LAYOUT",
]


def _check_num_classes(num_classes: int) -> int:
    return check_positive_int(num_classes, "num_classes")


def min_input_size(layers: Iterable[nn.Module]) -> int:
    """Smallest square input for which every layer of a chain has an output of size >= 1.

    A layer with kernel k, stride s, padding p (dilation 1) gives an output of length
    m >= 1 exactly when its input has n >= (m - 1) s + k - 2p (eq. ``ch05-out-size``
    solved for n). Walking the chain backwards from m = 1 gives the minimum input.
    Only ``Conv2d`` and ``MaxPool2d``/``AvgPool2d`` change the size; other layers are
    skipped. Pass the *main path* only (a ResNet shortcut has the same stride).
    """
    need = 1
    for layer in reversed(list(layers)):
        if isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k, s, p = (_first(getattr(layer, a)) for a in ("kernel_size", "stride", "padding"))
            need = max(1, (need - 1) * s + k - 2 * p)
    return need


def _first(v) -> int:
    return int(v[0]) if isinstance(v, tuple) else int(v)


def _check_images(x: torch.Tensor, like: torch.Tensor, min_size: int) -> torch.Tensor:
    x = check_floating(x, "x", like=like)
    if x.ndim != 4 or x.shape[1] != 3:
        hint = " (a single image? add a batch axis with x[None])" if x.ndim == 3 else ""
        raise ValueError(f"x must be images of shape (B, 3, H, W), got {tuple(x.shape)}{hint}")
    if x.shape[-1] < min_size or x.shape[-2] < min_size:
        raise ValueError(
            f"x must be at least {min_size}x{min_size} pixels for this network (smaller "
            f"inputs shrink to nothing before the classifier), got {tuple(x.shape[-2:])}"
        )
    return x


class ImageClassifier(nn.Module):
    """``features`` (convolutions) -> adaptive pool -> flatten -> ``classifier`` (MLP head)."""

    def __init__(self, features: nn.Sequential, pool, classifier: nn.Module):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d(pool)
        self.classifier = classifier
        self.min_size = min_input_size(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 3, H, W) images, H, W >= ``min_size`` -> (B, num_classes) logits."""
        x = _check_images(x, self.features[0].weight, self.min_size)
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def _mlp_head(in_features: int, num_classes: int, dropout: float = 0.5) -> nn.Sequential:
    """The 4096-4096-``num_classes`` head shared by AlexNet and VGG (dropout before fc6, fc7)."""
    return nn.Sequential(
        nn.Dropout(dropout), nn.Linear(in_features, 4096), nn.ReLU(inplace=True),
        nn.Dropout(dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
        nn.Linear(4096, num_classes),
    )  # fmt: skip


def alexnet(num_classes: int = 1000, grouped: bool = True) -> ImageClassifier:
    """AlexNet (Chapter 1, Table "parameter counts"; Chapter 5).

    ``grouped=True``: the 2012 network. Layer by layer (filters x kernel x input channels):
    conv1 96x11x11x3 (stride 4), conv2 256x5x5x48 (groups=2), conv3 384x3x3x256,
    conv4 384x3x3x192 (groups=2), conv5 256x3x3x192 (groups=2), local response normalisation
    after conv1 and conv2, fc6 9216->4096, fc7 4096->4096, fc8 4096->num_classes.
    ``grouped=False``: torchvision's single-tower variant (Krizhevsky 2014), no LRN.
    """
    _check_num_classes(num_classes)
    relu = nn.ReLU
    if check_bool(grouped, "grouped"):
        features = nn.Sequential(
            nn.Conv2d(3, 96, 11, stride=4, padding=2), relu(inplace=True),   # (B, 96, 55, 55)
            nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0),
            nn.MaxPool2d(3, stride=2),                                         # (B, 96, 27, 27)
            nn.Conv2d(96, 256, 5, padding=2, groups=2), relu(inplace=True),
            nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0),
            nn.MaxPool2d(3, stride=2),                                         # (B, 256, 13, 13)
            nn.Conv2d(256, 384, 3, padding=1), relu(inplace=True),
            nn.Conv2d(384, 384, 3, padding=1, groups=2), relu(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1, groups=2), relu(inplace=True),
            nn.MaxPool2d(3, stride=2),                                         # (B, 256, 6, 6)
        )  # fmt: skip
    else:
        features = nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2), relu(inplace=True),
            nn.MaxPool2d(3, stride=2),
            nn.Conv2d(64, 192, 5, padding=2), relu(inplace=True),
            nn.MaxPool2d(3, stride=2),
            nn.Conv2d(192, 384, 3, padding=1), relu(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1), relu(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1), relu(inplace=True),
            nn.MaxPool2d(3, stride=2),
        )  # fmt: skip
    return ImageClassifier(features, (6, 6), _mlp_head(256 * 6 * 6, num_classes))


# Configuration D of Simonyan & Zisserman (2015), Table 1: output channels of each 3x3
# convolution, "M" for a 2x2 max-pool.
VGG16_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
                512, 512, 512, "M", 512, 512, 512, "M")  # fmt: skip


def vgg16(num_classes: int = 1000) -> ImageClassifier:
    """VGG-16 (configuration D): 13 3x3 convolutions and the 4096-4096 head, no BatchNorm."""
    _check_num_classes(num_classes)
    layers: list[nn.Module] = []
    channels = 3
    for item in VGG16_LAYOUT:
        if item == "M":
            layers.append(nn.MaxPool2d(2, stride=2))
        else:
            layers += [nn.Conv2d(channels, item, 3, padding=1), nn.ReLU(inplace=True)]
            channels = item
    return ImageClassifier(nn.Sequential(*layers), (7, 7), _mlp_head(512 * 7 * 7, num_classes))


class Bottleneck(nn.Module):
    """ResNet bottleneck: 1x1 (reduce) -> 3x3 -> 1x1 (expand x4), plus a shortcut (He et al. 2016,
    Fig. 5). The shortcut is a strided 1x1 convolution + BatchNorm where the shape changes
    (option B), the identity elsewhere. (B, C_in, H, W) -> (B, 4*width, H/stride, W/stride).
    """

    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int = 1):
        super().__init__()
        out = width * self.expansion
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + self.shortcut(x))


class ResNet(nn.Module):
    """ImageNet ResNet with bottleneck blocks: stem (7x7/2 conv, 3x3/2 max-pool), four stages of
    widths 64, 128, 256, 512 (outputs x4), global average pool, one linear layer.
    """

    def __init__(self, blocks: tuple[int, int, int, int], num_classes: int = 1000):
        super().__init__()
        _check_num_classes(num_classes)
        if not isinstance(blocks, (tuple, list)):
            raise TypeError(f"blocks must be a tuple of four ints, got {type(blocks).__name__}")
        if len(blocks) != 4:
            raise ValueError(f"blocks must be four positive ints, got {blocks!r}")
        blocks = tuple(check_positive_int(b, "blocks") for b in blocks)
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, padding=1),
        )  # fmt: skip  (B, 64, 56, 56) for 224x224 input
        stages, channels = [], 64
        for i, (n, width) in enumerate(zip(blocks, (64, 128, 256, 512), strict=True)):
            stride = 1 if i == 0 else 2
            stage = []
            for j in range(n):
                stage.append(Bottleneck(channels, width, stride if j == 0 else 1))
                channels = width * Bottleneck.expansion
            stages.append(nn.Sequential(*stage))
        self.stages = nn.Sequential(*stages)  # (B, 2048, 7, 7) for 224x224 input
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        main_path = [*self.stem] + [
            conv for stage in self.stages for b in stage for conv in (b.conv1, b.conv2, b.conv3)
        ]
        self.min_size = min_input_size(main_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 3, H, W) images -> (B, num_classes) logits."""
        x = _check_images(x, self.stem[0].weight, self.min_size)
        return self.fc(torch.flatten(self.avgpool(self.stages(self.stem(x))), 1))


def resnet50(num_classes: int = 1000) -> ResNet:
    """ResNet-50: bottleneck blocks [3, 4, 6, 3] (He et al. 2016, Table 1)."""
    return ResNet((3, 4, 6, 3), num_classes)


def resnet152(num_classes: int = 1000) -> ResNet:
    """ResNet-152: bottleneck blocks [3, 8, 36, 3] (He et al. 2016, Table 1)."""
    return ResNet((3, 8, 36, 3), num_classes)


class DQN(nn.Sequential):
    """The deep Q-network as an ``nn.Sequential`` whose forward checks its input first."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 4, 84, 84) stacked frames -> (B, n_actions) Q-values."""
        x = check_floating(x, "x", like=self[0].weight)
        if x.ndim != 4 or tuple(x.shape[1:]) != (4, 84, 84):
            raise ValueError(f"x must be stacked frames (B, 4, 84, 84), got {tuple(x.shape)}")
        return super().forward(x)


def dqn(n_actions: int = 18) -> nn.Module:
    """The deep Q-network of Mnih et al. (2015, Methods): four stacked 84x84 frames ->
    conv 32x8x8/4 -> conv 64x4x4/2 -> conv 64x3x3/1 -> fc 512 -> one Q-value per action.
    (B, 4, 84, 84) -> (B, n_actions). With 18 actions (the full Atari set) it has 1,693,362
    parameters: not a large model, even in 2015.
    """
    n_actions = check_positive_int(n_actions, "n_actions")
    return DQN(
        nn.Conv2d(4, 32, 8, stride=4), nn.ReLU(),   # (B, 32, 20, 20)
        nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),  # (B, 64, 9, 9)
        nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(),  # (B, 64, 7, 7)
        nn.Flatten(), nn.Linear(64 * 7 * 7, 512), nn.ReLU(), nn.Linear(512, n_actions),
    )  # fmt: skip
