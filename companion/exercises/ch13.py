"""Checks for the exercises of Chapter 13 (deployment and economics).

* ``ch13-psi-counts``: the population stability index from two histograms of counts
  (eq. ch13-psi), compared with a reference this module computes with NumPy on histograms
  it generates (empty bins, unequal totals, identical histograms).
* ``ch13-decode-speed``: the bandwidth bound of eq. ch13-decode for 13B parameters in bf16 on
  an H100-SXM (3.35 TB/s) at batch 1: 3.35e12 / 26e9 = 128.8 tokens per second.
* ``ch13-break-even``: the monthly volume at which a 2-dollar-per-hour accelerator (730 h)
  costs as much as an API at 0.60 dollars per million tokens: 2433.3 million tokens.
"""

from __future__ import annotations

import math

import numpy as np

from companion.exercises import CheckFailed, Passed, _as_tensor, expect_close, passed

__all__ = ["check_break_even", "check_psi_from_counts", "check_tokens_per_second"]


def _psi_reference(r, c, floor):
    r = np.maximum(r / r.sum(), floor)
    c = np.maximum(c / c.sum(), floor)
    return float(np.sum((c - r) * np.log(c / r)))


def _cases():
    rng = np.random.default_rng(13)
    ref = rng.integers(20, 200, size=10)
    return [
        (ref, ref.copy(), 1e-4, "identical histograms"),
        (ref, ref * 3, 1e-4, "the same fractions from three times as many examples"),
        (ref, rng.integers(20, 200, size=10), 1e-4, "two random histograms"),
        (np.array([50, 30, 20, 0]), np.array([10, 10, 40, 40]), 1e-4, "an empty reference bin"),
        (np.array([5, 0, 95]), np.array([30, 60, 10]), 1e-3, "floor=1e-3"),
    ]


def check_psi_from_counts(psi_from_counts) -> Passed:
    """Exercise ch13-psi-counts: ``psi_from_counts(ref_counts, cur_counts, floor=1e-4)``."""
    if not callable(psi_from_counts):
        raise CheckFailed("psi_from_counts must be a function")
    for ref, cur, floor, what in _cases():
        try:
            got = psi_from_counts(ref.copy(), cur.copy(), floor=floor)
        except ZeroDivisionError as err:
            raise CheckFailed(f"division by zero on {what}: floor the fractions first") from err
        value = _as_tensor(got, "psi_from_counts(...)")
        if value.numel() != 1:
            raise CheckFailed(f"psi_from_counts should return one number, got shape "
                              f"{tuple(value.shape)}")  # fmt: skip
        v, want = value.item(), _psi_reference(ref.astype(float), cur.astype(float), floor)
        if not math.isfinite(v):
            raise CheckFailed(f"psi_from_counts gave {v} on {what}: floor empty bins at `floor` "
                              "before taking the logarithm")  # fmt: skip
        r, c = ref / ref.sum(), cur / cur.sum()
        r_f, c_f = np.maximum(r, floor), np.maximum(c, floor)
        hints = {
            float(np.sum(c_f * np.log(c_f / r_f))): "that is the one-way KL divergence "
            "sum(c ln(c/r)); PSI weighs the log-ratio by the difference (c - r)",
            float(np.sum((c_f - r_f) * np.log10(c_f / r_f))): "use the natural logarithm",
        }
        raw = np.maximum(ref.astype(float), floor), np.maximum(cur.astype(float), floor)
        if ref.sum() != cur.sum():
            hints[float(np.sum((raw[1] - raw[0]) * np.log(raw[1] / raw[0])))] = (
                "turn the counts into fractions of each histogram's own total first"
            )
        for wrong, hint in hints.items():
            if not math.isclose(wrong, want, rel_tol=1e-6, abs_tol=1e-12) and math.isclose(
                v, wrong, rel_tol=1e-6, abs_tol=1e-12
            ):
                raise CheckFailed(f"psi_from_counts is {v:.6g} on {what}. Hint: {hint}")
        expect_close(value.reshape(()), want, f"psi_from_counts on {what}", rtol=1e-6,
                     atol=1e-12, hint="sum over bins of (c - r) * ln(c / r)")  # fmt: skip
    return passed("your PSI matches on five pairs of histograms, empty bins included")


def _one_number(value, what: str) -> float:
    t = _as_tensor(value, what)
    if t.numel() != 1:
        raise CheckFailed(f"{what} should be one number, got shape {tuple(t.shape)}")
    return t.item()


def check_tokens_per_second(value) -> Passed:
    """Exercise ch13-decode-speed: min(3.35e12 / (13e9 * 2), 0.5 * 989e12 / (2 * 13e9))."""
    want = min(3.35e12 / (13e9 * 2), 0.5 * 989e12 / (2 * 13e9))
    v = _one_number(value, "tokens_per_second")
    hints = {
        0.5 * 989e12 / (2 * 13e9): "that is the compute bound; at batch 1 the bandwidth bound "
        "is far smaller, and the smaller bound wins",
        3.35e12 / 13e9: "each parameter takes 2 bytes in bf16: divide by N * 2 bytes",
        3.35e12 / (13e9 * 4): "bf16 has 2 bytes per parameter, not 4",
        989e12 / (2 * 13e9): "that is the compute bound at full peak; at batch 1 the bandwidth "
        "bound is far smaller",
    }
    for wrong, hint in hints.items():
        if math.isclose(v, wrong, rel_tol=1e-3):
            raise CheckFailed(f"tokens_per_second is {v:.4g}. Hint: {hint}")
    expect_close(v, want, "tokens_per_second", rtol=2e-3,
                 hint="tokens/s <= bandwidth / (N * bytes per parameter) at batch 1")  # fmt: skip
    return passed(f"about {want:.0f} tokens per second: decoding one stream is bandwidth-bound")


def check_break_even(value) -> Passed:
    """Exercise ch13-break-even: 2.00 * 730 / 0.60 million tokens per month."""
    want = 2.00 * 730 / 0.60
    v = _one_number(value, "break_even_million_tokens")
    hints = {
        2.00 / 0.60: "that is per hour of the accelerator: a month has 730 hours",
        2.00 * 730 / 0.60 * 1e6: "the question asks for *million* tokens, not tokens",
        0.60 / (2.00 * 730): "invert the ratio: fixed cost divided by the price per million",
        2.00 * 24 * 30 / 0.60: "use the 730 hours a month the question gives",
    }
    for wrong, hint in hints.items():
        if math.isclose(v, wrong, rel_tol=1e-3):
            raise CheckFailed(f"break_even_million_tokens is {v:.6g}. Hint: {hint}")
    expect_close(v, want, "break_even_million_tokens", rtol=1e-3)
    return passed(f"{want:,.0f} million output tokens a month: below it, the API is cheaper")
