"""companion.augmentation against NumPy references (Chapter 8, §8.5)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion.augmentation import gaussian_noise, horizontal_flip, random_shift


def _np_shift(img: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Reference: move the content down by dy and right by dx, zero fill."""
    out = np.zeros_like(img)
    H, W = img.shape[-2:]
    ys, xs = slice(max(dy, 0), H + min(dy, 0)), slice(max(dx, 0), W + min(dx, 0))
    ys_src, xs_src = slice(max(-dy, 0), H + min(-dy, 0)), slice(max(-dx, 0), W + min(-dx, 0))
    out[..., ys, xs] = img[..., ys_src, xs_src]
    return out


def test_random_shift_is_a_translation_with_zero_fill():
    x = torch.rand(200, 1, 8, 8) + 0.1  # no zeros inside the images
    out = random_shift(x, 2, generator=torch.Generator().manual_seed(0))
    offsets = torch.randint(0, 5, (200, 2), generator=torch.Generator().manual_seed(0))
    seen = set()
    for i, (top, left) in enumerate(offsets.tolist()):
        dy, dx = 2 - top, 2 - left
        seen.add((dy, dx))
        np.testing.assert_array_equal(out[i].numpy(), _np_shift(x[i].numpy(), dy, dx))
    assert len(seen) == 25  # every shift in {-2..2}^2 occurs


def test_random_shift_zero_and_mass():
    x = torch.rand(10, 3, 6, 6)
    torch.testing.assert_close(random_shift(x, 0), x)
    out = random_shift(x, 1, generator=torch.Generator().manual_seed(1))
    assert (out.sum((1, 2, 3)) <= x.sum((1, 2, 3)) + 1e-5).all()  # content moved out, not added


def test_horizontal_flip_matches_numpy():
    x = torch.rand(4, 2, 5, 7)
    np.testing.assert_array_equal(horizontal_flip(x).numpy(), x.numpy()[..., ::-1])
    torch.testing.assert_close(horizontal_flip(horizontal_flip(x)), x)


def test_gaussian_noise_statistics():
    x = torch.zeros(200_000)
    out = gaussian_noise(x, 0.3, generator=torch.Generator().manual_seed(0))
    assert out.mean().item() == pytest.approx(0.0, abs=0.003)
    assert out.std().item() == pytest.approx(0.3, rel=0.01)
    assert torch.equal(gaussian_noise(x, 0.0), x)
