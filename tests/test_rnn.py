"""companion.rnn against torch.nn.RNN/LSTM/GRU: outputs AND gradients in float64, stacked and
bidirectional layers included, the functional cells, gradient clipping against
torch.nn.utils.clip_grad_norm_, and the wrong variants each comparison must catch (Chapter 6)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from companion import rnn
from companion.parameters import count_parameters

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: one thread is fastest

PAIRS = [(rnn.RNN, nn.RNN), (rnn.LSTM, nn.LSTM), (rnn.GRU, nn.GRU)]
IDS = ["rnn", "lstm", "gru"]
CELLS = [(rnn.RNNCell, nn.RNNCell), (rnn.LSTMCell, nn.LSTMCell), (rnn.GRUCell, nn.GRUCell)]


def _flat(s):
    return list(s) if isinstance(s, tuple) else [s]


def _run_both(ours_cls, torch_cls, batch_first, num_layers, bidirectional, seed=0):
    """Outputs, final states, input gradient and weight gradients of both layers."""
    torch.manual_seed(seed)
    ref = torch_cls(
        3, 5, num_layers=num_layers, batch_first=batch_first, bidirectional=bidirectional
    ).double()
    ours = ours_cls.from_torch(ref)
    T, B, D = 7, 4, 2 if bidirectional else 1
    x = torch.randn((B, T, 3) if batch_first else (T, B, 3), dtype=torch.float64)
    h0 = torch.randn(num_layers * D, B, 5, dtype=torch.float64)
    state = (h0, torch.randn_like(h0)) if torch_cls is nn.LSTM else h0
    results = []
    for module in (ref, ours):
        xi = x.clone().requires_grad_()
        out, s = module(xi, state)
        w = torch.linspace(-1, 1, out.numel(), dtype=torch.float64).view(out.shape)
        loss = (out * w).sum() + sum(t.pow(2).sum() for t in _flat(s))  # outputs and states
        loss.backward()
        grads = {n: p.grad.clone() for n, p in module.named_parameters()}
        results.append((out.detach(), [t.detach() for t in _flat(s)], xi.grad, grads))
    return results


@pytest.mark.parametrize("ours_cls,torch_cls", PAIRS, ids=IDS)
@pytest.mark.parametrize("batch_first", [False, True], ids=["TBI", "BTI"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
def test_layers_match_torch_outputs_and_gradients(
    ours_cls, torch_cls, batch_first, num_layers, bidirectional
):
    (o_r, s_r, gx_r, g_r), (o_o, s_o, gx_o, g_o) = _run_both(
        ours_cls, torch_cls, batch_first, num_layers, bidirectional
    )
    assert o_o.shape == o_r.shape
    assert_close(o_o, o_r)
    for a, b in zip(s_o, s_r, strict=True):
        assert_close(a, b)
    assert_close(gx_o, gx_r)
    assert g_r.keys() == g_o.keys()
    for name in g_r:
        assert_close(g_o[name], g_r[name], msg=lambda m, n=name: f"grad of {n}: {m}")


def test_bidirectional_output_order_is_checked():
    """Wrong variant: leaving the backward direction's outputs in reversed time order."""
    (o_r, *_), (o_o, *_) = _run_both(rnn.LSTM, nn.LSTM, False, 2, True)
    H = 5
    wrong = torch.cat([o_o[..., :H], o_o[..., H:].flip(0)], dim=-1)
    assert (wrong - o_r).abs().max() > 1e-2
    # and the two directions differ, so concatenating forward twice would be caught too
    assert (o_o[..., :H] - o_o[..., H:]).abs().max() > 1e-2


def _wrong_lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """Input and forget gates swapped (reads PyTorch's i, f, g, o order as f, i, g, o)."""
    pre = x @ w_ih.T + h @ w_hh.T + b_ih + b_hh
    f, i, g, o = pre.chunk(4, dim=1)
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_new), c_new


def _wrong_gru_step(x, h, w_ih, w_hh, b_ih, b_hh):
    """z and 1 - z swapped: h_t = z * n + (1 - z) * h."""
    i_r, i_z, i_n = (x @ w_ih.T + b_ih).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ w_hh.T + b_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    return z * torch.tanh(i_n + r * h_n) + (1 - z) * h


@pytest.mark.parametrize(
    "ours_cls,torch_cls,step,wrong",
    [
        (rnn.LSTM, nn.LSTM, "_lstm_step", _wrong_lstm_step),
        (rnn.GRU, nn.GRU, "_gru_step", _wrong_gru_step),
    ],
    ids=["lstm-gates-swapped", "gru-z-swapped"],
)  # fmt: skip
def test_comparison_catches_a_wrong_cell(monkeypatch, ours_cls, torch_cls, step, wrong):
    monkeypatch.setattr(rnn, step, wrong)
    (o_r, *_), (o_o, *_) = _run_both(ours_cls, torch_cls, False, 1, False)
    assert (o_o - o_r).abs().max() > 1e-2


@pytest.mark.parametrize("ours_cls,torch_cls", PAIRS, ids=IDS)
def test_state_dict_layout_is_torchs_and_unbatched_input(ours_cls, torch_cls):
    ref = torch_cls(2, 3, num_layers=2, bidirectional=True)
    ours = ours_cls(2, 3, num_layers=2, bidirectional=True)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in ref.state_dict().items()
    }
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(6, 2)  # unbatched (T, I), zero initial state
    out_o, s_o = ours(x)
    out_r, s_r = ref(x)
    assert out_o.shape == (6, 6)
    assert_close(out_o, out_r)
    for a, b in zip(_flat(s_o), _flat(s_r), strict=True):
        assert_close(a, b)
    assert count_parameters(ours) == sum(p.numel() for p in ref.parameters())


@pytest.mark.parametrize("ours_cls,torch_cls", CELLS, ids=IDS)
@pytest.mark.parametrize("bias", [True, False])
def test_cells_match_torch_cells(ours_cls, torch_cls, bias):
    torch.manual_seed(1)
    ref = torch_cls(4, 6, bias=bias).double()
    ours = ours_cls(4, 6, bias=bias).double()
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(3, 4, dtype=torch.float64)
    h = torch.randn(3, 6, dtype=torch.float64)
    state = (h, torch.randn_like(h)) if torch_cls is nn.LSTMCell else h
    assert_close(ours(x, state), ref(x, state))
    assert_close(ours(x), ref(x))  # zero state


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_functional_cells_match_torch_functionals(nonlinearity):
    """rnn_cell / lstm_cell / gru_cell against torch's own fused cell kernels."""
    g = torch.Generator().manual_seed(4)
    B, I, H = 3, 4, 5
    x = torch.randn(B, I, generator=g, dtype=torch.float64)
    h = torch.randn(B, H, generator=g, dtype=torch.float64)
    c = torch.randn(B, H, generator=g, dtype=torch.float64)
    for G, ours, theirs in [
        (1, lambda *a: rnn.rnn_cell(*a, nonlinearity=nonlinearity),
         torch.rnn_tanh_cell if nonlinearity == "tanh" else torch.rnn_relu_cell),
        (3, rnn.gru_cell, torch.gru_cell),
    ]:  # fmt: skip
        w = [
            torch.randn(s, generator=g, dtype=torch.float64)
            for s in [(G * H, I), (G * H, H), (G * H,), (G * H,)]
        ]
        assert_close(ours(x, h, *w), theirs(x, h, *w))
    w = [
        torch.randn(s, generator=g, dtype=torch.float64)
        for s in [(4 * H, I), (4 * H, H), (4 * H,), (4 * H,)]
    ]
    assert_close(rnn.lstm_cell(x, (h, c), *w), torch.lstm_cell(x, (h, c), *w))


def test_gradcheck_lstm_cell():
    torch.manual_seed(2)
    w_ih = torch.randn(8, 3, dtype=torch.float64, requires_grad=True)
    w_hh = torch.randn(8, 2, dtype=torch.float64, requires_grad=True)
    x = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    h = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    c = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    f = lambda x, h, c, a, b: rnn.lstm_cell(x, (h, c), a, b)  # noqa: E731
    assert torch.autograd.gradcheck(f, (x, h, c, w_ih, w_hh))


def test_functional_cells_check_every_shape():
    """The silent cases of issue 18: a single tensor as the LSTM state; RNN-sized weights."""
    x, h = torch.randn(2, 3), torch.randn(2, 4)
    w_ih, w_hh = torch.randn(16, 3), torch.randn(16, 4)
    with pytest.raises(TypeError, match="state must be a pair"):
        rnn.lstm_cell(x, torch.randn(2, 2, 4), w_ih, w_hh)
    with pytest.raises(ValueError, match=r"w_hh .*\(4\*H, H\)"):
        rnn.lstm_cell(x, (h, h), torch.randn(4, 3), torch.randn(4, 4))
    with pytest.raises(ValueError, match="w_ih"):
        rnn.gru_cell(x, h, torch.randn(12, 5), torch.randn(12, 4))
    with pytest.raises(ValueError, match="b_ih"):
        rnn.rnn_cell(x, h, torch.randn(4, 3), torch.randn(4, 4), torch.randn(5), torch.randn(4))


# ---------------------------------------------------------------- gradient clipping
def _with_grads(seed, shapes, scale):
    g = torch.Generator().manual_seed(seed)
    params = [nn.Parameter(torch.randn(s, generator=g)) for s in shapes]
    for p in params:
        p.grad = torch.randn(p.shape, generator=g) * scale
    return params


@pytest.mark.parametrize("scale", [10.0, 0.01], ids=["clipped", "untouched"])
@pytest.mark.parametrize("single", [False, True], ids=["list", "single-tensor"])
def test_clip_grad_norm_matches_torch(scale, single):
    shapes = [(4, 3)] if single else [(4, 3), (5,), (2, 2, 2)]
    a, b = _with_grads(3, shapes, scale), _with_grads(3, shapes, scale)
    before = [p.grad.clone() for p in a]
    n_ours = rnn.clip_grad_norm(a[0] if single else a, 1.0)
    n_ref = nn.utils.clip_grad_norm_(b[0] if single else b, 1.0)
    assert_close(n_ours, n_ref)
    for p, q in zip(a, b, strict=True):
        assert_close(p.grad, q.grad)
    total = torch.sqrt(sum((p.grad**2).sum() for p in a))
    if scale > 1:
        assert abs(total.item() - 1.0) < 1e-5  # clipped to the threshold
        # wrong variant: clipping each tensor on its own leaves a different gradient
        if not single:
            per_tensor = [g * torch.clamp(1.0 / (g.norm() + 1e-6), max=1.0) for g in before]
            assert max((w - p.grad).abs().max() for w, p in zip(per_tensor, a, strict=True)) > 1e-3
    else:
        for p, g in zip(a, before, strict=True):
            assert torch.equal(p.grad, g)  # below the threshold nothing changes


def test_clip_grad_norm_without_gradients_returns_zero():
    p = nn.Parameter(torch.ones(3))
    assert rnn.clip_grad_norm([p], 1.0).item() == nn.utils.clip_grad_norm_([p], 1.0).item() == 0.0


# ---------------------------------------------------------------- on the GPU


@pytest.fixture
def no_tf32(monkeypatch):
    """Full float32 on the GPU: TF32 (on by default in cuDNN) would dominate the tolerance."""
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        yield


@pytest.mark.gpu
@pytest.mark.parametrize("torch_cls", [nn.RNN, nn.LSTM, nn.GRU], ids=IDS)
def test_recurrent_layers_on_cuda_match_cpu(torch_cls, no_tf32):
    """float32, 2 layers, bidirectional: CUDA vs CPU within 1e-4 (kernel and summation order)."""
    torch.manual_seed(0)
    ref = torch_cls(8, 16, num_layers=2, bidirectional=True, batch_first=True)
    ours_cls = {nn.RNN: rnn.RNN, nn.LSTM: rnn.LSTM, nn.GRU: rnn.GRU}[torch_cls]
    ours = ours_cls.from_torch(ref)
    x = torch.randn(4, 10, 8)
    expected = ref(x)[0]
    got_ours = ours.cuda()(x.cuda())[0].cpu()
    got_fused = ref.cuda()(x.cuda())[0].cpu()
    assert_close(got_ours, expected, rtol=1e-4, atol=1e-4)
    assert_close(got_fused, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.gpu
def test_clip_grad_norm_on_cuda_matches_cpu():
    a = _with_grads(5, [(4, 3), (7,)], 10.0)
    b = [nn.Parameter(p.detach().cuda()) for p in a]
    for p, q in zip(a, b, strict=True):
        q.grad = p.grad.cuda()
    assert_close(rnn.clip_grad_norm(b, 1.0).cpu(), rnn.clip_grad_norm(a, 1.0), rtol=1e-5, atol=1e-6)
    for p, q in zip(a, b, strict=True):
        assert_close(q.grad.cpu(), p.grad, rtol=1e-5, atol=1e-6)
