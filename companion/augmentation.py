"""Data augmentation for small images (Chapter 8, §8.5).

An augmentation is a random change of a training example that keeps its label. For images
``x``: ``(n, C, H, W)``:

* ``random_shift(x, max_shift, generator)``: translate each image by ``(dy, dx)`` drawn
  uniformly from ``{-max_shift, ..., max_shift}``, filling the uncovered border with
  ``fill`` (the usual "pad and random crop");
* ``horizontal_flip(x)``: mirror left-right. It keeps the label of most photographs, but
  *not* of digits or letters (a mirrored 2, 3, 7 is no digit at all), which §8.5 measures;
* ``gaussian_noise(x, std, generator)``: add ``N(0, std^2)`` noise.

Input policy (:mod:`companion.validation`): ``x`` a floating 4-D tensor, never converted
silently; ``max_shift`` an int in ``[0, min(H, W))``; ``std`` >= 0; ``generator`` a
``torch.Generator`` or None.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from companion.validation import check_int, check_nonnegative, check_real, check_tensor, describe

__all__ = ["gaussian_noise", "horizontal_flip", "random_shift"]


def _check_generator(generator) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {describe(generator)}")


def random_shift(
    x: torch.Tensor, max_shift: int = 1, generator: torch.Generator | None = None, fill: float = 0.0
) -> torch.Tensor:
    """Each image translated by its own random ``(dy, dx)``; ``(n, C, H, W)`` in and out."""
    check_tensor(x, "x", ndim=4, dtype="float")
    n, _, H, W = x.shape
    k = check_int(max_shift, "max_shift", min=0, max=min(H, W) - 1)
    fill = check_real(fill, "fill")
    _check_generator(generator)
    if k == 0:
        return x.clone()
    padded = F.pad(x, (k, k, k, k), value=fill)  # (n, C, H + 2k, W + 2k)
    offsets = torch.randint(0, 2 * k + 1, (n, 2), generator=generator)  # top-left corners
    out = torch.empty_like(x)
    for i, (top, left) in enumerate(offsets.tolist()):
        out[i] = padded[i, :, top : top + H, left : left + W]  # shift by (k - top, k - left)
    return out


def horizontal_flip(x: torch.Tensor) -> torch.Tensor:
    """Mirror every image left-right: ``out[..., j] = x[..., W - 1 - j]``."""
    check_tensor(x, "x", ndim=4, dtype="float")
    return x.flip(-1)


def gaussian_noise(
    x: torch.Tensor, std: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``x + N(0, std^2)`` noise, entry by entry."""
    check_tensor(x, "x", dtype="float")
    std = check_nonnegative(std, "std")
    _check_generator(generator)
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return x + std * noise
