"""The Chapter 13 exercise checks accept right answers and name the usual slips."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from companion.exercises import CheckFailed
from companion.exercises.ch13 import (
    check_break_even,
    check_psi_from_counts,
    check_tokens_per_second,
)


def _psi(kind="right"):
    def psi_from_counts(ref_counts, cur_counts, floor=1e-4):
        r = np.asarray(ref_counts, dtype=float)
        c = np.asarray(cur_counts, dtype=float)
        if kind != "no-normalise":
            r, c = r / r.sum(), c / c.sum()
        if kind == "fixed-floor":
            floor = 1e-4  # ignores the argument
        if kind != "no-floor":
            r, c = np.maximum(r, floor), np.maximum(c, floor)
        log = np.log10 if kind == "log10" else np.log
        if kind == "kl":
            return float(np.sum(c * log(c / r)))
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.sum((c - r) * log(c / r)))

    return psi_from_counts


def test_psi_right_answer_passes():
    assert check_psi_from_counts(_psi())


def test_psi_torch_implementation_passes():
    def psi_torch(ref_counts, cur_counts, floor=1e-4):
        r, c = torch.as_tensor(ref_counts, dtype=torch.float64), torch.as_tensor(cur_counts)
        r, c = (r / r.sum()).clamp_min(floor), (c / c.sum()).clamp_min(floor)
        return ((c - r) * (c / r).log()).sum()  # a 0-d tensor

    assert check_psi_from_counts(psi_torch)


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("kl", "one-way KL divergence"),
        ("log10", "natural logarithm"),
        ("no-normalise", "fractions of each histogram's own total"),
        ("no-floor", "floor empty bins"),
        ("fixed-floor", "floor=1e-3"),
    ],
)
def test_psi_wrong_answers_fail(kind, message):
    with pytest.raises(CheckFailed, match=message):
        check_psi_from_counts(_psi(kind))


def test_psi_not_a_function_and_wrong_shape():
    with pytest.raises(CheckFailed, match="must be a function"):
        check_psi_from_counts(0.1)
    with pytest.raises(CheckFailed, match="one number"):
        check_psi_from_counts(lambda r, c, floor=1e-4: np.zeros(3))


RIGHT_TPS = 3.35e12 / 26e9


@pytest.mark.parametrize(
    "value",
    [RIGHT_TPS, np.float64(RIGHT_TPS), torch.tensor(RIGHT_TPS), np.array(RIGHT_TPS), 128.85, 129],
    ids=["float", "np.float64", "0-d tensor", "0-d array", "rounded", "int"],
)
def test_tokens_per_second_right_answers_pass(value):
    assert check_tokens_per_second(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0.5 * 989e12 / 26e9, "compute bound"),
        (3.35e12 / 13e9, "2 bytes"),
        (3.35e12 / 52e9, "not 4"),
        (989e12 / 26e9, "compute bound at full peak"),
        (1000.0, "tokens_per_second is 1000"),
        ([RIGHT_TPS, RIGHT_TPS], "one number"),
    ],
)
def test_tokens_per_second_wrong_answers_fail(value, message):
    with pytest.raises(CheckFailed, match=message):
        check_tokens_per_second(value)


RIGHT_BE = 2.0 * 730 / 0.6


@pytest.mark.parametrize(
    "value",
    [RIGHT_BE, np.float64(RIGHT_BE), torch.tensor(RIGHT_BE), 2433.3, 2433, np.int64(2433)],
    ids=["float", "np.float64", "0-d tensor", "rounded", "int", "np.int64"],
)
def test_break_even_right_answers_pass(value):
    assert check_break_even(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (2.0 / 0.6, "730 hours"),
        (RIGHT_BE * 1e6, "million"),
        (0.6 / (2.0 * 730), "invert the ratio"),
        (2.0 * 720 / 0.6, "730 hours a month the question gives"),
        (math.pi, "expected 2433"),
    ],
)
def test_break_even_wrong_answers_fail(value, message):
    with pytest.raises(CheckFailed, match=message):
        check_break_even(value)
