"""The Chapter 5 exercise checks accept every right answer (in every common numeric type)
and reject the plausible wrong ones with the message a student would see."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from companion.exercises import CheckFailed
from companion.exercises.ch05 import (
    check_line_detector,
    check_output_size,
    check_reflect_pad,
    check_shift_prediction,
)

# --- ch05-output-size ---------------------------------------------------------------------


def _right(n, k, p, s):
    return (n + 2 * p - k) // s + 1


@pytest.mark.parametrize(
    "convert",
    [int, float, np.int64, np.float64, torch.tensor, lambda v: np.array(v)],
    ids=["int", "float", "np.int64", "np.float64", "0-d tensor", "0-d array"],
)
def test_output_size_accepts_the_right_formula_in_every_numeric_type(convert):
    assert check_output_size(lambda n, k, p, s: convert(_right(n, k, p, s)))


@pytest.mark.parametrize(
    "wrong,message",
    [
        (lambda n, k, p, s: (n + 2 * p - k) // s, r"forget the \+ 1"),
        (lambda n, k, p, s: -(-(n + 2 * p - k) // s) + 1, "Round down"),
        (lambda n, k, p, s: (n + p - k) // s + 1, "both"),
        (lambda n, k, p, s: (n + 2 * p - k) / s + 1, "whole number.*use // for the floor"),
        (lambda n, k, p, s: n - k + 1, "expected"),
    ],
    ids=["no +1", "ceil", "one-sided padding", "true division", "ignores p and s"],
)
def test_output_size_rejects_wrong_formulas(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_output_size(wrong)


def test_output_size_rejects_a_number_instead_of_a_function():
    with pytest.raises(CheckFailed, match="function itself"):
        check_output_size(55)


# --- ch05-reflect-pad ---------------------------------------------------------------------


def _reflect(x, p):
    top, bottom = x[:, :, 1 : p + 1].flip(2), x[:, :, -p - 1 : -1].flip(2)
    x = torch.cat([top, x, bottom], dim=2)
    left, right = x[:, :, :, 1 : p + 1].flip(3), x[:, :, :, -p - 1 : -1].flip(3)
    return torch.cat([left, x, right], dim=3)


def test_reflect_pad_accepts_right_answers_as_tensor_or_numpy():
    assert check_reflect_pad(_reflect)
    assert check_reflect_pad(lambda x, p: _reflect(x, p).numpy())  # an array is fine too
    assert check_reflect_pad(lambda x, p: _reflect(x.float(), p))  # float32 within tolerance


@pytest.mark.parametrize(
    "wrong,message",
    [
        (lambda x, p: F.pad(x, (p,) * 4, mode="replicate"), "replicate"),
        (lambda x, p: F.pad(x, (p,) * 4), "zero padding"),
        (lambda x, p: F.pad(x, (p,) * 4, mode="circular"), "differs from the expected"),
        (lambda x, p: _reflect(x, p).transpose(2, 3), "shape|differs"),
        (lambda x, p: x, "should have shape"),
    ],
    ids=["replicate", "zeros", "circular", "transposed", "no padding"],
)
def test_reflect_pad_rejects_wrong_padding(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_reflect_pad(wrong)


# --- ch05-line-detector -------------------------------------------------------------------

LINE = [[-1, -1, -1], [2, 2, 2], [-1, -1, -1]]


@pytest.mark.parametrize(
    "kernel",
    [
        LINE,
        np.array(LINE),
        np.array(LINE, dtype=np.float64),
        torch.tensor(LINE),
        torch.tensor(LINE, dtype=torch.float32),
        0.25 * torch.tensor(LINE, dtype=torch.float64),  # any positive scale
        [[-1, -2, -1], [2, 4, 2], [-1, -2, -1]],  # weighted towards the centre column
        [[-1, -1, -1], [3, 3, 3], [-2, -2, -2]],  # asymmetric, still a line detector
    ],
    ids=["list", "np int", "np float64", "int tensor", "float32", "scaled", "weighted", "asym"],
)
def test_line_detector_accepts_every_right_kernel(kernel):
    assert check_line_detector(kernel)


@pytest.mark.parametrize(
    "kernel,message",
    [
        ([[-1, -1, -1], [1, 1, 1], [0, 0, 0]], "edge detector"),  # the example
        ([[0, 0, 0], [1, 1, 1], [-1, -1, -1]], "edge detector"),
        ([[1, 1, 1], [-2, -2, -2], [1, 1, 1]], "middle row the positive one"),  # dark line
        (np.ones((3, 3)), "sum to zero"),
        (np.array(LINE).T, "positive"),  # a vertical-line detector: 0 on horizontal lines
        ([[-1, 0, -1], [0, 4, 0], [-1, 0, -1]], "vertical"),  # a spot detector
        (np.zeros((3, 3)), "all zeros"),
        ([[-1, 2, -1]], "shape"),
    ],
    ids=["edge", "edge-2", "dark line", "no zero sum", "vertical", "spot", "zeros", "1x3"],
)
def test_line_detector_rejects_wrong_kernels(kernel, message):
    with pytest.raises(CheckFailed, match=message):
        check_line_detector(kernel)


# --- ch05-shift-prediction ----------------------------------------------------------------


@pytest.mark.parametrize(
    "answer", [1, 1.0, np.int64(1), np.float64(1.0), torch.tensor(1), np.array(1)]
)
def test_shift_prediction_accepts_one_in_every_type(answer):
    assert check_shift_prediction(answer)


@pytest.mark.parametrize(
    "answer,message",
    [(4, "pooling"), (2, "two pooling layers"), (0, "not shift-invariant"), (0.5, "whole")],
)
def test_shift_prediction_rejects_wrong_answers(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check_shift_prediction(answer)


def test_the_expected_answer_is_what_the_network_does():
    """conv-ReLU-pool-conv-ReLU-pool on an image with a blank margin: a shift by 4 moves the
    output by exactly 1 position; a shift by 2 is not an exact shift of the output."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    )  # fmt: skip
    x = torch.zeros(1, 1, 32, 32)
    x[..., 10:22, 8:20] = torch.rand(12, 12)  # content away from the borders
    with torch.no_grad():
        y = net(x)
        y4 = net(torch.roll(x, 4, dims=3))
        y2 = net(torch.roll(x, 2, dims=3))
    torch.testing.assert_close(y4, torch.roll(y, 1, dims=3))
    assert not any(torch.allclose(y2, torch.roll(y, s, dims=3)) for s in range(-2, 3))
