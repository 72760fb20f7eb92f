"""Recurrent networks from scratch: RNN, LSTM and GRU cells and layers (Chapter 6).

Every cell applies *one* set of weights at every time step (Section 6.1, Eq. (ch06-rnn)):
the weights are shared across time; the hidden state ``h_t`` is not a weight but the
value the recurrence carries forward. The parameter layout is PyTorch's, so a layer here
and ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` loaded with the same ``state_dict`` compute the
same outputs and gradients (``tests/test_rnn.py`` proves it), stacked and bidirectional
layers included (Section 6.5):

* ``weight_ih_l{k}{s}`` ``(G*H, I_k)``, ``weight_hh_l{k}{s}`` ``(G*H, H)``, ``bias_ih_l{k}{s}``
  and ``bias_hh_l{k}{s}`` ``(G*H,)``, with ``G`` = 1 (RNN), 4 (LSTM, gate order i, f, g, o)
  or 3 (GRU, gate order r, z, n); ``s`` is ``""`` for the forward direction and
  ``"_reverse"`` for the backward one; ``I_0`` is the input size, ``I_k = D*H`` for
  ``k >= 1`` with ``D`` = 2 if bidirectional, else 1.

Shapes: ``x`` is ``(T, B, I)`` (or ``(B, T, I)`` with ``batch_first=True``, or ``(T, I)``
unbatched); outputs ``(T, B, D*H)``; states ``(num_layers*D, B, H)`` ordered layer 0
forward, layer 0 backward, layer 1 forward, ... The fused path is ``torch.nn.LSTM`` & co.

Input policy (see :mod:`companion.validation`): tensors are never converted (a NumPy array
or list is a ``TypeError`` that says how to convert it); float64 data for a float32 layer
is refused, not cast; integer data is refused. Shapes of inputs, states and, in the
functional cells, every weight are checked, each error naming the argument.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

from companion.validation import (
    check_bool,
    check_choice,
    check_floating,
    check_parameters,
    check_positive,
    check_positive_int,
    check_same_device,
    check_tensor,
    describe,
)

GATES = {"rnn": 1, "lstm": 4, "gru": 3}
NONLINEARITIES = ("tanh", "relu")


# ----------------------------------------------------------------------- the cell maths
# The unchecked steps: the layers call them at every time step after checking once.
def _rnn_step(x, h, w_ih, w_hh, b_ih, b_hh, nonlinearity):
    pre = x @ w_ih.T + h @ w_hh.T  # (B, H)
    if b_ih is not None:
        pre = pre + b_ih + b_hh
    return torch.tanh(pre) if nonlinearity == "tanh" else torch.relu(pre)


def _lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh):
    pre = x @ w_ih.T + h @ w_hh.T  # (B, 4H)
    if b_ih is not None:
        pre = pre + b_ih + b_hh
    i, f, g, o = pre.chunk(4, dim=1)
    i, f, o = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o)  # input, forget, output gate
    g = torch.tanh(g)  # cell candidate
    c_new = f * c + i * g  # the cell state: an additive path through time
    return o * torch.tanh(c_new), c_new


def _gru_step(x, h, w_ih, w_hh, b_ih, b_hh):
    gi = x @ w_ih.T  # (B, 3H)
    gh = h @ w_hh.T
    if b_ih is not None:
        gi, gh = gi + b_ih, gh + b_hh
    i_r, i_z, i_n = gi.chunk(3, dim=1)
    h_r, h_z, h_n = gh.chunk(3, dim=1)
    r = torch.sigmoid(i_r + h_r)  # reset gate
    z = torch.sigmoid(i_z + h_z)  # update gate
    n = torch.tanh(i_n + r * h_n)  # candidate
    return (1 - z) * n + z * h


def _check_cell_args(kind, x, h, w_ih, w_hh, b_ih, b_hh, c=None):
    """Shapes of a functional cell's arguments: x (B, I), h and c (B, H), W (G*H, I), (G*H, H)."""
    G = GATES[kind]
    w_hh = check_floating(w_hh, "w_hh", shape=(None, None))
    if w_hh.shape[0] != G * w_hh.shape[1]:
        raise ValueError(
            f"w_hh of a {kind.upper()} cell must have shape ({G}*H, H) (gates stacked along "
            f"the rows), got {tuple(w_hh.shape)}"
        )
    H = w_hh.shape[1]
    sizes = {"G*H": G * H, "H": H}
    x = check_floating(x, "x", like=w_hh, shape=("B", "I"), sizes=sizes)  # sets B and I
    check_floating(h, "h", like=w_hh, shape=("B", "H"), sizes=sizes)
    if c is not None:
        check_floating(c, "c", like=w_hh, shape=("B", "H"), sizes=sizes)
    w_ih = check_floating(w_ih, "w_ih", like=w_hh, shape=("G*H", "I"), sizes=sizes)
    check_same_device("x", x, "w_ih", w_ih)
    check_same_device("x", x, "h", h)
    if (b_ih is None) != (b_hh is None):
        raise ValueError("pass both biases b_ih and b_hh, or neither")
    if b_ih is not None:
        check_floating(b_ih, "b_ih", like=w_hh, shape=("G*H",), sizes=sizes)
        check_floating(b_hh, "b_hh", like=w_hh, shape=("G*H",), sizes=sizes)


# --------------------------------------------------------------------------- the cells
def rnn_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity: str = "tanh"):
    """Elman step, Eq. (ch06-rnn): ``h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``.

    ``x``: (B, I); ``h``: (B, H); ``w_ih`` (H, I), ``w_hh`` (H, H), biases (H,) or None;
    returns (B, H).
    """
    check_choice(nonlinearity, "nonlinearity", NONLINEARITIES)
    _check_cell_args("rnn", x, h, w_ih, w_hh, b_ih, b_hh)
    return _rnn_step(x, h, w_ih, w_hh, b_ih, b_hh, nonlinearity)


def _unpack_pair(state, name, what):
    if not isinstance(state, (tuple, list)) or len(state) != 2:
        raise TypeError(f"{name} must be a pair {what}, got {describe(state)}")
    return state


def lstm_cell(x, state, w_ih, w_hh, b_ih=None, b_hh=None):
    """LSTM step, Eqs. (ch06-lstm-gates)-(ch06-lstm-h); gates in PyTorch's order i, f, g, o.

    ``x``: (B, I); ``state = (h, c)``, each (B, H); ``w_ih`` (4H, I), ``w_hh`` (4H, H),
    biases (4H,) or None; returns ``(h_t, c_t)``, each (B, H). Every gate reads the
    *current* input ``x_t`` and the *previous* hidden state ``h_{t-1}``.
    """
    h, c = _unpack_pair(state, "state", "(h, c), each (batch, hidden_size)")
    _check_cell_args("lstm", x, h, w_ih, w_hh, b_ih, b_hh, c=c)
    return _lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh)


def gru_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """GRU step, Eq. (ch06-gru); gates in PyTorch's order r, z, n.

    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`` (the reset gate multiplies the whole
    recurrent term, bias included) and ``h_t = (1 - z) * n + z * h_{t-1}``.
    ``x``: (B, I); ``h``: (B, H); ``w_ih`` (3H, I), ``w_hh`` (3H, H); returns (B, H).
    """
    _check_cell_args("gru", x, h, w_ih, w_hh, b_ih, b_hh)
    return _gru_step(x, h, w_ih, w_hh, b_ih, b_hh)


# ------------------------------------------------------------------------ modules
def _init_uniform(params: Iterable[nn.Parameter], hidden_size: int) -> None:
    """PyTorch's default: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H))."""
    bound = 1.0 / math.sqrt(hidden_size)
    for p in params:
        nn.init.uniform_(p, -bound, bound)


class _Cell(nn.Module):
    kind = "rnn"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size = check_positive_int(input_size, "input_size")
        self.hidden_size = check_positive_int(hidden_size, "hidden_size")
        self.bias = check_bool(bias, "bias")
        gh = GATES[self.kind] * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(gh, input_size))
        self.weight_hh = nn.Parameter(torch.empty(gh, hidden_size))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(gh))
            self.bias_hh = nn.Parameter(torch.empty(gh))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        _init_uniform(self.parameters(), hidden_size)

    def _check(self, x, h, name="h"):
        """x (B, I) of the weights' dtype and device; h (B, H) or None (zeros)."""
        sizes = {"input_size": self.input_size, "hidden_size": self.hidden_size}
        x = check_floating(x, "x", like=self.weight_ih, shape=("batch", "input_size"), sizes=sizes)
        check_same_device("x", x, "the cell's weights", self.weight_ih)
        if h is None:
            return x.new_zeros(x.shape[0], self.hidden_size)
        check_floating(h, name, like=self.weight_ih, shape=("batch", "hidden_size"), sizes=sizes)
        check_same_device("x", x, name, h)
        return h

    def _weights(self):
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh


class RNNCell(_Cell):
    """One Elman step; the same parameters as ``nn.RNNCell`` (tanh or relu)."""

    kind = "rnn"

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh"):
        super().__init__(input_size, hidden_size, bias)
        self.nonlinearity = check_choice(nonlinearity, "nonlinearity", NONLINEARITIES)

    def forward(self, x, h=None):
        """``x``: (B, I); ``h``: (B, H) or None (zeros); returns (B, H)."""
        h = self._check(x, h)
        return _rnn_step(x, h, *self._weights(), self.nonlinearity)


class LSTMCell(_Cell):
    """One LSTM step; the same parameters as ``nn.LSTMCell``."""

    kind = "lstm"

    def forward(self, x, state=None):
        """``x``: (B, I); ``state``: ``(h, c)`` each (B, H), or None; returns ``(h, c)``."""
        if state is None:
            h = self._check(x, None)
            c = torch.zeros_like(h)
        else:
            h, c = _unpack_pair(state, "state", "(h, c), each (batch, hidden_size)")
            self._check(x, h, "h")
            self._check(x, c, "c")
        return _lstm_step(x, h, c, *self._weights())


class GRUCell(_Cell):
    """One GRU step; the same parameters as ``nn.GRUCell``."""

    kind = "gru"

    def forward(self, x, h=None):
        """``x``: (B, I); ``h``: (B, H) or None (zeros); returns (B, H)."""
        h = self._check(x, h)
        return _gru_step(x, h, *self._weights())


# ------------------------------------------------------------------------------ layers
class _Layer(nn.Module):
    """A stack of ``num_layers`` recurrent layers unrolled over time (BPTT by autograd).

    With ``bidirectional=True`` every layer runs a second set of weights from the last
    step to the first and concatenates both outputs, ``(T, B, 2H)``: the next layer (and
    the head) sees, at step ``t``, a summary of the past *and* of the future.
    """

    kind = "rnn"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        bidirectional: bool = False,
    ):
        super().__init__()
        self.input_size = check_positive_int(input_size, "input_size")
        self.hidden_size = check_positive_int(hidden_size, "hidden_size")
        self.num_layers = check_positive_int(num_layers, "num_layers")
        self.bias = check_bool(bias, "bias")
        self.batch_first = check_bool(batch_first, "batch_first")
        self.bidirectional = check_bool(bidirectional, "bidirectional")
        self.num_directions = 2 if bidirectional else 1
        gh = GATES[self.kind] * hidden_size
        for k in range(num_layers):
            in_k = input_size if k == 0 else self.num_directions * hidden_size
            for s in self._suffixes():
                self.register_parameter(f"weight_ih_l{k}{s}", nn.Parameter(torch.empty(gh, in_k)))
                self.register_parameter(
                    f"weight_hh_l{k}{s}", nn.Parameter(torch.empty(gh, hidden_size))
                )
                if bias:
                    self.register_parameter(f"bias_ih_l{k}{s}", nn.Parameter(torch.empty(gh)))
                    self.register_parameter(f"bias_hh_l{k}{s}", nn.Parameter(torch.empty(gh)))
        _init_uniform(self.parameters(), hidden_size)

    def _suffixes(self):
        return ("", "_reverse") if self.bidirectional else ("",)

    def layer_weights(self, k: int, reverse: bool = False):
        """``(weight_ih, weight_hh, bias_ih, bias_hh)`` of layer ``k`` (biases None if off)."""
        s = "_reverse" if reverse else ""
        get = lambda n: getattr(self, f"{n}_l{k}{s}", None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    @classmethod
    def from_torch(cls, module: nn.Module):
        """Build a layer with the same configuration and weights as ``module`` (nn.LSTM, ...)."""
        torch_cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cls.kind]
        if not isinstance(module, torch_cls):
            raise TypeError(f"module must be an {torch_cls.__name__}, got {describe(module)}")
        if getattr(module, "proj_size", 0):
            raise ValueError("module has proj_size > 0, which the from-scratch layer lacks")
        if module.dropout:
            raise ValueError(
                "module has dropout between layers, which the from-scratch layer lacks"
            )
        kwargs = {}
        if cls.kind == "rnn":
            kwargs["nonlinearity"] = module.nonlinearity
        ours = cls(
            module.input_size,
            module.hidden_size,
            module.num_layers,
            bias=module.bias,
            batch_first=module.batch_first,
            bidirectional=module.bidirectional,
            **kwargs,
        )
        first = next(module.parameters())
        ours.to(device=first.device, dtype=first.dtype)
        ours.load_state_dict(module.state_dict())
        return ours

    # -- checks
    def _prepare(self, x):
        """Check ``x``; return it as (T, B, I) and whether it was unbatched."""
        layout = (
            "(batch, seq_len, input_size)" if self.batch_first else "(seq_len, batch, input_size)"
        )
        w = self.weight_ih_l0
        x = check_tensor(x, "x", ndim=(2, 3))
        x = check_floating(x, "x", like=w)
        check_same_device("x", x, "the layer's weights", w)
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"x must have input_size={self.input_size} features in its last dimension "
                f"{layout}, but it has {x.shape[-1]} (shape {tuple(x.shape)})"
            )
        if x.ndim == 2:  # unbatched (seq_len, input_size)
            x, unbatched = x.unsqueeze(1), True
        else:
            unbatched = False
            if self.batch_first:
                x = x.transpose(0, 1)
        if x.shape[0] == 0:
            raise ValueError("x has an empty time dimension (seq_len = 0)")
        return x, unbatched  # x: (T, B, I)

    def _state(self, s, batch, unbatched, name, x):
        """Check an initial state: (L*D, B, H), or (L*D, H) for unbatched input; None: zeros."""
        LD = self.num_layers * self.num_directions
        if s is None:
            return x.new_zeros(LD, batch, self.hidden_size)
        spec = (LD, self.hidden_size) if unbatched else (LD, batch, self.hidden_size)
        s = check_floating(s, name, like=x, shape=spec)
        check_same_device("x", x, name, s)
        return s.unsqueeze(1) if unbatched else s

    def _finish(self, out, unbatched):
        if unbatched:
            return out.squeeze(1)
        return out.transpose(0, 1) if self.batch_first else out

    def _step(self, k, reverse, x_t, state):
        raise NotImplementedError

    def _run(self, x, states):
        """Unroll layer by layer. ``x``: (T, B, I); ``states``: one per (layer, direction),
        in PyTorch's order. Returns the top layer's output (T, B, D*H) and the final states."""
        finals = []
        T = x.shape[0]
        for k in range(self.num_layers):
            outputs = []
            for d, reverse in enumerate((False, True)[: self.num_directions]):
                s, outs = states[k * self.num_directions + d], []
                steps = range(T - 1, -1, -1) if reverse else range(T)
                for t in steps:  # the SAME weights at every step t
                    s = self._step(k, reverse, x[t], s)
                    outs.append(s[0] if isinstance(s, tuple) else s)
                if reverse:
                    outs.reverse()  # align with time: output t summarises x_t .. x_T
                outputs.append(torch.stack(outs))  # (T, B, H)
                finals.append(s)
            x = torch.cat(outputs, dim=-1)  # (T, B, D*H): the input of the next layer
        return x, finals


class RNN(_Layer):
    """Multi-layer Elman RNN; same parameters, inputs and outputs as ``nn.RNN``."""

    kind = "rnn"

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", **kwargs):
        super().__init__(input_size, hidden_size, num_layers, **kwargs)
        self.nonlinearity = check_choice(nonlinearity, "nonlinearity", NONLINEARITIES)

    def _step(self, k, reverse, x_t, h):
        return _rnn_step(x_t, h, *self.layer_weights(k, reverse), self.nonlinearity)

    def forward(self, x, h0=None):
        """Returns ``(output, h_n)``: output (T, B, D*H) (batch-first if set), h_n (L*D, B, H)."""
        x, unbatched = self._prepare(x)
        h0 = self._state(h0, x.shape[1], unbatched, "h0", x)
        out, finals = self._run(x, list(h0.unbind(0)))
        h_n = torch.stack(finals)
        return self._finish(out, unbatched), (h_n.squeeze(1) if unbatched else h_n)


class GRU(RNN):
    """Multi-layer GRU; same parameters, inputs and outputs as ``nn.GRU``."""

    kind = "gru"

    def __init__(self, input_size, hidden_size, num_layers=1, **kwargs):
        _Layer.__init__(self, input_size, hidden_size, num_layers, **kwargs)

    def _step(self, k, reverse, x_t, h):
        return _gru_step(x_t, h, *self.layer_weights(k, reverse))


class LSTM(_Layer):
    """Multi-layer LSTM; same parameters, inputs and outputs as ``nn.LSTM``."""

    kind = "lstm"

    def _step(self, k, reverse, x_t, state):
        return _lstm_step(x_t, *state, *self.layer_weights(k, reverse))

    def forward(self, x, state=None):
        """Returns ``(output, (h_n, c_n))``; output (T, B, D*H), h_n and c_n (L*D, B, H)."""
        x, unbatched = self._prepare(x)
        if state is None:
            h0 = c0 = None
        else:
            h0, c0 = _unpack_pair(
                state, "state", "(h0, c0), each (num_layers * num_directions, batch, hidden)"
            )
        h0 = self._state(h0, x.shape[1], unbatched, "h0", x)
        c0 = self._state(c0, x.shape[1], unbatched, "c0", x)
        out, finals = self._run(x, list(zip(h0.unbind(0), c0.unbind(0), strict=True)))
        h_n = torch.stack([h for h, _ in finals])
        c_n = torch.stack([c for _, c in finals])
        if unbatched:
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return self._finish(out, unbatched), (h_n, c_n)


# -------------------------------------------------------------------- training helpers
def clip_grad_norm(parameters, max_norm: float) -> torch.Tensor:
    """Gradient clipping by the global norm (Section 6.3, Eq. (ch06-clip)), from scratch.

    ``parameters``: a tensor or an iterable of tensors, as ``torch.nn.utils.clip_grad_norm_``
    takes. If ``||g|| > max_norm`` for the concatenation ``g`` of all gradients, every
    gradient is scaled by ``max_norm / (||g|| + 1e-6)``: the direction is kept, the step is
    bounded. Returns the norm before clipping (a 0-d tensor; no host synchronisation);
    agrees with ``torch.nn.utils.clip_grad_norm_``. An empty iterable (for instance a
    generator already consumed) is refused.
    """
    params = check_parameters(parameters, "parameters")
    max_norm = check_positive(max_norm, "max_norm")
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    total = torch.linalg.vector_norm(
        torch.stack([torch.linalg.vector_norm(g.detach()) for g in grads])
    )
    scale = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.detach().mul_(scale.to(g.device))
    return total
