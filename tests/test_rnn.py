"""companion.rnn against torch.nn.RNN/LSTM/GRU (outputs AND gradients, float64), the
sequence data loaders and the forecasting baselines (Chapter 6)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.testing import assert_close

from companion import forecasting, rnn
from companion.data import sequences
from companion.data.text import CharTokenizer, language_model_windows, load_pydoc_topics

PAIRS = [(rnn.RNN, nn.RNN), (rnn.LSTM, nn.LSTM), (rnn.GRU, nn.GRU)]
ids = ["rnn", "lstm", "gru"]


def _grads(module):
    return {n: p.grad.clone() for n, p in module.named_parameters()}


@pytest.mark.parametrize("ours_cls,torch_cls", PAIRS, ids=ids)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_layers_match_torch_outputs_and_gradients(ours_cls, torch_cls, batch_first, num_layers):
    torch.manual_seed(0)
    ref = torch_cls(3, 5, num_layers=num_layers, batch_first=batch_first).double()
    ours = ours_cls.from_torch(ref)
    T, B = 7, 4
    x = torch.randn((B, T, 3) if batch_first else (T, B, 3), dtype=torch.float64)
    h0 = torch.randn(num_layers, B, 5, dtype=torch.float64)
    state = (h0, torch.randn_like(h0)) if torch_cls is nn.LSTM else h0
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_r, s_r = ref(x1, state)
    out_o, s_o = ours(x2, state)
    assert_close(out_o, out_r)
    assert_close(s_o, s_r)
    # a loss touching the outputs and the final states
    w = torch.randn_like(out_r)
    loss_r = (out_r * w).sum() + sum(
        s.pow(2).sum() for s in (s_r if isinstance(s_r, tuple) else [s_r])
    )
    loss_o = (out_o * w).sum() + sum(
        s.pow(2).sum() for s in (s_o if isinstance(s_o, tuple) else [s_o])
    )
    loss_r.backward()
    loss_o.backward()
    assert_close(x2.grad, x1.grad)
    g_r, g_o = _grads(ref), _grads(ours)
    assert g_r.keys() == g_o.keys()
    for name in g_r:
        assert_close(g_o[name], g_r[name], msg=lambda m, n=name: f"grad of {n}: {m}")


@pytest.mark.parametrize("ours_cls,torch_cls", PAIRS, ids=ids)
def test_state_dict_layout_is_torchs_and_zero_state_default(ours_cls, torch_cls):
    ref = torch_cls(2, 3, num_layers=2)
    ours = ours_cls(2, 3, num_layers=2)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in ref.state_dict().items()
    }
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(6, 2)  # unbatched (T, I)
    assert_close(ours(x)[0], ref(x)[0])
    assert rnn.count_parameters(ours) == sum(p.numel() for p in ref.parameters())


@pytest.mark.parametrize(
    "ours_cls,torch_cls",
    [(rnn.RNNCell, nn.RNNCell), (rnn.LSTMCell, nn.LSTMCell), (rnn.GRUCell, nn.GRUCell)],
)
def test_cells_match_torch_cells(ours_cls, torch_cls):
    torch.manual_seed(1)
    ref = torch_cls(4, 6).double()
    ours = ours_cls(4, 6).double()
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(3, 4, dtype=torch.float64)
    h = torch.randn(3, 6, dtype=torch.float64)
    state = (h, torch.randn_like(h)) if torch_cls is nn.LSTMCell else h
    assert_close(ours(x, state), ref(x, state))


def test_relu_rnn_and_no_bias():
    ref = nn.RNN(3, 4, nonlinearity="relu", bias=False).double()
    ours = rnn.RNN.from_torch(ref)
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    assert_close(ours(x)[0], ref(x)[0])


def test_gradcheck_lstm_cell():
    torch.manual_seed(2)
    w_ih = torch.randn(8, 3, dtype=torch.float64, requires_grad=True)
    w_hh = torch.randn(8, 2, dtype=torch.float64, requires_grad=True)
    x = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    h = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    c = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    f = lambda x, h, c, a, b: rnn.lstm_cell(x, (h, c), a, b)  # noqa: E731
    assert torch.autograd.gradcheck(f, (x, h, c, w_ih, w_hh))


def test_clear_errors_on_bad_input():
    lstm = rnn.LSTM(3, 5, num_layers=2)
    with pytest.raises(ValueError, match="input_size=3"):
        lstm(torch.randn(7, 4, 2))
    with pytest.raises(ValueError, match=r"\(num_layers, batch, hidden_size\)"):
        lstm(torch.randn(7, 4, 3), (torch.zeros(2, 4, 6), torch.zeros(2, 4, 5)))
    with pytest.raises(ValueError, match="3-D"):
        lstm(torch.randn(7, 4, 3, 1))
    with pytest.raises(TypeError, match="tensor"):
        lstm([[1.0, 2.0, 3.0]])
    with pytest.raises(TypeError, match="pair"):
        lstm(torch.randn(7, 4, 3), torch.zeros(2, 4, 5))
    with pytest.raises(ValueError, match="hidden_size"):
        rnn.GRUCell(3, 5)(torch.randn(2, 3), torch.randn(2, 4))
    with pytest.raises(ValueError, match="positive int"):
        rnn.LSTM(3, 0)
    with pytest.raises(TypeError, match="nn.GRU|GRU"):
        rnn.GRU.from_torch(nn.LSTM(3, 4))
    with pytest.raises(ValueError, match="bidirectional"):
        rnn.LSTM.from_torch(nn.LSTM(3, 4, bidirectional=True))


def test_clip_grad_norm_matches_torch():
    torch.manual_seed(3)
    a = [nn.Parameter(torch.randn(4, 3)), nn.Parameter(torch.randn(5))]
    b = [nn.Parameter(p.detach().clone()) for p in a]
    for p, q in zip(a, b, strict=True):
        p.grad = torch.randn_like(p) * 10
        q.grad = p.grad.clone()
    n_ours = rnn.clip_grad_norm(a, 1.0)
    n_ref = nn.utils.clip_grad_norm_(b, 1.0)
    assert_close(n_ours, n_ref)
    for p, q in zip(a, b, strict=True):
        assert_close(p.grad, q.grad)
    total = torch.sqrt(sum((p.grad**2).sum() for p in a))
    assert abs(total.item() - 1.0) < 1e-5
    with pytest.raises(ValueError):
        rnn.clip_grad_norm(a, 0)


def test_seasonal_naive_and_naive_baselines():
    y = np.arange(30, dtype=float) ** 1.5
    f = forecasting.seasonal_naive(y, start=20, season=12)
    assert f.shape == (10,)
    np.testing.assert_array_equal(f, y[8:18])  # y[t - 12] for t = 20..29
    np.testing.assert_array_equal(forecasting.naive(y, 20), y[19:29])
    # a purely periodic series is forecast exactly by the seasonal-naive rule
    periodic = np.tile(np.array([3.0, 1.0, 4.0, 1.0, 5.0]), 6)
    assert forecasting.mae(forecasting.seasonal_naive(periodic, 10, 5), periodic[10:]) == 0.0
    assert forecasting.mae(forecasting.naive(periodic, 10), periodic[10:]) > 1.0
    lin = 2.0 * np.arange(40.0) + np.tile([0.0, 5.0, -1.0, 2.0], 10)  # trend + period 4
    assert forecasting.mae(forecasting.seasonal_persistence(lin, 10, 4), lin[10:]) < 1e-12
    assert forecasting.mae(forecasting.seasonal_naive(lin, 10, 4), lin[10:]) == 8.0
    with pytest.raises(ValueError, match="season <= start"):
        forecasting.seasonal_naive(y, start=5, season=12)
    with pytest.raises(ValueError, match="1-D"):
        forecasting.naive(np.zeros((3, 3)), 1)


def test_windows_are_aligned_with_targets():
    y = np.arange(10.0)
    X, Y = forecasting.windows(y, window=3, start=5)
    assert X.shape == (5, 3, 1) and Y.tolist() == [5.0, 6.0, 7.0, 8.0, 9.0]
    assert X[0, :, 0].tolist() == [2.0, 3.0, 4.0]


def test_sequence_loaders_are_offline_and_real():
    co2 = sequences.load_co2_monthly()
    assert len(co2) == 526 and co2.season == 12 and not np.isnan(co2.values).any()
    assert 310 < co2.values[0] < 320 and 365 < co2.values[-1] < 375  # ppm, 1958 and 2001
    spots = sequences.load_sunspots()
    assert len(spots) == 309 and spots.index[0] == 1700
    text = load_pydoc_topics(max_chars=5000, ascii_only=True)
    assert len(text) == 5000 and text.isascii()
    vocab = CharTokenizer(text)
    ids = vocab.encode(text[:100])
    assert vocab.decode(ids) == text[:100]
    X, Y = language_model_windows(ids, block_size=10)
    assert X.shape == Y.shape == (9, 10)
    assert torch.equal(X[:, 1:], Y[:, :-1])
    with pytest.raises(ValueError, match="alphabet"):
        vocab.encode("\u00e9")
