"""Bad input to companion.forecasting: seasons, starts and windows out of range, series of the
wrong kind; accepted conversions (lists, tensors, NumPy integers) give the NumPy answer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion import forecasting as fc
from tests.badinput.harness import expect_clear_error

Y = np.linspace(300.0, 330.0, 60) + np.sin(np.arange(60))
AR2 = fc.fit_ar(Y, 2, start=2, end=40)

CASES = [
    (lambda: fc.seasonal_naive(Y, 20, 0), "season", ValueError),
    (lambda: fc.seasonal_naive(Y, 20, 12.5), "season", TypeError),
    (lambda: fc.seasonal_naive(Y, 20, True), "season", TypeError),
    (lambda: fc.seasonal_naive(Y, 5, 12), "start", ValueError),
    (lambda: fc.seasonal_naive(Y, 60, 12), "start", ValueError),
    (lambda: fc.seasonal_naive(Y, -1, 12), "start", ValueError),
    (lambda: fc.seasonal_naive(Y, 20.0, 12), "start", TypeError),
    (lambda: fc.seasonal_naive(Y.reshape(6, 10), 5, 1), "series", ValueError),
    (lambda: fc.seasonal_naive(np.r_[Y, np.nan], 20, 12), "series", ValueError),
    (lambda: fc.seasonal_naive(["1", "2", "3"], 2, 1), "series", TypeError),
    (lambda: fc.seasonal_naive(Y > 310, 20, 12), "series", TypeError),
    (lambda: fc.naive(torch.ones(5, dtype=torch.bool), 2), "series", TypeError),
    (lambda: fc.naive(3.0, 1), "series", TypeError),
    (lambda: fc.naive(Y, 0), "start", ValueError),
    (lambda: fc.seasonal_persistence(Y, 12, 12), "start", ValueError),
    (lambda: fc.windows(Y, 0), "window", ValueError),
    (lambda: fc.windows(Y, -3), "window", ValueError),
    (lambda: fc.windows(Y, 2.0), "window", TypeError),
    (lambda: fc.windows(Y, 24, start=50, end=40), "start", ValueError),
    (lambda: fc.windows(Y, 24, end=70), "end", ValueError),
    (lambda: fc.windows(Y, 24, start=-5), "start", ValueError),
    (lambda: fc.windows(Y, 80), "window", ValueError),
    (lambda: fc.mae(Y[:3], Y[:4]), "forecast", ValueError),
    (lambda: fc.mae([], []), "forecast", ValueError),
    (lambda: fc.mae(Y[:3], [1.0, float("inf"), 2.0]), "actual", ValueError),
    (lambda: fc.fit_ar(Y, 0, start=5, end=40), "order", ValueError),
    (lambda: fc.fit_ar(Y, 3, start=2, end=40), "start", ValueError),
    (lambda: fc.fit_ar(Y, 3, start=3, end=70), "end", ValueError),
    (lambda: fc.fit_ar(Y, 12, start=12, end=20), "order", ValueError),
    (lambda: fc.fit_ar(Y, 2.5, start=3, end=40), "order", TypeError),
    (lambda: fc.select_ar_order(Y, [], 24, 40, 50), "orders", ValueError),
    (lambda: fc.select_ar_order(Y, [0, 2], 24, 40, 50), "orders", ValueError),
    (lambda: fc.select_ar_order(Y, [2], 24, 40, 80), "end", ValueError),
    (lambda: AR2.forecast(Y, 1), "start", ValueError),
    (lambda: fc.lagged_design(Y, 3, 2), "start", ValueError),
]


@pytest.mark.parametrize("case", CASES, ids=[f"forecasting-{i}" for i in range(len(CASES))])
def test_bad_input_gets_a_clear_error(case):
    call, name, kind = case
    expect_clear_error(call, name, kind=kind)


# --- accepted inputs: converted as the module docstring says, same answer as NumPy ------------
def test_lists_tensors_and_numpy_integers_give_the_numpy_answer():
    want = Y[8:48]
    np.testing.assert_array_equal(fc.seasonal_naive(Y.tolist(), 20, 12), want)
    np.testing.assert_allclose(fc.seasonal_naive(torch.tensor(Y), np.int64(20), 12), want)
    np.testing.assert_array_equal(fc.seasonal_naive(Y.astype(np.int64), 20, 12), want.astype(int))
    X, T = fc.windows(torch.tensor(Y, dtype=torch.float32), np.int32(5), start=10)
    assert X.dtype == torch.float32 and X.shape == (50, 5, 1)
    np.testing.assert_allclose(T.numpy(), Y[10:].astype(np.float32))
