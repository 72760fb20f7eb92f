"""Checks for Chapter 5's exercises (convolutional networks)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from companion.cnn import conv_output_size
from companion.exercises import CheckFailed, Passed, expect_close, expect_shape, passed


def check_output_size(fn) -> Passed:
    """Exercise ch05-output-size: ``fn(n, k, p, s)`` is the output length (eq. ch05-out-size)."""
    if not callable(fn):
        raise CheckFailed(f"pass your function itself, got {type(fn).__name__}")
    cases = [
        (28, 5, 0, 1),
        (28, 5, 2, 1),
        (224, 11, 2, 4),
        (7, 3, 1, 2),
        (10, 4, 0, 3),
        (32, 3, 1, 1),
        (9, 2, 0, 2),
        (5, 5, 0, 1),
    ]
    for n, k, p, s in cases:
        want = conv_output_size(n, k, p, s)
        got = fn(n, k, p, s)
        if not isinstance(got, int) or isinstance(got, bool):
            raise CheckFailed(
                f"output_size{(n, k, p, s)} should return an int, got "
                f"{type(got).__name__} ({got!r}); use // for the floor"
            )
        if got != want:
            hint = ""
            if got == want - 1:
                hint = " Did you forget the + 1 (the first window position)?"
            elif got == (n + 2 * p - k) / s + 1 or got == -(-(n + 2 * p - k) // s) + 1:
                hint = " Round down: a window that would run off the padded edge is not used."
            elif got == (n + p - k) // s + 1:
                hint = " Padding adds p pixels on *both* sides: 2p in all."
            raise CheckFailed(
                f"for n={n}, k={k}, p={p}, s={s} you return {got}, expected {want}." + hint
            )
    return passed(
        "your formula gives the right length for all "
        f"{len(cases)} cases, AlexNet's 224 -> 55 included"
    )


def check_reflect_pad(fn) -> Passed:
    """Exercise ch05-reflect-pad: ``fn(x, p)`` pads (N, C, H, W) by reflection, like
    ``F.pad(x, (p, p, p, p), mode="reflect")``."""
    if not callable(fn):
        raise CheckFailed(f"pass your function itself, got {type(fn).__name__}")
    g = torch.Generator().manual_seed(5)
    for shape, p in [((1, 1, 4, 5), 1), ((2, 3, 6, 6), 2), ((1, 2, 5, 7), 3)]:
        x = torch.randn(*shape, generator=g, dtype=torch.float64)
        want = F.pad(x, (p, p, p, p), mode="reflect")
        got = fn(x.clone(), p)
        got = expect_shape(got, want.shape, f"reflect_pad(x of shape {shape}, p={p})")
        border = torch.ones_like(want, dtype=torch.bool)
        border[..., p:-p, p:-p] = False
        if not torch.allclose(got[..., p:-p, p:-p], x):
            raise CheckFailed("the centre of the padded image should be the input itself")
        if torch.all(got[border] == 0):
            raise CheckFailed("the border is all zeros: that is zero padding, not reflection")
        replicate = F.pad(x, (p, p, p, p), mode="replicate")
        if torch.allclose(got, replicate) and not torch.allclose(want, replicate):
            raise CheckFailed(
                "you repeated the edge pixel (replicate padding); reflection mirrors "
                "around the edge pixel without repeating it: x[1], not x[0]"
            )
        expect_close(
            got,
            want,
            f"reflect_pad(x of shape {shape}, p={p})",
            hint="the pixel at distance d outside the edge equals the one at distance d inside it",
        )
    return passed("your padding equals F.pad(..., mode='reflect') on three shapes")


def _stripe_images() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    flat = torch.full((1, 1, 9, 9), 0.5, dtype=torch.float64)
    horizontal = torch.zeros(1, 1, 9, 9, dtype=torch.float64)
    horizontal[..., 4, :] = 1.0  # one bright row
    vertical = horizontal.transpose(2, 3).clone()
    return flat, horizontal, vertical


def check_line_detector(kernel) -> Passed:
    """Exercise ch05-line-detector: a 3x3 kernel that responds to a thin horizontal line.

    It must give 0 on a flat image, a positive response on the line, and a clearly larger
    response to a horizontal line than to a vertical one.
    """
    k = expect_shape(kernel, (3, 3), "your kernel").reshape(1, 1, 3, 3)
    flat, horizontal, vertical = _stripe_images()
    on_flat = F.conv2d(flat, k).abs().max().item()
    if on_flat > 1e-6:
        raise CheckFailed(
            f"on a flat grey image your kernel responds with {on_flat:.3g}; make "
            "its entries sum to zero so that it ignores constant brightness"
        )
    response = F.conv2d(horizontal, k)[0, 0]  # (7, 7); row 3 is centred on the line
    h = response.max().item()
    v = F.conv2d(vertical, k).max().item()
    if h <= 0:
        raise CheckFailed(
            f"the strongest response on the horizontal line is {h:.3g}; it should be "
            "positive: weight the middle row positively, the rows above and below "
            "negatively"
        )
    best_row = int(response.max(1).values.argmax())
    if h > 0 and response[3].max().item() < h - 1e-9:
        raise CheckFailed(
            f"your kernel responds most ({h:.3g}) when the line is {abs(best_row - 3)} "
            f"row(s) away from its centre, and only {response[3].max().item():.3g} "
            "when centred on it: it detects a dark line between bright rows; flip "
            "the signs"
        )
    if h < 2 * max(v, 0) + 1e-9:
        raise CheckFailed(
            f"your kernel responds about as much to a vertical line ({v:.3g}) as "
            f"to a horizontal one ({h:.3g}); every column should look the same"
        )
    return passed(
        f"response {h:.3g} to the horizontal line, {max(v, 0):.3g} to the vertical one, "
        "0 on a flat image"
    )
