"""The Chapter 6 exercise checks accept right answers and name the slip in wrong ones."""

from __future__ import annotations

import pytest
import torch

from companion import rnn
from companion.exercises import CheckFailed, ch06


def test_gru_check_accepts_the_companion_cell_and_names_slips():
    assert ch06.check_gru_cell(rnn.gru_cell)

    def swapped(x, h, w_ih, w_hh, b_ih, b_hh):
        new = rnn.gru_cell(x, h, w_ih, w_hh, b_ih, b_hh)
        z = torch.sigmoid((x @ w_ih.T + b_ih).chunk(3, 1)[1] + (h @ w_hh.T + b_hh).chunk(3, 1)[1])
        n = (new - z * h) / (1 - z)
        return z * n + (1 - z) * h

    with pytest.raises(CheckFailed, match="swapped"):
        ch06.check_gru_cell(swapped)
    with pytest.raises(CheckFailed, match="shape"):
        ch06.check_gru_cell(lambda x, h, *w: h[:, :2])
    with pytest.raises(CheckFailed, match="function"):
        ch06.check_gru_cell(3)


def test_lstm_parameter_count_check():
    assert ch06.lstm_parameter_count(10, 20, 2) == 5920
    assert ch06.check_lstm_parameter_count(5920)
    with pytest.raises(CheckFailed, match="two bias"):
        ch06.check_lstm_parameter_count(5920 - 4 * 20 * 2)
    with pytest.raises(CheckFailed, match="below"):
        ch06.check_lstm_parameter_count(4 * 2 * (20 * 30 + 40))


def test_temperature_check():
    assert ch06.check_temperature_probs(lambda z, t: torch.softmax(z / t, -1))
    with pytest.raises(CheckFailed, match="multiplied"):
        ch06.check_temperature_probs(lambda z, t: torch.softmax(z * t, -1))


def test_sunspot_check():
    from companion.data.sequences import load_sunspots
    from companion.forecasting import mae, naive, seasonal_naive

    y = load_sunspots().values
    s = len(y) - 60
    assert ch06.check_sunspot_seasonal_naive(mae(seasonal_naive(y, s, 11), y[s:]))
    with pytest.raises(CheckFailed, match="naive"):
        ch06.check_sunspot_seasonal_naive(mae(naive(y, s), y[s:]))
