"""Bad input to companion.rnn: every plausible mistake gets a clear error naming the argument;
inputs that are right to accept give the answer PyTorch gives (issue 18)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.testing import assert_close

from companion import rnn
from tests.badinput.harness import expect_clear_error

LSTM = rnn.LSTM(3, 5, num_layers=2)
GRU = rnn.GRU(3, 5, batch_first=True)
BI = rnn.RNN(3, 5, bidirectional=True)
X = torch.randn(7, 4, 3)  # (T, B, I)
x2, h2 = torch.randn(2, 3), torch.randn(2, 4)
W_LSTM = (torch.randn(16, 3), torch.randn(16, 4), torch.randn(16), torch.randn(16))
W_GRU = (torch.randn(12, 3), torch.randn(12, 4), torch.randn(12), torch.randn(12))
W_RNN = (torch.randn(4, 3), torch.randn(4, 4), torch.randn(4), torch.randn(4))
Z = torch.zeros(2, 4, 5)


def _grads():
    p = nn.Parameter(torch.randn(3, 2))
    p.grad = torch.randn(3, 2)
    return [p]


CASES = [
    # the recurrent layers: the input x
    (lambda: LSTM(X.long()), "x", TypeError),
    (lambda: LSTM(X.double()), "x", TypeError),
    (lambda: LSTM(X.numpy()), "x", TypeError),
    (lambda: LSTM(X.tolist()), "x", TypeError),
    (lambda: LSTM(X[:, 0, 0]), "x", ValueError),
    (lambda: LSTM(X[None]), "x", ValueError),
    (lambda: LSTM(torch.randn(7, 4, 2)), "x", ValueError),
    (lambda: LSTM(torch.randn(0, 4, 3)), "x", ValueError),
    (lambda: GRU(torch.randn(4, 7, 6)), "x", ValueError),
    (lambda: BI(X.half()), "x", TypeError),
    # initial states
    (lambda: LSTM(X, Z), "state", TypeError),
    (lambda: LSTM(X, (Z[..., :4], Z)), "h0", ValueError),
    (lambda: LSTM(X, (Z, Z[:, :3])), "c0", ValueError),
    (lambda: LSTM(X, (Z[:1], Z[:1])), "h0", ValueError),
    (lambda: LSTM(X, (Z, Z.double())), "c0", TypeError),
    (lambda: LSTM(X, (Z[0], Z[0])), "h0", ValueError),
    (lambda: LSTM(X, (Z.numpy(), Z)), "h0", TypeError),
    (lambda: GRU(torch.randn(4, 7, 3), torch.zeros(1, 7, 5)), "h0", ValueError),
    (lambda: BI(X, torch.zeros(1, 4, 5)), "h0", ValueError),
    (lambda: LSTM(X, (Z, Z, Z)), "state", TypeError),
    # constructors
    (lambda: rnn.LSTM(3, 0), "hidden_size", ValueError),
    (lambda: rnn.LSTM(3, 2.5), "hidden_size", TypeError),
    (lambda: rnn.GRU(True, 4), "input_size", TypeError),
    (lambda: rnn.RNN(3, 4, num_layers=-1), "num_layers", ValueError),
    (lambda: rnn.RNN(3, 4, nonlinearity="Tanh"), "nonlinearity", ValueError),
    (lambda: rnn.RNN(3, 4, nonlinearity="sigmoid"), "nonlinearity", ValueError),
    (lambda: rnn.RNNCell(3, 4, nonlinearity=None), "nonlinearity", TypeError),
    (lambda: rnn.LSTM(3, 4, bidirectional="yes"), "bidirectional", TypeError),
    (lambda: rnn.GRU(3, 4, batch_first=1), "batch_first", TypeError),
    (lambda: rnn.LSTMCell(3, 4, bias="False"), "bias", TypeError),
    (lambda: rnn.LSTM.from_torch(nn.GRU(3, 4)), "module", TypeError),
    (lambda: rnn.LSTM.from_torch(nn.LSTM(3, 4, 2, dropout=0.5)), "module", ValueError),
    (lambda: rnn.LSTM.from_torch(nn.LSTM(3, 4, proj_size=2)), "module", ValueError),
    # the cell modules
    (lambda: rnn.RNNCell(3, 4)(X), "x", ValueError),
    (lambda: rnn.GRUCell(3, 5)(x2, h2), "h", ValueError),
    (lambda: rnn.LSTMCell(3, 4)(x2, h2), "state", TypeError),
    (lambda: rnn.LSTMCell(3, 4)(x2.long()), "x", TypeError),
    (lambda: rnn.GRUCell(3, 4)(x2, h2[:1]), "h", ValueError),
    (lambda: rnn.LSTMCell(3, 4)(x2, (h2, h2[:, :2])), "c", ValueError),
    # the functional cells: x, the state and every weight
    (lambda: rnn.lstm_cell(x2, torch.randn(2, 2, 4), *W_LSTM), "state", TypeError),
    (lambda: rnn.lstm_cell(x2, (h2, h2), *W_RNN), "w_hh", ValueError),
    (lambda: rnn.lstm_cell(x2, (h2, h2[:, :3]), *W_LSTM), "c", ValueError),
    (lambda: rnn.lstm_cell(x2, (h2, h2), W_LSTM[0], W_LSTM[1], W_LSTM[2]), "b_ih", ValueError),
    (lambda: rnn.gru_cell(x2, h2, torch.randn(12, 5), *W_GRU[1:]), "w_ih", ValueError),
    (lambda: rnn.gru_cell(x2, h2, *W_GRU[:2], torch.randn(9), W_GRU[3]), "b_ih", ValueError),
    (lambda: rnn.gru_cell(x2, h2, *W_LSTM), "w_hh", ValueError),
    (lambda: rnn.rnn_cell(x2, h2, *W_RNN, nonlinearity="tahn"), "nonlinearity", ValueError),
    (lambda: rnn.rnn_cell(x2, h2[:, :3], *W_RNN), "h", ValueError),
    (lambda: rnn.rnn_cell(x2.numpy(), h2, *W_RNN), "x", TypeError),
    (lambda: rnn.rnn_cell(x2, h2, *(w.double() for w in W_RNN)), "x", TypeError),
    (lambda: rnn.rnn_cell(x2[0], h2, *W_RNN), "x", ValueError),
    (lambda: rnn.gru_cell(x2, h2, W_GRU[0].long(), *W_GRU[1:]), "w_ih", TypeError),
    # gradient clipping
    (lambda: rnn.clip_grad_norm(_grads(), -1.0), "max_norm", ValueError),
    (lambda: rnn.clip_grad_norm(_grads(), float("nan")), "max_norm", ValueError),
    (lambda: rnn.clip_grad_norm(_grads(), 0), "max_norm", ValueError),
    (lambda: rnn.clip_grad_norm(_grads(), float("inf")), "max_norm", ValueError),
    (lambda: rnn.clip_grad_norm(_grads(), "1.0"), "max_norm", TypeError),
    (lambda: rnn.clip_grad_norm([1.0, 2.0], 1.0), "parameters", TypeError),
    (lambda: rnn.clip_grad_norm(None, 1.0), "parameters", TypeError),
    (lambda: rnn.clip_grad_norm([], 1.0), "parameters", ValueError),
    (lambda: rnn.clip_grad_norm((p for p in []), 1.0), "parameters", ValueError),
]


@pytest.mark.parametrize("case", CASES, ids=[f"rnn-{i}" for i in range(len(CASES))])
def test_bad_input_gets_a_clear_error(case):
    call, name, kind = case
    expect_clear_error(call, name, kind=kind)


def test_consumed_generator_is_refused_not_a_silent_zero():
    model = nn.Linear(2, 2)
    model(torch.randn(3, 2)).sum().backward()
    params = model.parameters()
    list(params)  # consumed, e.g. by an earlier call
    expect_clear_error(lambda: rnn.clip_grad_norm(params, 1.0), "parameters", kind=ValueError)


# --- accepted inputs: the right answer, checked against PyTorch ---------------------------------
def test_single_tensor_is_clipped_like_torch():
    """Issue 18: a single tensor used to be iterated by rows, clipped nothing and returned 0."""
    a, b = nn.Parameter(torch.randn(4, 3)), None
    a.grad = torch.randn(4, 3) * 10
    b = nn.Parameter(a.detach().clone())
    b.grad = a.grad.clone()
    assert_close(rnn.clip_grad_norm(a, 1.0), nn.utils.clip_grad_norm_(b, 1.0))
    assert_close(a.grad, b.grad)
    assert a.grad.norm().item() == pytest.approx(1.0, rel=1e-5)


def test_numpy_integer_sizes_and_unbatched_input_match_torch():
    ref = nn.GRU(3, 4, num_layers=2)
    ours = rnn.GRU(np.int64(3), np.int64(4), num_layers=np.int32(2))
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(6, 3)  # unbatched (T, I)
    out, h = ours(x, torch.zeros(2, 4))
    out_ref, h_ref = ref(x, torch.zeros(2, 4))
    assert_close(out, out_ref)
    assert_close(h, h_ref)


def test_float64_model_takes_float64_input():
    ref = nn.LSTM(3, 4).double()
    ours = rnn.LSTM.from_torch(ref)
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    assert_close(ours(x)[0], ref(x)[0])
