"""Checks for the exercises of Chapter 6 (recurrent networks).

Each check computes its reference itself (PyTorch's ``nn.GRUCell`` with weights the check
draws, ``nn.LSTM`` built on the ``meta`` device, its own arithmetic) on inputs the student
does not choose. A function that calls the chapter's helpers or PyTorch's own recurrent
cells instead of implementing the equations is refused: the names it uses are inspected,
and while it runs the companion's and PyTorch's GRU cells are switched off.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable

import torch
from torch import nn

from companion.exercises import CheckFailed, Passed, as_integer, expect_close, passed

# Names a student's function may not use: the chapter's cells and layers, PyTorch's
# recurrent modules and kernels, and parameter counters.
_FORBIDDEN = {
    "gru_cell", "GRUCell", "GRU", "_gru_step", "rnn", "_VF",
    "LSTM", "LSTMCell", "lstm_cell", "count_parameters", "count_on_meta", "numel", "parameters",
}  # fmt: skip


def _require_function(fn, what: str) -> Callable:
    if not callable(fn):
        raise CheckFailed(f"pass your function {what} itself, got {type(fn).__name__}")
    used, todo = set(), [getattr(fn, "__code__", None)]
    while todo:  # the function's names and those of its lambdas, comprehensions, generators
        code = todo.pop()
        if code is not None:
            used |= set(code.co_names) & _FORBIDDEN
            todo += [c for c in code.co_consts if hasattr(c, "co_names")]
    if used:
        raise CheckFailed(
            f"{what} uses {', '.join(sorted(used))}: implement the equations with tensor "
            "arithmetic instead of calling a ready-made cell, layer or counter"
        )
    return fn


@contextlib.contextmanager
def _no_ready_made_gru():
    """While the student's code runs, the companion's and PyTorch's GRU cells refuse to run."""
    import companion.rnn as rnn

    def refuse(*args, **kwargs):
        raise CheckFailed(
            "implement the GRU step yourself; calling a ready-made GRU is not allowed"
        )

    saved = [(rnn, "gru_cell"), (rnn, "_gru_step"), (nn.GRUCell, "forward"), (torch, "gru_cell")]
    originals = [getattr(obj, name) for obj, name in saved]
    try:
        for obj, name in saved:
            setattr(obj, name, refuse)
        yield
    finally:
        for (obj, name), original in zip(saved, originals, strict=True):
            setattr(obj, name, original)


# --- ch06-gru-cell ---------------------------------------------------------------------------
def _gru_variants(x, h, w_ih, w_hh, b_ih, b_hh):
    """Common slips, to name the one a learner made."""
    gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    i_r, i_z, i_n = gi.chunk(3, 1)
    h_r, h_z, h_n = gh.chunk(3, 1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    n_right = torch.tanh(i_n + r * h_n)
    n_bias_outside = torch.tanh(i_n + r * (h @ w_hh.T).chunk(3, 1)[2] + b_hh.chunk(3)[2])
    n_reset_before = torch.tanh(i_n + (r * h) @ w_hh.chunk(3)[2].T + b_hh.chunk(3)[2])
    return {
        "z and 1 - z are swapped: PyTorch uses h_t = (1 - z) * n + z * h_{t-1}": z * n_right
        + (1 - z) * h,
        "the reset gate should multiply (W_hn h + b_hn), bias included": (1 - z) * n_bias_outside
        + z * h,
        "PyTorch applies the reset gate after the product W_hn h, not to h before it": (1 - z)
        * n_reset_before
        + z * h,
        "the gate order in the stacked weights is r, z, n": (1 - r) * n_right + r * h,
    }


def check_gru_cell(fn) -> Passed:
    """``fn(x, h, w_ih, w_hh, b_ih, b_hh) -> h_t`` must equal ``nn.GRUCell``."""
    fn = _require_function(fn, "my_gru_cell")
    g = torch.Generator().manual_seed(6)
    ref = nn.GRUCell(3, 4).double()
    with torch.no_grad():
        for p in ref.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * 0.7)
    x = torch.randn(5, 3, generator=g, dtype=torch.float64)
    h = torch.randn(5, 4, generator=g, dtype=torch.float64)
    weights = [p.detach().clone() for p in (ref.weight_ih, ref.weight_hh, ref.bias_ih, ref.bias_hh)]
    with torch.no_grad():
        want = ref(x, h)
        with _no_ready_made_gru():
            got = fn(x, h, *weights)
    if not torch.is_tensor(got):
        raise CheckFailed(f"your cell should return a tensor (batch, hidden), got {type(got)}")
    if tuple(got.shape) != (5, 4):
        raise CheckFailed(f"h_t should have shape (batch=5, hidden=4), got {tuple(got.shape)}")
    for slip, value in _gru_variants(x, h, *weights).items():
        if torch.allclose(got.double(), value) and not torch.allclose(value, want):
            raise CheckFailed(f"close, but {slip}")
    expect_close(got, want, "h_t from your GRU cell", rtol=1e-6, atol=1e-8)
    return passed("your GRU cell equals nn.GRUCell")


# --- ch06-lstm-params ------------------------------------------------------------------------
def _lstm_reference(input_size, hidden_size, num_layers, bidirectional) -> int:
    with torch.device("meta"):
        m = nn.LSTM(input_size, hidden_size, num_layers, bidirectional=bidirectional)
    return sum(p.numel() for p in m.parameters())


def _lstm_slips(I, H, L, bidirectional):
    """What common slips give, each with its explanation."""
    D = 2 if bidirectional else 1

    def count(blocks=4, biases=2, above=None, dirs=D):
        above = D * H if above is None else above
        return sum(
            dirs * blocks * (H * (I if k == 0 else above) + H * H + biases * H) for k in range(L)
        )

    return {
        count(biases=1): "PyTorch keeps two bias vectors per gate block, b_ih and b_hh",
        count(blocks=1): "an LSTM has four stacked blocks (i, f, g, o), not one",
        count(above=I): "layers after the first read the hidden state of the layer below",
        count(above=H): "in a bidirectional stack, the layer above reads both directions (2H)",
        count(dirs=1): "a bidirectional layer has a second, separate set of weights",
        count(dirs=1, above=H): "a bidirectional layer has a second, separate set of weights",
    }


def check_lstm_parameter_count(fn) -> Passed:
    """``fn(input_size, hidden_size, num_layers, bidirectional) -> int`` for ``nn.LSTM``."""
    fn = _require_function(fn, "lstm_parameter_count")
    cases = [(10, 20, 2, False), (3, 7, 1, False), (5, 16, 2, True), (8, 4, 3, True)]
    for I, H, L, bi in cases:
        want = _lstm_reference(I, H, L, bi)
        got = as_integer(fn(I, H, L, bi), f"lstm_parameter_count({I}, {H}, {L}, {bi})")
        if got != want:
            hint = _lstm_slips(I, H, L, bi).get(
                got, "compare with Eq. (ch06-params) layer by layer"
            )
            raise CheckFailed(
                f"lstm_parameter_count({I}, {H}, {L}, bidirectional={bi}) is {got:,}, "
                f"expected {want:,}. Hint: {hint}"
            )
    return passed("your formula counts the parameters of every LSTM configuration tried")


# --- ch06-temperature ------------------------------------------------------------------------
def check_temperature_probs(fn) -> Passed:
    """``fn(logits, temperature)`` -> probabilities ``softmax(logits / temperature)``."""
    fn = _require_function(fn, "temperature_probs")
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0], [0.5, 0.5, 3.0, 0.0]], dtype=torch.float64)
    for t in (0.5, 1.0, 2.0):
        want = torch.softmax(logits / t, -1)
        got = fn(logits.clone(), t)
        if torch.is_tensor(got) and got.shape == want.shape:
            if t != 1.0 and torch.allclose(got.double(), torch.softmax(logits * t, -1)):
                raise CheckFailed("divide the logits by the temperature; you multiplied")
            if torch.allclose(got.double(), torch.softmax(logits / t, 0)):
                raise CheckFailed("take the softmax along the last dimension (the vocabulary)")
        expect_close(got, want, f"probabilities at temperature {t}")
    return passed("low temperature sharpens, high temperature flattens the distribution")


# --- ch06-perplexity -------------------------------------------------------------------------
def check_uniform_perplexity(answer, k: int = 8) -> Passed:
    """The perplexity of a model spreading its probability evenly over ``k`` characters,
    one of which is always the right one: ``exp(ln k) = k``."""
    hints = {
        math.log(k): "that is the loss in nats, -ln(1/k); perplexity is its exponential",
        math.log2(k): "that is the loss in bits; perplexity is 2 to that power (or e to the nats)",
        1 / k: "that is the probability of the right character; perplexity is its inverse",
    }
    try:
        value = float(torch.as_tensor(answer, dtype=torch.float64).reshape(-1)[0])
        single = torch.as_tensor(answer).numel() == 1
    except (TypeError, ValueError, RuntimeError) as err:
        raise CheckFailed(
            f"the perplexity should be one number, got {type(answer).__name__}"
        ) from err
    hint = next(
        (h for v, h in hints.items() if single and math.isclose(value, v, rel_tol=1e-3)), ""
    )
    expect_close(answer, float(k), "the perplexity", rtol=1e-6, hint=hint)
    return passed(f"perplexity {k}: as uncertain as a fair choice among {k} characters")
