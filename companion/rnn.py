"""Recurrent networks from scratch: RNN, LSTM and GRU cells and layers (Chapter 6).

Every cell applies *one* set of weights at every time step (Section 6.1, Eq. (ch06-rnn)):
the weights are shared across time; the hidden state ``h_t`` is not a weight but the
value the recurrence carries forward. The parameter layout is PyTorch's, so a layer here
and ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` loaded with the same ``state_dict`` compute the
same outputs and gradients (``tests/test_rnn.py`` proves it):

* ``weight_ih_l{k}`` ``(G*H, I_k)``, ``weight_hh_l{k}`` ``(G*H, H)``, ``bias_ih_l{k}`` and
  ``bias_hh_l{k}`` ``(G*H,)``, with ``G`` = 1 (RNN), 4 (LSTM, gate order i, f, g, o) or
  3 (GRU, gate order r, z, n); ``I_0`` is the input size, ``I_k = H`` for ``k >= 1``.

Shapes: ``x`` is ``(T, B, I)`` (or ``(B, T, I)`` with ``batch_first=True``, or ``(T, I)``
unbatched); states are ``(num_layers, B, H)``. The fused path is ``torch.nn.LSTM`` & co.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

from companion.parameters import count_parameters  # noqa: F401 - re-exported for the chapter

GATES = {"rnn": 1, "lstm": 4, "gru": 3}


# --------------------------------------------------------------------------- the cells
def rnn_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity: str = "tanh"):
    """Elman step, Eq. (ch06-rnn): ``h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``.

    ``x``: (B, I); ``h``: (B, H); returns (B, H).
    """
    pre = x @ w_ih.T + h @ w_hh.T
    if b_ih is not None:
        pre = pre + b_ih + b_hh
    if nonlinearity == "tanh":
        return torch.tanh(pre)
    if nonlinearity == "relu":
        return torch.relu(pre)
    raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")


def lstm_cell(x, state, w_ih, w_hh, b_ih=None, b_hh=None):
    """LSTM step, Eqs. (ch06-lstm-gates)-(ch06-lstm-h); gates in PyTorch's order i, f, g, o.

    ``x``: (B, I); ``state = (h, c)``, each (B, H); returns ``(h_t, c_t)``, each (B, H).
    Every gate reads the *current* input ``x_t`` and the *previous* hidden state ``h_{t-1}``.
    """
    h, c = state
    pre = x @ w_ih.T + h @ w_hh.T  # (B, 4H)
    if b_ih is not None:
        pre = pre + b_ih + b_hh
    i, f, g, o = pre.chunk(4, dim=1)
    i, f, o = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o)  # input, forget, output gate
    g = torch.tanh(g)  # cell candidate
    c_new = f * c + i * g  # the cell state: an additive path through time
    h_new = o * torch.tanh(c_new)
    return h_new, c_new


def gru_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """GRU step, Eq. (ch06-gru); gates in PyTorch's order r, z, n.

    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`` (the reset gate multiplies the whole
    recurrent term, bias included) and ``h_t = (1 - z) * n + z * h_{t-1}``.
    ``x``: (B, I); ``h``: (B, H); returns (B, H).
    """
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


# ------------------------------------------------------------------------ shape checks
def _check_tensor(name: str, t, shape: tuple, meaning: str) -> None:
    if not torch.is_tensor(t):
        raise TypeError(f"{name} must be a torch.Tensor of shape {meaning}, got {type(t).__name__}")
    if tuple(t.shape) != tuple(shape):
        raise ValueError(
            f"{name} should have shape {meaning} = {tuple(shape)}, but it has {tuple(t.shape)}"
        )


def _init_uniform(params: Iterable[nn.Parameter], hidden_size: int) -> None:
    """PyTorch's default: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H))."""
    bound = 1.0 / math.sqrt(hidden_size)
    for p in params:
        nn.init.uniform_(p, -bound, bound)


class _Cell(nn.Module):
    kind = "rnn"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
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

    def _check(self, x, h):
        if not torch.is_tensor(x) or x.ndim != 2 or x.shape[1] != self.input_size:
            got = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
            raise ValueError(
                f"{type(self).__name__} expects x of shape (batch, input_size="
                f"{self.input_size}), got {got}"
            )
        if h is None:
            return x.new_zeros(x.shape[0], self.hidden_size)
        _check_tensor("h", h, (x.shape[0], self.hidden_size), "(batch, hidden_size)")
        return h

    def _weights(self):
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh


class RNNCell(_Cell):
    """One Elman step; the same parameters as ``nn.RNNCell`` (tanh or relu)."""

    kind = "rnn"

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh"):
        super().__init__(input_size, hidden_size, bias)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity

    def forward(self, x, h=None):
        """``x``: (B, I); ``h``: (B, H) or None (zeros); returns (B, H)."""
        h = self._check(x, h)
        return rnn_cell(x, h, *self._weights(), nonlinearity=self.nonlinearity)


class LSTMCell(_Cell):
    """One LSTM step; the same parameters as ``nn.LSTMCell``."""

    kind = "lstm"

    def forward(self, x, state=None):
        """``x``: (B, I); ``state``: ``(h, c)`` each (B, H), or None; returns ``(h, c)``."""
        if state is None:
            h = self._check(x, None)
            state = (h, torch.zeros_like(h))
        else:
            if not isinstance(state, (tuple, list)) or len(state) != 2:
                raise TypeError("LSTMCell state must be a pair (h, c), each (batch, hidden_size)")
            self._check(x, state[0])
            self._check(x, state[1])
        return lstm_cell(x, tuple(state), *self._weights())


class GRUCell(_Cell):
    """One GRU step; the same parameters as ``nn.GRUCell``."""

    kind = "gru"

    def forward(self, x, h=None):
        """``x``: (B, I); ``h``: (B, H) or None (zeros); returns (B, H)."""
        h = self._check(x, h)
        return gru_cell(x, h, *self._weights())


# ------------------------------------------------------------------------------ layers
class _Layer(nn.Module):
    """A stack of ``num_layers`` recurrent layers unrolled over time (BPTT by autograd)."""

    kind = "rnn"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
    ):
        super().__init__()
        for name, v in (
            ("input_size", input_size),
            ("hidden_size", hidden_size),
            ("num_layers", num_layers),
        ):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bias, batch_first
        gh = GATES[self.kind] * hidden_size
        for k in range(num_layers):
            in_k = input_size if k == 0 else hidden_size
            self.register_parameter(f"weight_ih_l{k}", nn.Parameter(torch.empty(gh, in_k)))
            self.register_parameter(f"weight_hh_l{k}", nn.Parameter(torch.empty(gh, hidden_size)))
            if bias:
                self.register_parameter(f"bias_ih_l{k}", nn.Parameter(torch.empty(gh)))
                self.register_parameter(f"bias_hh_l{k}", nn.Parameter(torch.empty(gh)))
        _init_uniform(self.parameters(), hidden_size)

    def layer_weights(self, k: int):
        """``(weight_ih, weight_hh, bias_ih, bias_hh)`` of layer ``k`` (biases None if off)."""
        get = lambda n: getattr(self, f"{n}_l{k}", None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    @classmethod
    def from_torch(cls, module: nn.Module):
        """Build a layer with the same configuration and weights as ``module`` (nn.LSTM, ...)."""
        torch_cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cls.kind]
        if not isinstance(module, torch_cls):
            raise TypeError(f"{cls.__name__}.from_torch expects an {torch_cls.__name__}")
        if module.bidirectional or getattr(module, "proj_size", 0):
            raise ValueError("bidirectional layers and proj_size > 0 are not covered here")
        if module.dropout:
            raise ValueError("dropout between layers is not implemented in the from-scratch layer")
        kwargs = {}
        if cls.kind == "rnn":
            kwargs["nonlinearity"] = module.nonlinearity
        ours = cls(
            module.input_size,
            module.hidden_size,
            module.num_layers,
            bias=module.bias,
            batch_first=module.batch_first,
            **kwargs,
        )
        first = next(module.parameters())
        ours.to(device=first.device, dtype=first.dtype)
        ours.load_state_dict(module.state_dict())
        return ours

    # -- shape checks
    def _prepare(self, x):
        layout = (
            "(batch, seq_len, input_size)" if self.batch_first else "(seq_len, batch, input_size)"
        )
        if not torch.is_tensor(x):
            raise TypeError(f"x must be a tensor of shape {layout}, got {type(x).__name__}")
        given = tuple(x.shape)
        if x.ndim == 2:  # unbatched (seq_len, input_size)
            x, unbatched = x.unsqueeze(1), True
        elif x.ndim == 3:
            unbatched = False
            if self.batch_first:
                x = x.transpose(0, 1)
        else:
            raise ValueError(f"x should be 3-D {layout} (or 2-D unbatched), got {tuple(x.shape)}")
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"x should have input_size={self.input_size} features in its last dimension "
                f"{layout}, but it has {x.shape[-1]} (shape {given})"
            )
        if x.shape[0] == 0:
            raise ValueError("x has an empty time dimension (seq_len = 0)")
        return x, unbatched  # x: (T, B, I)

    def _state(self, s, batch, unbatched, name, x):
        shape = (self.num_layers, batch, self.hidden_size)
        if s is None:
            return x.new_zeros(shape)
        if unbatched:
            _check_tensor(name, s, (self.num_layers, self.hidden_size), "(num_layers, hidden_size)")
            return s.unsqueeze(1)
        _check_tensor(name, s, shape, "(num_layers, batch, hidden_size)")
        return s

    def _finish(self, out, unbatched):
        if unbatched:
            return out.squeeze(1)
        return out.transpose(0, 1) if self.batch_first else out

    def _step(self, k, x_t, state):
        raise NotImplementedError

    def _run(self, x, states):
        """Unroll layer by layer. ``x``: (T, B, I); ``states``: one per layer. Out: (T, B, H)."""
        finals = []
        for k in range(self.num_layers):
            s, outs = states[k], []
            for t in range(x.shape[0]):  # the SAME weights at every step t
                s = self._step(k, x[t], s)
                outs.append(s[0] if isinstance(s, tuple) else s)
            x = torch.stack(outs)
            finals.append(s)
        return x, finals


class RNN(_Layer):
    """Multi-layer Elman RNN; same parameters, inputs and outputs as ``nn.RNN``."""

    kind = "rnn"

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", **kwargs):
        super().__init__(input_size, hidden_size, num_layers, **kwargs)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity

    def _step(self, k, x_t, h):
        return rnn_cell(x_t, h, *self.layer_weights(k), nonlinearity=self.nonlinearity)

    def forward(self, x, h0=None):
        """Returns ``(output, h_n)``: output (T, B, H) (batch-first if set), h_n (L, B, H)."""
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

    def _step(self, k, x_t, h):
        return gru_cell(x_t, h, *self.layer_weights(k))


class LSTM(_Layer):
    """Multi-layer LSTM; same parameters, inputs and outputs as ``nn.LSTM``."""

    kind = "lstm"

    def _step(self, k, x_t, state):
        return lstm_cell(x_t, state, *self.layer_weights(k))

    def forward(self, x, state=None):
        """Returns ``(output, (h_n, c_n))``; output (T, B, H), h_n and c_n (L, B, H)."""
        x, unbatched = self._prepare(x)
        if state is None:
            h0 = c0 = None
        elif isinstance(state, (tuple, list)) and len(state) == 2:
            h0, c0 = state
        else:
            raise TypeError("LSTM state must be a pair (h0, c0), each (num_layers, batch, hidden)")
        h0 = self._state(h0, x.shape[1], unbatched, "h0", x)
        c0 = self._state(c0, x.shape[1], unbatched, "c0", x)
        out, finals = self._run(x, list(zip(h0.unbind(0), c0.unbind(0), strict=True)))
        h_n = torch.stack([h for h, _ in finals])
        c_n = torch.stack([c for _, c in finals])
        if unbatched:
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return self._finish(out, unbatched), (h_n, c_n)


# -------------------------------------------------------------------- training helpers
def clip_grad_norm(parameters: Iterable[torch.Tensor], max_norm: float) -> torch.Tensor:
    """Gradient clipping by the global norm (Section 6.3, Eq. (ch06-clip)), from scratch.

    If ``||g|| > max_norm`` for the concatenation ``g`` of all gradients, every gradient is
    scaled by ``max_norm / (||g|| + 1e-6)``: the direction is kept, the step is bounded.
    Returns the norm before clipping; agrees with ``torch.nn.utils.clip_grad_norm_``.
    """
    if not (isinstance(max_norm, (int, float)) and max_norm > 0):
        raise ValueError(f"max_norm must be a positive number, got {max_norm!r}")
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    total = torch.sqrt(sum((g.detach() ** 2).sum() for g in grads))
    scale = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.detach().mul_(scale)
    return total
