"""Answer checks for the book's exercises (one module per chapter: ``ch01``, ``ch02``, ...).

A check function takes the learner's answer and either prints a short confirmation and
returns ``True``, or raises :class:`CheckFailed` with a message that says *what* is wrong
(the shape, the magnitude, the sign, the likely slip) rather than only *that* it is wrong.
The helpers below make such messages uniform; chapter modules build on them.

The exercise format every chapter follows (see README, "Writing a chapter"):

* a markdown cell with ``{exercise-start}`` ... ``{exercise-end}`` (label ``chNN-name``);
* a markdown cell ``{solution-start} <label>`` with ``:class: dropdown``, then code cells
  tagged ``solution`` whose answer sits between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION``, then a markdown cell ``{solution-end}``;
* a code cell tagged ``check`` after the solution that calls a check from this package.

``python -m companion.instructor student`` turns that into the student version mechanically.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch


class CheckFailed(AssertionError):
    """The answer is not right yet; the message says why."""


class Passed:
    """What a check returns for a right answer: truthy, and silent as a cell's last value
    (the message has already been printed), so a page never shows a stray ``True``."""

    def __init__(self, message: str):
        self.message = message

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"Passed({self.message!r})"

    def _ipython_display_(self) -> None:
        pass


def passed(message: str) -> Passed:
    """Report a correct answer."""
    print(f"Correct: {message}")
    return Passed(message)


def _as_tensor(value, what: str) -> torch.Tensor:
    if torch.is_tensor(value):
        return value.detach().cpu().double()
    try:
        return torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as err:
        raise CheckFailed(
            f"{what} should be a number, array or tensor, got {type(value).__name__}"
        ) from err


def expect_shape(value, shape: Sequence[int], what: str) -> torch.Tensor:
    """Fail unless ``value`` has ``shape``; return it as a float64 CPU tensor."""
    t = _as_tensor(value, what)
    if tuple(t.shape) != tuple(shape):
        raise CheckFailed(f"{what} should have shape {tuple(shape)}, but it has {tuple(t.shape)}")
    return t


def expect_close(
    value, expected, what: str, rtol: float = 1e-4, atol: float = 1e-6, hint: str = ""
) -> None:
    """Fail unless ``value`` is within tolerance of ``expected``, saying by how much it is off."""
    got = _as_tensor(value, what)
    want = _as_tensor(expected, "expected value")
    if got.shape != want.shape:
        raise CheckFailed(
            f"{what} should have shape {tuple(want.shape)}, but it has {tuple(got.shape)}"
        )
    if not torch.isfinite(got).all():
        raise CheckFailed(f"{what} contains NaN or infinity")
    if torch.allclose(got, want, rtol=rtol, atol=atol):
        return
    if got.numel() == 1:
        g, w = got.item(), want.item()
        msg = f"{what} is {g:.6g}, expected {w:.6g}"
        if w != 0 and g != 0 and math.copysign(1, g) != math.copysign(1, w):
            msg += " (the sign is wrong)"
        elif w != 0 and g != 0:
            ratio = g / w
            if abs(math.log10(abs(ratio))) > 0.9:
                msg += f" (off by a factor of about {ratio:.3g}: check the units or a missing term)"
    else:
        err = (got - want).abs()
        worst = int(err.argmax())
        n_bad = int((err > atol + rtol * want.abs()).sum())
        msg = (
            f"{what} differs from the expected values in {n_bad}"
            f" of {got.numel()} entries; the largest error is {err.max().item():.3g} at flat index"
            f" {worst}"
        )
    raise CheckFailed(msg + (f". Hint: {hint}" if hint else ""))


def as_integer(value, what: str) -> int:
    """``value`` as a Python int if it is a whole number in any common type: ``int``, a
    NumPy integer, an integral float (``4810.0``), or a one-element tensor or array of
    those. Anything else fails with a :class:`CheckFailed` that says what was given."""
    if isinstance(value, bool):
        raise CheckFailed(f"{what} should be a whole number, got the bool {value!r}")
    if torch.is_tensor(value) or hasattr(value, "__array__") or isinstance(value, (list, tuple)):
        t = torch.as_tensor(value)
        if t.numel() != 1:
            raise CheckFailed(f"{what} should be one number, got shape {tuple(t.shape)}")
        value = t.item()
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    raise CheckFailed(f"{what} should be a whole number, got {value!r}")


def expect_integer(value, expected: int, what: str, hint: str = "") -> None:
    """Fail unless ``value`` is the integer ``expected`` (counts, sizes), in any numeric type."""
    value = as_integer(value, what)
    if value != expected:
        diff = value - expected
        msg = f"{what} is {value:,}, expected {expected:,} ({'+' if diff > 0 else ''}{diff:,})"
        raise CheckFailed(msg + (f". Hint: {hint}" if hint else ""))
