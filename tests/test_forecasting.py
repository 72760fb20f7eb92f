"""companion.forecasting: baselines computed by hand, the AR(p) fit against statsmodels'
AutoReg and scikit-learn's LinearRegression on the same lagged design, windows aligned
with their targets, and the offline sequence loaders (Chapter 6)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LinearRegression
from statsmodels.tsa.ar_model import AutoReg

from companion import forecasting
from companion.data import sequences

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: one thread is fastest


def _ar_series(n=300, seed=0):
    """A stationary AR(2) process plus a trend: the fit has something to find."""
    rng = np.random.default_rng(seed)
    y = np.zeros(n)
    for t in range(2, n):
        y[t] = 0.6 * y[t - 1] - 0.3 * y[t - 2] + rng.normal()
    return y + 0.05 * np.arange(n)


@pytest.mark.parametrize("order", [1, 3, 12])
def test_fit_ar_equals_statsmodels_autoreg(order):
    y = _ar_series()
    end = 250
    ours = forecasting.fit_ar(y, order, start=order, end=end)  # targets order..end-1
    ref = AutoReg(y[:end], lags=order, trend="c").fit()
    np.testing.assert_allclose(ours.intercept, ref.params[0], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.coef, ref.params[1:], rtol=1e-8, atol=1e-10)
    # one-step forecasts on later data, each from the true past (statsmodels: dynamic=False)
    pred = ref.model.predict(ref.params, start=order, end=end - 1)  # in-sample, one-step
    np.testing.assert_allclose(ours.forecast(y, order, end), pred, rtol=1e-8)


def test_fit_ar_equals_sklearn_on_the_network_window():
    """Same targets as a network with a 24-step input window: t in [24, end)."""
    y, window, order, end = _ar_series(seed=1), 24, 6, 240
    X, Y = forecasting.lagged_design(y, order, window, end)
    assert X.shape == (end - window, order)
    np.testing.assert_array_equal(X[0], y[window - 1 : window - 1 - order : -1])  # latest first
    ref = LinearRegression().fit(X, Y)
    ours = forecasting.fit_ar(y, order, start=window, end=end)
    np.testing.assert_allclose(ours.coef, ref.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.intercept, ref.intercept_, rtol=1e-8, atol=1e-10)
    # wrong variant: lags in the opposite order (oldest first) fits other coefficients
    assert not np.allclose(ours.coef, ref.coef_[::-1], atol=1e-3)


def test_ar_recovers_a_noiseless_recurrence_and_selection_uses_validation_only():
    # y_t = 1 + 1.2 y_{t-1} - 0.5 y_{t-2}: AR(2) forecasts it exactly, AR(1) cannot
    y = np.zeros(80)
    y[:2] = [1.0, 2.0]
    for t in range(2, 80):
        y[t] = 1 + 1.2 * y[t - 1] - 0.5 * y[t - 2]
    best, scores = forecasting.select_ar_order(y, [1, 2], start=2, val_start=50, val_end=65)
    assert best.order == 2 and scores[2] < 1e-8 < scores[1]
    np.testing.assert_allclose(best.coef, [1.2, -0.5], atol=1e-8)
    # the test period (65..79) is not looked at: corrupting it changes nothing
    z = y.copy()
    z[65:] = 1e6
    best_z, scores_z = forecasting.select_ar_order(z, [1, 2], start=2, val_start=50, val_end=65)
    assert scores_z == scores


def test_seasonal_naive_and_naive_baselines():
    y = np.arange(30, dtype=float) ** 1.5
    f = forecasting.seasonal_naive(y, start=20, season=12)
    np.testing.assert_array_equal(f, y[8:18])  # y[t - 12] for t = 20..29
    np.testing.assert_array_equal(forecasting.naive(y, 20), y[19:29])
    periodic = np.tile(np.array([3.0, 1.0, 4.0, 1.0, 5.0]), 6)
    assert forecasting.mae(forecasting.seasonal_naive(periodic, 10, 5), periodic[10:]) == 0.0
    # wrong variant: a season off by one does not forecast the periodic series
    assert forecasting.mae(forecasting.seasonal_naive(periodic, 10, 4), periodic[10:]) > 1.0
    lin = 2.0 * np.arange(40.0) + np.tile([0.0, 5.0, -1.0, 2.0], 10)  # trend + period 4
    assert forecasting.mae(forecasting.seasonal_persistence(lin, 10, 4), lin[10:]) < 1e-12
    assert forecasting.mae(forecasting.seasonal_naive(lin, 10, 4), lin[10:]) == 8.0


def test_mae_by_hand_and_inputs_converted():
    assert forecasting.mae([1, 2, 4], np.array([1.5, 2.0, 2.0])) == pytest.approx(2.5 / 3)
    assert forecasting.mae(torch.tensor([1.0, 3.0]), [2, 1]) == pytest.approx(1.5)


def test_windows_are_aligned_with_targets():
    y = np.arange(10.0)
    X, Y = forecasting.windows(y, window=3, start=5)
    assert X.shape == (5, 3, 1) and Y.tolist() == [5.0, 6.0, 7.0, 8.0, 9.0]
    assert X[0, :, 0].tolist() == [2.0, 3.0, 4.0]  # the 3 values before target 5
    X2, Y2 = forecasting.windows(y, window=3, end=6)  # first target at t = window
    assert Y2.tolist() == [3.0, 4.0, 5.0] and X2[0, :, 0].tolist() == [0.0, 1.0, 2.0]


def test_sequence_loaders_are_offline_and_real():
    co2 = sequences.load_co2_monthly()
    assert len(co2) == 526 and co2.season == 12 and not np.isnan(co2.values).any()
    assert 310 < co2.values[0] < 320 and 365 < co2.values[-1] < 375  # ppm, 1958 and 2001
    assert str(co2.index[0])[:7] == "1958-03" and str(co2.index[-1])[:7] == "2001-12"
    spots = sequences.load_sunspots()
    assert len(spots) == 309 and spots.index[0] == 1700 and spots.index[-1] == 2008
