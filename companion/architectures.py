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
fixed, as in torchvision. Build them under ``torch.device("meta")`` to count parameters
without allocating memory (:func:`companion.history.count_on_meta`).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = [
    "alexnet",
    "dqn",
    "vgg16",
    "resnet50",
    "resnet152",
    "ResNet",
    "Bottleneck",
    "VGG16_LAYOUT",
]


def _check_num_classes(num_classes: int) -> None:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")


class ImageClassifier(nn.Module):
    """``features`` (convolutions) -> adaptive pool -> flatten -> ``classifier`` (MLP head)."""

    def __init__(self, features: nn.Module, pool: int, classifier: nn.Module):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d(pool)
        self.classifier = classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 3, H, W) images -> (B, num_classes) logits."""
        _check_images(x)
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def _check_images(x: torch.Tensor) -> None:
    if not torch.is_tensor(x) or x.ndim != 4 or x.shape[1] != 3:
        shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
        raise ValueError(f"expected images of shape (B, 3, H, W), got {shape}")
    if x.shape[-1] < 32 or x.shape[-2] < 32:
        raise ValueError(f"images must be at least 32x32 pixels, got {tuple(x.shape[-2:])}")


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
    if grouped:
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
        if len(blocks) != 4 or any(not isinstance(b, int) or b < 1 for b in blocks):
            raise ValueError(f"blocks must be four positive ints, got {blocks!r}")
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 3, H, W) images -> (B, num_classes) logits."""
        _check_images(x)
        return self.fc(torch.flatten(self.avgpool(self.stages(self.stem(x))), 1))


def resnet50(num_classes: int = 1000) -> ResNet:
    """ResNet-50: bottleneck blocks [3, 4, 6, 3] (He et al. 2016, Table 1)."""
    return ResNet((3, 4, 6, 3), num_classes)


def resnet152(num_classes: int = 1000) -> ResNet:
    """ResNet-152: bottleneck blocks [3, 8, 36, 3] (He et al. 2016, Table 1)."""
    return ResNet((3, 8, 36, 3), num_classes)


def dqn(n_actions: int = 18) -> nn.Module:
    """The deep Q-network of Mnih et al. (2015, Methods): four stacked 84x84 frames ->
    conv 32x8x8/4 -> conv 64x4x4/2 -> conv 64x3x3/1 -> fc 512 -> one Q-value per action.
    (B, 4, 84, 84) -> (B, n_actions). With 18 actions (the full Atari set) it has 1,693,362
    parameters: not a large model, even in 2015.
    """
    if isinstance(n_actions, bool) or not isinstance(n_actions, int) or n_actions < 1:
        raise ValueError(f"n_actions must be a positive int, got {n_actions!r}")
    return nn.Sequential(
        nn.Conv2d(4, 32, 8, stride=4), nn.ReLU(),   # (B, 32, 20, 20)
        nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),  # (B, 64, 9, 9)
        nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(),  # (B, 64, 7, 7)
        nn.Flatten(), nn.Linear(64 * 7 * 7, 512), nn.ReLU(), nn.Linear(512, n_actions),
    )  # fmt: skip
