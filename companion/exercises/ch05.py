"""Checks for Chapter 5's exercises (convolutional networks)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from companion.exercises import (
    CheckFailed,
    Passed,
    as_integer,
    expect_close,
    expect_integer,
    expect_shape,
    passed,
)


def _output_size(n: int, k: int, p: int, s: int) -> int:
    """The check's own copy of eq. ch05-out-size (not the companion's, which students see)."""
    return (n + 2 * p - k) // s + 1


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
        want = _output_size(n, k, p, s)
        raw = fn(n, k, p, s)
        try:
            got = as_integer(raw, f"output_size{(n, k, p, s)}")
        except CheckFailed as err:
            raise CheckFailed(f"{err}; use // for the floor") from None
        if got != want:
            hint = ""
            if got == want - 1:
                hint = " Did you forget the + 1 (the first window position)?"
            elif got == -(-(n + 2 * p - k) // s) + 1:
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


def _test_images() -> dict[str, torch.Tensor]:
    """9x9 float64 test images: flat grey, a bright horizontal / vertical line one pixel
    wide, and the two horizontal step edges (bright below, bright above)."""
    flat = torch.full((1, 1, 9, 9), 0.5, dtype=torch.float64)
    horizontal = torch.zeros(1, 1, 9, 9, dtype=torch.float64)
    horizontal[..., 4, :] = 1.0  # one bright row
    step_down = torch.zeros(1, 1, 9, 9, dtype=torch.float64)
    step_down[..., 5:, :] = 1.0  # dark above, bright below
    return {
        "flat": flat,
        "horizontal": horizontal,
        "vertical": horizontal.transpose(2, 3).clone(),
        "edge (bright below)": step_down,
        "edge (bright above)": 1.0 - step_down,
    }


def check_line_detector(kernel) -> Passed:
    """Exercise ch05-line-detector: a 3x3 kernel that responds to a thin horizontal line.

    It must give 0 on a flat image, respond most (and positively) when centred on a bright
    horizontal line, clearly more to that line than to a vertical one, and more to the line
    than to any horizontal step edge: an *edge* detector such as
    ``[[-1, -1, -1], [1, 1, 1], [0, 0, 0]]`` answers a line and an edge equally, and fails.
    Accepts a list, NumPy array or tensor of any numeric dtype.
    """
    k = expect_shape(kernel, (3, 3), "your kernel").reshape(1, 1, 3, 3)
    if not torch.isfinite(k).all():
        raise CheckFailed("your kernel contains NaN or infinity")
    images = _test_images()
    resp = {name: F.conv2d(img, k)[0, 0] for name, img in images.items()}  # (7, 7) each
    scale = k.abs().max().item()
    if scale == 0:
        raise CheckFailed("your kernel is all zeros: it responds to nothing")
    on_flat = resp["flat"].abs().max().item()
    if on_flat > 1e-9 * max(scale, 1.0):
        raise CheckFailed(
            f"on a flat grey image your kernel responds with {on_flat:.3g}; make "
            "its entries sum to zero so that it ignores constant brightness"
        )
    response = resp["horizontal"]  # row 3 is centred on the line
    h = response.max().item()
    if h <= 0:
        raise CheckFailed(
            f"the strongest response on the horizontal line is {h:.3g}; it should be "
            "positive: weight the middle row positively, the rows above and below "
            "negatively"
        )
    centred = response[3].max().item()
    if centred < h - 1e-9 * scale:
        best_row = int(response.max(1).values.argmax())
        raise CheckFailed(
            f"your kernel responds most ({h:.3g}) when the line is {abs(best_row - 3)} "
            f"row(s) away from its centre, and only {centred:.3g} when centred on it: it "
            "looks for a dark line between bright rows, or for an edge; make the middle "
            "row the positive one"
        )
    v = resp["vertical"].max().item()
    if h < 2 * max(v, 0) + 1e-9 * scale:
        raise CheckFailed(
            f"your kernel responds about as much to a vertical line ({v:.3g}) as "
            f"to a horizontal one ({h:.3g}); every column should look the same"
        )
    edge = max(resp[name].abs().max().item() for name in images if name.startswith("edge"))
    if h < 1.25 * edge:
        raise CheckFailed(
            f"your kernel responds {edge:.3g} to a step edge (dark above, bright below, or "
            f"the reverse) and {h:.3g} to a thin line: that is an edge detector. A line "
            "detector compares the middle row with *both* neighbours, e.g. 2 x middle "
            "minus above minus below"
        )
    return passed(
        f"response {h:.3g} to the horizontal line, {max(v, 0):.3g} to the vertical one, "
        f"at most {edge:.3g} to a step edge, 0 on a flat image"
    )


# --- exercise ch05-shift-prediction ----------------------------------------------------------


def check_shift_prediction(moved_by) -> Passed:
    """Exercise ch05-shift-prediction: conv 3x3 (padding 1) -> ReLU -> max-pool 2 -> conv 3x3
    (padding 1) -> ReLU -> max-pool 2; the input moves 4 pixels to the right. By how many
    positions does the output feature map move? (1: each 2x2 pooling halves the shift.)"""
    got = as_integer(moved_by, "your answer")
    hints = {
        4: "convolutions pass the shift through unchanged, but each 2x2 pooling with "
        "stride 2 maps two input positions onto one output position",
        2: "there are two pooling layers, not one",
        0: "max pooling is not shift-invariant: a shift by a multiple of the pooling "
        "stride moves the pooled map",
        16: "pooling shrinks the map, so the shift shrinks too: divide, do not multiply",
    }
    expect_integer(got, 1, "the shift of the output", hint=hints.get(got, ""))
    return passed(
        "each stride-2 pooling halves the shift: 4 pixels -> 2 -> 1 position. A shift of "
        "1 or 2 input pixels is not an exact shift of the output at all"
    )
