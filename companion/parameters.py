"""Counting a model's parameters: the one definition the whole book uses.

``count_parameters`` counts a built model; ``count_on_meta`` builds a model on PyTorch's
``meta`` device (shapes without storage) and counts it, so that GPT-3's 175 billion
parameters are counted in well under a second without allocating 700 GB.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from companion.validation import check_bool, describe


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of distinct parameters of ``model`` (a tied matrix counts once).

    ``trainable_only=True`` counts only those with ``requires_grad`` (frozen layers in
    fine-tuning are left out).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {describe(model)}")
    check_bool(trainable_only, "trainable_only")
    # nn.Module.parameters() already yields a shared (tied) tensor once
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_on_meta(builder: Callable[[], nn.Module]) -> int:
    """Build ``builder()`` on the ``meta`` device and return its number of parameters.

    On ``meta`` a tensor has a shape and a dtype but no storage, so even GPT-3 is built in
    well under a second. A matrix shared by two modules (GPT-2's tied embedding and output
    layer) counts once.
    """
    if not callable(builder):
        raise TypeError(
            "builder must be a zero-argument callable returning an nn.Module, "
            f"got {describe(builder)}"
        )
    with torch.device("meta"):
        model = builder()
    if not isinstance(model, nn.Module):
        raise TypeError(f"builder returned {describe(model)}, expected an nn.Module")
    off_meta = [p.device for p in model.parameters() if p.device.type != "meta"]
    if off_meta:
        raise RuntimeError(
            f"builder allocated parameters on {off_meta[0]}; construct every tensor on the "
            "current (default) device"
        )
    return count_parameters(model)
