"""The Chapter 6 exercise checks accept right answers in every common numeric type, refuse
plausible wrong ones with the message a student sees, and refuse ready-made helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from companion import rnn
from companion.exercises import CheckFailed, ch06


# --- ch06-gru-cell -----------------------------------------------------------------------------
def right_gru(x, h, w_ih, w_hh, b_ih, b_hh):
    i_r, i_z, i_n = (x @ w_ih.T + b_ih).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ w_hh.T + b_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    return (1 - z) * torch.tanh(i_n + r * h_n) + z * h


def swapped_z(x, h, w_ih, w_hh, b_ih, b_hh):
    i_r, i_z, i_n = (x @ w_ih.T + b_ih).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ w_hh.T + b_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    return z * torch.tanh(i_n + r * h_n) + (1 - z) * h


def reset_before(x, h, w_ih, w_hh, b_ih, b_hh):  # the original GRU paper's variant
    i_r, i_z, i_n = (x @ w_ih.T + b_ih).chunk(3, dim=1)
    h_r, h_z, _ = (h @ w_hh.T + b_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + (r * h) @ w_hh.chunk(3)[2].T + b_hh.chunk(3)[2])
    return (1 - z) * n + z * h


def order_zrn(x, h, w_ih, w_hh, b_ih, b_hh):
    i_z, i_r, i_n = (x @ w_ih.T + b_ih).chunk(3, dim=1)
    h_z, h_r, h_n = (h @ w_hh.T + b_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    return (1 - z) * torch.tanh(i_n + r * h_n) + z * h


def test_gru_check_accepts_a_right_cell_in_float32_too():
    assert ch06.check_gru_cell(right_gru)
    assert ch06.check_gru_cell(
        lambda x, h, *w: right_gru(x.float(), h.float(), *(t.float() for t in w))
    )


@pytest.mark.parametrize(
    "wrong,message",
    [
        (swapped_z, "z and 1 - z are swapped"),
        (reset_before, "after the product W_hn h"),
        (order_zrn, "differs from the expected values"),
        (lambda x, h, *w: h[:, :2], "shape"),
        (lambda x, h, *w: h.tolist(), "should return a tensor"),
    ],
    ids=["swapped-z", "reset-before", "gate-order", "shape", "list"],
)
def test_gru_check_refuses_wrong_cells(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        ch06.check_gru_cell(wrong)


def test_gru_check_refuses_ready_made_cells():
    with pytest.raises(CheckFailed, match="gru_cell"):
        ch06.check_gru_cell(rnn.gru_cell)  # not a Python function of the student: its names

    def calls_companion(x, h, w_ih, w_hh, b_ih, b_hh):
        return rnn.gru_cell(x, h, w_ih, w_hh, b_ih, b_hh)

    with pytest.raises(CheckFailed, match="rnn"):
        ch06.check_gru_cell(calls_companion)
    original = torch.gru_cell
    with pytest.raises(CheckFailed, match="yourself"):  # a name the inspection cannot see
        ch06.check_gru_cell(lambda *a: getattr(torch, "gru" + "_cell")(*a))
    assert torch.gru_cell is original  # restored after the check
    with pytest.raises(CheckFailed, match="function"):
        ch06.check_gru_cell(3)


# --- ch06-lstm-params --------------------------------------------------------------------------
def right_count(I, H, L, bidirectional):
    D = 2 if bidirectional else 1
    return sum(D * 4 * (H * (I if k == 0 else D * H) + H * H + 2 * H) for k in range(L))


@pytest.mark.parametrize(
    "convert",
    [int, float, np.int64, np.float64, lambda v: torch.tensor(v), lambda v: np.array(v)],
    ids=["int", "float", "np.int64", "np.float64", "tensor", "array"],
)
def test_lstm_count_accepts_every_numeric_type(convert):
    assert ch06.check_lstm_parameter_count(lambda *a: convert(right_count(*a)))


@pytest.mark.parametrize(
    "wrong,message",
    [
        (lambda I, H, L, bi: right_count(I, H, L, bi) - 4 * H * L * (2 if bi else 1), "two bias"),
        (lambda I, H, L, bi: sum(4 * (H * I + H * H + 2 * H) for _ in range(L)), "below"),
        (lambda I, H, L, bi: right_count(I, H, L, False), "second, separate set"),
        (lambda I, H, L, bi: right_count(I, H, L, bi) + 1, "layer by layer"),
        (lambda I, H, L, bi: right_count(I, H, L, bi) + 0.5, "whole number"),
    ],
    ids=["one-bias", "same-input", "no-reverse", "off-by-one", "fraction"],
)
def test_lstm_count_refuses_wrong_formulas(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        ch06.check_lstm_parameter_count(wrong)


def test_lstm_count_refuses_asking_torch():
    def asks(I, H, L, bi):
        return sum(p.numel() for p in torch.nn.LSTM(I, H, L, bidirectional=bi).parameters())

    with pytest.raises(CheckFailed, match="LSTM, numel, parameters"):
        ch06.check_lstm_parameter_count(asks)


# --- ch06-temperature --------------------------------------------------------------------------
def test_temperature_check():
    assert ch06.check_temperature_probs(lambda z, t: torch.softmax(z / t, -1))
    assert ch06.check_temperature_probs(lambda z, t: torch.softmax(z.float() / t, dim=1))
    with pytest.raises(CheckFailed, match="multiplied"):
        ch06.check_temperature_probs(lambda z, t: torch.softmax(z * t, -1))
    with pytest.raises(CheckFailed, match="last dimension"):
        ch06.check_temperature_probs(lambda z, t: torch.softmax(z / t, 0))
    with pytest.raises(CheckFailed, match="probabilities at temperature 0.5"):
        ch06.check_temperature_probs(lambda z, t: torch.exp(z / t))  # not normalised


# --- ch06-perplexity ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "answer",
    [8, 8.0, np.int64(8), np.float64(8.0), torch.tensor(8), torch.tensor(8.0), np.array(8.0)],
    ids=["int", "float", "np.int64", "np.float64", "int-tensor", "tensor", "array"],
)
def test_perplexity_accepts_every_numeric_type(answer):
    assert ch06.check_uniform_perplexity(answer)


@pytest.mark.parametrize(
    "answer,message",
    [
        (math.log(8), "loss in nats"),
        (3, "loss in bits"),
        (0.125, "probability of the right character"),
        (8.5, "the perplexity is 8.5, expected 8"),
        ("eight", "one number"),
    ],
)
def test_perplexity_refuses_wrong_answers(answer, message):
    with pytest.raises(CheckFailed, match=message):
        ch06.check_uniform_perplexity(answer)
