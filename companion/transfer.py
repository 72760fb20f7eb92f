"""Transfer learning: reuse a network trained on one task for another with little data
(Section 10.4).

A :class:`companion.cnn.LeNet` trained on a *source* task is reused for a *target* task with
new classes (:func:`transfer_model`) in one of three modes:

* ``"frozen"``: the pretrained convolutional features (:class:`LeNetFeatures`, the
  ``c2 x 5 x 5`` block after the second pooling) stay fixed and only a new linear
  classifier on them trains (a *linear probe*; early, generic features transfer better than
  the last layers, which specialise in the source classes);
* ``"full"``: the whole pretrained LeNet, with a new output layer, trains (full fine-tuning);
* ``"scratch"``: a LeNet from a random initialisation (the baseline).

:func:`compare_transfer` runs the three modes over several seeds on the same few labelled
examples and returns the test accuracies. Validation policy as in
:mod:`companion.validation`: modes are checked strings, tensors are not converted silently.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from companion.cnn import LeNet
from companion.distillation import train_classifier
from companion.validation import (
    check_choice,
    check_floating,
    check_int,
    check_positive_int,
    check_tensor,
    describe,
)

__all__ = ["MODES", "LeNetFeatures", "transfer_model", "trainable_count", "compare_transfer"]

MODES = ("frozen", "full", "scratch")


class LeNetFeatures(nn.Module):
    """LeNet's convolutional part: (N, C, S, S) images -> (N, c2 * 25) features."""

    def __init__(self, lenet: LeNet):
        super().__init__()
        if not isinstance(lenet, LeNet):
            raise TypeError(f"lenet must be a companion.cnn.LeNet, got {describe(lenet)}")
        self.net = lenet

    @property
    def out_features(self) -> int:
        return self.net.conv2.out_channels * 25

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(self.net.features(x)[1], 2).flatten(1)


def transfer_model(pretrained: LeNet, num_classes: int, mode: str, seed: int = 0) -> nn.Module:
    """A model for ``num_classes`` new classes, for ``mode`` in :data:`MODES`: frozen copied
    convolutional features + a new linear classifier (``"frozen"``), a trainable copy of the
    whole LeNet with a new output layer (``"full"``), or a fresh LeNet (``"scratch"``)."""
    if not isinstance(pretrained, LeNet):
        raise TypeError(f"pretrained must be a companion.cnn.LeNet, got {describe(pretrained)}")
    mode = check_choice(mode, "mode", MODES)
    num_classes = check_positive_int(num_classes, "num_classes")
    torch.manual_seed(check_int(seed, "seed", min=0))
    if mode == "scratch":
        return LeNet(
            pretrained.in_channels,
            num_classes,
            pretrained.image_size,
            channels=(pretrained.conv1.out_channels, pretrained.conv2.out_channels),
        )
    model = copy.deepcopy(pretrained)
    if mode == "full":
        model.fc3 = nn.Linear(model.fc3.in_features, num_classes)  # new output layer
        return model
    features = LeNetFeatures(model)
    for p in features.parameters():
        p.requires_grad_(False)
    return nn.Sequential(features, nn.Linear(features.out_features, num_classes))


def trainable_count(model: nn.Module) -> int:
    """Number of parameters that will train (``requires_grad``)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {describe(model)}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@torch.no_grad()
def _accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    return (model.eval()(X).argmax(1) == y).float().mean().item()


def compare_transfer(
    pretrained: LeNet,
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    *,
    seeds=(0, 1, 2),
    epochs: int = 30,
    lr: float = 3e-3,
    batch_size: int = 32,
) -> dict[str, list[float]]:
    """Test accuracy of each mode of :data:`MODES` for each seed, after ``epochs`` of Adam on
    ``train = (X, y)`` (labels 0 .. K-1, ``X`` images of ``pretrained``'s size)."""
    X, y = train
    Xt, yt = test
    X = check_floating(X, "train[0]", like=pretrained.conv1.weight)
    Xt = check_floating(Xt, "test[0]", like=pretrained.conv1.weight)
    y = check_tensor(y, "train[1]", dtype="int", shape=(len(X),))
    yt = check_tensor(yt, "test[1]", dtype="int", shape=(len(Xt),))
    k = int(max(y.max(), yt.max())) + 1
    out: dict[str, list[float]] = {m: [] for m in MODES}
    for seed in seeds:
        for mode in MODES:
            model = transfer_model(pretrained, k, mode, seed)
            train_classifier(model, X, y, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)
            out[mode].append(_accuracy(model, Xt, yt))
    return out
