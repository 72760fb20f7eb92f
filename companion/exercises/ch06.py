"""Checks for the exercises of Chapter 6 (recurrent networks)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from companion.exercises import CheckFailed, Passed, expect_close, expect_integer, passed


def _gru_variants(x, h, w_ih, w_hh, b_ih, b_hh):
    """Common slips, to name the one a learner made."""
    gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    i_r, i_z, i_n = gi.chunk(3, 1)
    h_r, h_z, h_n = gh.chunk(3, 1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    n_right = torch.tanh(i_n + r * h_n)
    n_bias_outside = torch.tanh(i_n + r * (h @ w_hh.T).chunk(3, 1)[2] + b_hh.chunk(3)[2])
    return {
        "z and 1 - z are swapped: PyTorch uses h_t = (1 - z) * n + z * h_{t-1}": z * n_right
        + (1 - z) * h,
        "the reset gate should multiply (W_hn h + b_hn), bias included": (1 - z) * n_bias_outside
        + z * h,
        "the gate order in the stacked weights is r, z, n": (1 - r) * n_right + r * h,
    }


def check_gru_cell(fn) -> Passed:
    """``fn(x, h, w_ih, w_hh, b_ih, b_hh) -> h_t`` must equal ``nn.GRUCell``."""
    if not callable(fn):
        raise CheckFailed(f"pass your function itself, got {type(fn).__name__}")
    g = torch.Generator().manual_seed(6)
    ref = nn.GRUCell(3, 4).double()
    with torch.no_grad():
        for p in ref.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * 0.7)
    x = torch.randn(5, 3, generator=g, dtype=torch.float64)
    h = torch.randn(5, 4, generator=g, dtype=torch.float64)
    args = (x, h, ref.weight_ih, ref.weight_hh, ref.bias_ih, ref.bias_hh)
    with torch.no_grad():
        want = ref(x, h)
        got = fn(*args)
        if not torch.is_tensor(got):
            raise CheckFailed(f"your cell should return a tensor (batch, hidden), got {type(got)}")
        if tuple(got.shape) != (5, 4):
            raise CheckFailed(f"h_t should have shape (batch=5, hidden=4), got {tuple(got.shape)}")
        for slip, value in _gru_variants(*args).items():
            if torch.allclose(got.double(), value) and not torch.allclose(value, want):
                raise CheckFailed(f"close, but {slip}")
    expect_close(got, want, "h_t from your GRU cell", rtol=1e-6, atol=1e-8)
    return passed("your GRU cell equals nn.GRUCell")


def lstm_parameter_count(input_size: int, hidden_size: int, num_layers: int) -> int:
    """4 gate blocks, each with W_ih (H, I_k), W_hh (H, H), b_ih and b_hh (H,), per layer."""
    total = 0
    for k in range(num_layers):
        i_k = input_size if k == 0 else hidden_size
        total += 4 * (hidden_size * i_k + hidden_size * hidden_size + 2 * hidden_size)
    return total


def check_lstm_parameter_count(answer, input_size=10, hidden_size=20, num_layers=2) -> Passed:
    """The number of parameters of ``nn.LSTM(input_size, hidden_size, num_layers)``."""
    want = lstm_parameter_count(input_size, hidden_size, num_layers)
    assert want == sum(p.numel() for p in nn.LSTM(input_size, hidden_size, num_layers).parameters())
    one_bias = want - 4 * hidden_size * num_layers
    same_input = 4 * num_layers * (hidden_size * (input_size + hidden_size) + 2 * hidden_size)
    hints = {
        one_bias: "PyTorch keeps two bias vectors per gate block, b_ih and b_hh",
        want // 4: "an LSTM has four stacked blocks (i, f, g, o), not one",
        same_input: "layers after the first read the hidden state of the layer below (size H)",
    }
    hint = hints.get(answer if isinstance(answer, int) else -1, "")
    expect_integer(answer, want, "the parameter count", hint=hint)
    return passed(f"{want:,} parameters")


def check_temperature_probs(fn) -> Passed:
    """``fn(logits, temperature)`` -> probabilities ``softmax(logits / temperature)``."""
    if not callable(fn):
        raise CheckFailed(f"pass your function itself, got {type(fn).__name__}")
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0], [0.5, 0.5, 3.0, 0.0]], dtype=torch.float64)
    for t in (0.5, 1.0, 2.0):
        got = fn(logits, t)
        if torch.is_tensor(got) and torch.allclose(got.double(), torch.softmax(logits * t, -1)):
            if t != 1.0:
                raise CheckFailed("divide the logits by the temperature; you multiplied")
        expect_close(got, torch.softmax(logits / t, -1), f"probabilities at temperature {t}")
    return passed("low temperature sharpens, high temperature flattens the distribution")


def check_sunspot_seasonal_naive(answer) -> Passed:
    """MAE of the 11-year seasonal-naive forecast over the last 60 sunspot years."""
    from companion.data.sequences import load_sunspots
    from companion.forecasting import mae, naive, seasonal_naive

    y = load_sunspots().values
    start = len(y) - 60
    want = mae(seasonal_naive(y, start, 11), y[start:])
    hint = ""
    if isinstance(answer, (int, float)) and np.isclose(answer, mae(naive(y, start), y[start:])):
        hint = "that is the naive (one-year) forecast; the seasonal one looks 11 years back"
    expect_close(answer, want, "the seasonal-naive MAE", rtol=1e-6, hint=hint)
    return passed(f"seasonal-naive MAE = {want:.2f} sunspots")
