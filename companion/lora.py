"""LoRA from scratch: a frozen linear layer plus a trainable low-rank update (Section 10.5).

For a frozen weight ``W`` (out, in), LoRA (Hu et al., 2022) learns ``A`` (r, in) and ``B``
(out, r) and computes (eq. ch10-lora) ::

    h = W x + b + (alpha / r) * B A x

``A`` starts random (Kaiming-uniform, as in peft) and ``B`` at zero, so training starts from
the pretrained function exactly. ``r (in + out)`` parameters train instead of ``in * out``.
After training, :meth:`LoRALinear.merge` folds ``(alpha / r) B A`` into ``W`` so inference
costs nothing extra; :meth:`LoRALinear.unmerge` takes it out again. The tests show the layer
equals peft's ``LoraLayer`` on the same weights, before and after merging.

Validation policy (see :mod:`companion.validation`): ``r`` is a positive int, ``alpha`` a
finite positive number, inputs float tensors of the base layer's dtype with ``in_features``
as their last size; nothing is converted silently.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from companion.validation import (
    check_floating,
    check_positive,
    check_positive_int,
    describe,
)

__all__ = ["LoRALinear", "apply_lora", "merge_lora", "lora_parameter_count"]


class LoRALinear(nn.Module):
    """``base`` (an ``nn.Linear``, frozen) plus the update ``(alpha / r) B A`` of eq. ch10-lora.

    x: (..., in_features) -> (..., out_features).
    """

    def __init__(self, base: nn.Linear, r: int = 8, alpha: float = 16.0):
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"base must be an nn.Linear, got {describe(base)}")
        self.r = check_positive_int(r, "r")
        self.alpha = check_positive(alpha, "alpha")
        self.scaling = self.alpha / self.r
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        w = base.weight
        self.lora_A = nn.Parameter(torch.empty(self.r, base.in_features, dtype=w.dtype,
                                               device=w.device))  # fmt: skip
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, self.r, dtype=w.dtype,
                                               device=w.device))  # fmt: skip
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))  # peft's (and nn.Linear's) init
        self.merged = False

    @property
    def in_features(self) -> int:
        return self.base.in_features

    @property
    def out_features(self) -> int:
        return self.base.out_features

    def delta_weight(self) -> torch.Tensor:
        """The update ``(alpha / r) B A`` (out_features, in_features)."""
        return self.scaling * (self.lora_B @ self.lora_A)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = check_floating(x, "x", like=self.base.weight)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"x must have last size in_features={self.in_features}, got shape "
                             f"{tuple(x.shape)}")  # fmt: skip
        out = self.base(x)
        if self.merged:  # the update already sits inside base.weight
            return out
        return out + self.scaling * F.linear(F.linear(x, self.lora_A), self.lora_B)

    @torch.no_grad()
    def merge(self) -> LoRALinear:
        """Add the update into ``base.weight`` (once); outputs do not change."""
        if not self.merged:
            self.base.weight += self.delta_weight()
            self.merged = True
        return self

    @torch.no_grad()
    def unmerge(self) -> LoRALinear:
        """Subtract the update from ``base.weight`` again (up to float rounding)."""
        if self.merged:
            self.base.weight -= self.delta_weight()
            self.merged = False
        return self

    def extra_repr(self) -> str:
        return f"r={self.r}, alpha={self.alpha}, merged={self.merged}"


def apply_lora(
    model: nn.Module, target_names: tuple[str, ...] | list[str], r: int = 8, alpha: float = 16.0
) -> nn.Module:
    """Freeze every parameter of ``model`` and wrap each ``nn.Linear`` whose own name (the last
    part of its dotted path, e.g. ``"q_lin"``) is in ``target_names`` in a :class:`LoRALinear`,
    in place. Returns ``model``; only the LoRA factors (and nothing else) then train."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {describe(model)}")
    if isinstance(target_names, str) or not isinstance(target_names, (tuple, list)):
        raise TypeError(f"target_names must be a list of layer names, got {describe(target_names)}")
    r, alpha = check_positive_int(r, "r"), check_positive(alpha, "alpha")
    for p in model.parameters():
        p.requires_grad_(False)
    targets = [(n, m) for n, m in model.named_modules()
               if isinstance(m, nn.Linear) and n.rpartition(".")[2] in target_names]  # fmt: skip
    if not targets:
        raise ValueError(f"target_names {list(target_names)} match no nn.Linear of the model")
    for name, lin in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, LoRALinear(lin, r, alpha))
    return model


def merge_lora(model: nn.Module) -> nn.Module:
    """Merge every :class:`LoRALinear` of ``model`` (in place); returns ``model``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {describe(model)}")
    for m in model.modules():
        if isinstance(m, LoRALinear):
            m.merge()
    return model


def lora_parameter_count(in_features: int, out_features: int, r: int) -> int:
    """Trainable parameters of one LoRA update: ``r * (in + out)``; full fine-tuning of the
    weight trains ``in * out``."""
    i = check_positive_int(in_features, "in_features")
    o = check_positive_int(out_features, "out_features")
    return check_positive_int(r, "r") * (i + o)
