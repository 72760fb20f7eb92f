"""From-scratch versus fused: the companion's teaching implementations against PyTorch's kernels.

Each comparison builds one set of inputs, checks that both implementations give the same
answer on them (a ratio between two different computations would mean nothing), and times the
forward pass and the backward pass separately with :func:`companion.benchmark.timing.paired_ratio`:

* convolution: im2col with a hand-written backward (:func:`companion.cnn.conv2d`, Chapter 5)
  vs ``F.conv2d``;
* LSTM: the companion's unrolled layer (:class:`companion.rnn.LSTM`, Chapter 6) vs ``nn.LSTM``
  with the same weights;
* attention: the explicit softmax(QKᵀ/√d)V
  (:func:`companion.attention.scaled_dot_product_attention`, Chapter 7) vs
  ``F.scaled_dot_product_attention``, causal; and the companion's own fused path
  (``attention(fused=True)``), which should be at parity (ratio about 1);
* Adam: one optimiser step of the companion's :class:`companion.adaptive_optim.Adam`
  (Chapter 8: a loop over parameters, a few tensor operations each) vs ``torch.optim.Adam``
  (its default implementation: ``foreach`` on a GPU, which batches every parameter into a few
  kernel launches), on the same parameters and gradients (pass ``"step"``).

The companion is called only through the small adapters below (``_companion_*``), so a renamed
function breaks one line here. Ratios are scratch time / fused time: above 1, the fused kernel is
faster. They hold for this machine, these shapes and this torch build only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from companion.benchmark.timing import paired_ratio

# Comparisons not measured yet: none (the schema keeps the list for future ones).
PENDING: list[dict] = []


# ------------------------------------------------------------------ adapters (public API only)
def _companion_conv2d(x, w, b, padding):
    from companion.cnn import conv2d

    return conv2d(x, w, b, padding=padding)


def _companion_lstm_from(reference: nn.LSTM) -> nn.Module:
    from companion.rnn import LSTM

    return LSTM.from_torch(reference)


def _companion_attention(q, k, v):
    from companion.attention import scaled_dot_product_attention

    return scaled_dot_product_attention(q, k, v, is_causal=True)[0]


def _companion_adam(params, lr):
    from companion.adaptive_optim import Adam

    return Adam(params, lr=lr)


def _companion_attention_fused(q, k, v):
    from companion.attention import attention

    return attention(q, k, v, is_causal=True, fused=True)[0]


# ---------------------------------------------------------------------------- comparisons
@dataclass
class Case:
    """One comparison: two forward functions of the same leaf tensors."""

    name: str
    shape: str
    scratch: Callable[[], torch.Tensor]
    fused: Callable[[], torch.Tensor]
    leaves: list[torch.Tensor]
    atol: float = 1e-4
    rtol: float = 1e-4


def conv_case(device, batch=32, channels=16, size=32, out_channels=32, kernel=3) -> Case:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, channels, size, size, generator=g).to(device).requires_grad_()
    w = (0.1 * torch.randn(out_channels, channels, kernel, kernel, generator=g)).to(device)
    b = torch.randn(out_channels, generator=g).to(device)
    w.requires_grad_()
    b.requires_grad_()
    pad = kernel // 2
    return Case(
        "conv2d: im2col (companion.cnn) / F.conv2d",
        f"x {tuple(x.shape)}, w {tuple(w.shape)}, padding {pad}",
        lambda: _companion_conv2d(x, w, b, pad),
        lambda: F.conv2d(x, w, b, padding=pad),
        [x, w, b],
    )


def lstm_case(device, seq=64, batch=32, inputs=32, hidden=64) -> Case:
    torch.manual_seed(0)
    reference = nn.LSTM(inputs, hidden).to(device)
    ours = _companion_lstm_from(reference).to(device)
    x = torch.randn(seq, batch, inputs, device=device).requires_grad_()
    return Case(
        "LSTM: unrolled (companion.rnn) / nn.LSTM",
        f"x (T, B, I) = {tuple(x.shape)}, hidden {hidden}",
        lambda: ours(x)[0],
        lambda: reference(x)[0],
        [x, *ours.parameters(), *reference.parameters()],
    )


def attention_case(device, batch=8, heads=4, seq=256, width=32) -> Case:
    g = torch.Generator().manual_seed(0)
    q, k, v = (
        torch.randn(batch, heads, seq, width, generator=g).to(device).requires_grad_()
        for _ in range(3)
    )
    return Case(
        "attention: explicit (companion.attention) / F.scaled_dot_product_attention",
        f"q, k, v (B, H, T, D) = {tuple(q.shape)}, causal",
        lambda: _companion_attention(q, k, v),
        lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        [q, k, v],
    )


def attention_fused_case(device, batch=8, heads=4, seq=256, width=32) -> Case:
    case = attention_case(device, batch, heads, seq, width)
    q, k, v = case.leaves
    case.name = "attention: companion fused path / F.scaled_dot_product_attention"
    case.scratch = lambda: _companion_attention_fused(q, k, v)
    return case


CASES = (conv_case, lstm_case, attention_case, attention_fused_case)


def _zero_grads(leaves):
    for t in leaves:
        t.grad = None


def check_agreement(case: Case) -> float:
    """Both implementations give the same output and input gradients; return the max |diff|."""
    out_s, out_f = case.scratch(), case.fused()
    torch.testing.assert_close(out_s, out_f, atol=case.atol, rtol=case.rtol)
    grad = torch.randn_like(out_f)
    inputs = [case.leaves[0]]
    g_s = torch.autograd.grad(out_s, inputs, grad)
    g_f = torch.autograd.grad(out_f, inputs, grad)
    torch.testing.assert_close(g_s, g_f, atol=case.atol, rtol=case.rtol)
    return float((out_s - out_f).detach().abs().max())


def measure(case: Case, device, repeats: int = 7, warmup: int = 2) -> list[dict]:
    """Forward and backward ratios of one case (two rows)."""
    diff = check_agreement(case)
    rows = []

    def forward(fn):
        return (lambda _: fn(), None)

    def backward(fn):
        def prepare():
            _zero_grads(case.leaves)
            out = fn()
            return out, torch.ones_like(out)

        return (lambda state: state[0].backward(state[1]), prepare)

    for pass_name, wrap in (("forward", forward), ("backward", backward)):
        timing = paired_ratio(wrap(case.scratch), wrap(case.fused), repeats, warmup, device)
        rows.append(
            {
                "name": case.name,
                "pass": pass_name,
                "shape": case.shape,
                "device": str(device),
                "max_abs_diff": diff,
                **timing,
            }
        )
    return rows


def _mlp_like_parameters(device, sizes, seed):
    """Weights and biases of an MLP with these layer sizes, with fixed random gradients."""
    g = torch.Generator().manual_seed(seed)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=False):
        for shape in ((n_out, n_in), (n_out,)):
            p = torch.randn(*shape, generator=g).to(device).requires_grad_()
            p.grad = torch.randn(*shape, generator=g).to(device)
            params.append(p)
    return params


def adam_rows(device, repeats: int = 7, warmup: int = 2, sizes=(784, 512, 512, 10)) -> list[dict]:
    """One Adam step, companion vs torch.optim.Adam: checked equal over 3 steps, then timed."""
    lr = 1e-3
    ours_p = _mlp_like_parameters(device, sizes, seed=0)
    ref_p = _mlp_like_parameters(device, sizes, seed=0)
    ours, ref = _companion_adam(ours_p, lr), torch.optim.Adam(ref_p, lr=lr)
    for _ in range(3):  # the same three steps from the same start: the same parameters
        ours.step()
        ref.step()
    for a, b in zip(ours_p, ref_p, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    diff = max(float((a - b).detach().abs().max()) for a, b in zip(ours_p, ref_p, strict=True))
    timing = paired_ratio(
        (lambda _: ours.step(), None), (lambda _: ref.step(), None), repeats, warmup, device
    )
    n = sum(p.numel() for p in ours_p)
    return [
        {
            "name": "Adam step: companion.adaptive_optim / torch.optim.Adam",
            "pass": "step",
            "shape": f"{len(ours_p)} tensors, {n:,} parameters (MLP {'-'.join(map(str, sizes))})",
            "device": str(device),
            "max_abs_diff": diff,
            **timing,
        }
    ]


def run_all(device="cpu", repeats: int = 7, warmup: int = 2, cases=CASES, adam=True) -> list[dict]:
    device = torch.device(device)
    rows = []
    for make in cases:
        rows += measure(make(device), device, repeats, warmup)
    if adam:
        rows += adam_rows(device, repeats, warmup)
    return rows
