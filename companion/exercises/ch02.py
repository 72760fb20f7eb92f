"""Answer checks for Chapter 2's exercises (core concepts).

Each check calls the student's *function* on inputs the student does not choose and compares
it with a reference the check computes itself from PyTorch primitives (``nn.Linear`` on the
``meta`` device, autograd, float64 arithmetic). A function that merely calls the helper the
chapter demonstrated (``mlp_parameter_count``, ``compose_linear``, ``activation_derivative``,
``torch.softmax``) is refused: the exercise is to implement it.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import torch
from torch import nn

from companion.exercises import CheckFailed, Passed, as_integer, expect_close, passed

_FORBIDDEN = {
    "mlp_parameter_count",
    "count_parameters",
    "count_on_meta",
    "numel",
    "parameters",
    "MLP",
    "compose_linear",
    "activation_derivative",
    "softmax",
    "log_softmax",
    "grad",
    "backward",
    "autograd",
    "jacobian",
    "Linear",
    "sigmoid_backward",
    "tanh_backward",
}


def _require_function(fn, what: str, allowed: frozenset[str] = frozenset()) -> Callable:
    if not callable(fn):
        raise CheckFailed(f"{what} should be a function, got {type(fn).__name__}")
    code = getattr(fn, "__code__", None)
    used = (set(code.co_names) & _FORBIDDEN) - allowed if code is not None else set()
    if used:
        raise CheckFailed(
            f"{what} uses {', '.join(sorted(used))}: the exercise is to implement it from the "
            "formula in the chapter"
        )
    return fn


def _as_float_tensor(value, what: str) -> torch.Tensor:
    if not torch.is_tensor(value):
        raise CheckFailed(f"{what} should return a tensor, got {type(value).__name__}")
    return value.detach().double()


# --- ch02-softmax ----------------------------------------------------------------------------


def check_softmax(softmax) -> Passed:
    """``softmax(z)`` for ``z`` of shape ``(n, K)``: the softmax of each row (Eq. ch02-softmax),
    finite even for logits in the thousands."""
    fn = _require_function(softmax, "softmax")
    g = torch.Generator().manual_seed(2)
    cases = [
        torch.randn(4, 3, generator=g),
        5 * torch.randn(6, 10, generator=g),
        torch.tensor([[1000.0, 1001.0, 999.0], [-1000.0, -1002.0, -999.0]]),
    ]
    for z in cases:
        ref = z.double().exp() if z.abs().max() < 50 else None
        shifted = (z.double() - z.double().max(dim=1, keepdim=True).values).exp()
        want = shifted / shifted.sum(dim=1, keepdim=True)  # (n, K), rows sum to 1
        got = _as_float_tensor(fn(z.clone()), "softmax(z)")
        if got.shape != want.shape:
            raise CheckFailed(
                f"softmax(z) for z of shape {tuple(z.shape)} returned shape "
                f"{tuple(got.shape)}; it must keep the shape"
            )
        if not torch.isfinite(got).all():
            raise CheckFailed(
                "softmax(z) returned NaN or infinity for large logits: exp(1000) overflows. "
                "Subtract each row's maximum first; softmax does not change when a constant "
                "is added to every logit of a row"
            )
        if ref is not None:
            by_column = ref / ref.sum(dim=0, keepdim=True)
            if z.shape[0] > 1 and torch.allclose(got, by_column, atol=1e-6):
                raise CheckFailed(
                    "each column sums to 1: normalise over the classes (dim=1), one row per example"
                )
            if torch.allclose(got, z.double() / z.double().sum(dim=1, keepdim=True), atol=1e-6):
                raise CheckFailed("you divided the logits by their sum: exponentiate first")
        expect_close(
            got,
            want,
            "softmax(z)",
            rtol=1e-5,
            atol=1e-6,
            hint="exp(z_k - max z) / sum_j exp(z_j - max z), row by row",
        )
    return passed("your softmax matches the reference, also for logits of ±1000.")


# --- ch02-count ------------------------------------------------------------------------------


def _mlp_reference(widths: tuple[int, ...]) -> int:
    with torch.device("meta"):
        layers = [nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)]
    return sum(p.numel() for layer in layers for p in layer.parameters())


def check_count_mlp(count_mlp) -> Passed:
    """``count_mlp(widths)``: weights + biases of an MLP with layer widths ``widths``, on
    random widths, against ``nn.Linear`` layers built on the meta device."""
    fn = _require_function(count_mlp, "count_mlp")
    rng = random.Random(3)
    cases = [(64, 128, 64, 10), (5, 1)]
    cases += [tuple(rng.randint(1, 300) for _ in range(rng.randint(2, 6))) for _ in range(8)]
    for widths in cases:
        want = _mlp_reference(widths)
        got = as_integer(fn(widths), f"count_mlp({widths})")
        if got == want:
            continue
        weights = sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))
        if got == weights:
            raise CheckFailed(
                f"count_mlp({widths}) = {got:,} counts the weights only; every "
                "layer also has one bias per output unit"
            )
        if got == want - widths[-1]:
            raise CheckFailed(f"count_mlp({widths}) = {got:,} leaves out the output layer's biases")
        if got == weights + sum(widths[:-1]):
            raise CheckFailed(
                f"count_mlp({widths}) = {got:,}: a layer has one bias per "
                "*output* unit, not per input"
            )
        raise CheckFailed(
            f"count_mlp({widths}) returned {got:,}, expected {want:,} "
            f"({got - want:+,}). Hint: sum over layers of d_in*d_out + d_out"
        )
    return passed(
        f"your count matches nn.Linear on {len(cases)} networks; (64, 128, 64, 10) "
        f"has {_mlp_reference((64, 128, 64, 10)):,} parameters."
    )


# --- ch02-collapse ---------------------------------------------------------------------------


def _affine_of(layers: list[nn.Linear]) -> tuple[torch.Tensor, torch.Tensor]:
    """The affine map of a stack, read off by evaluating it: b = f(0), W = f(I) - f(0)."""
    d_in = layers[0].in_features
    with torch.no_grad():
        x = torch.cat([torch.zeros(1, d_in), torch.eye(d_in)]).double()
        for layer in layers:
            x = nn.functional.linear(
                x, layer.weight.double(), None if layer.bias is None else layer.bias.double()
            )
    b = x[0]  # (d_out,)
    return (x[1:] - b).T, b  # W: (d_out, d_in)


def check_collapse(collapse) -> Passed:
    """``collapse(layers)`` returns ``(W, b)`` with ``stack(x) == x @ W.T + b`` for a list of
    ``nn.Linear`` layers applied first to last (Eq. ch02-collapse)."""
    fn = _require_function(collapse, "collapse")
    torch.manual_seed(4)
    stacks = [
        [nn.Linear(3, 4), nn.Linear(4, 2)],
        [nn.Linear(3, 3), nn.Linear(3, 3)],
        [nn.Linear(5, 7), nn.Linear(7, 2, bias=False), nn.Linear(2, 6)],
        [nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 1)],
        [nn.Linear(6, 2)],
    ]
    for layers in stacks:
        shapes = " -> ".join(str(layer.in_features) for layer in layers)
        shapes += f" -> {layers[-1].out_features}"
        result = fn(list(layers))
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise CheckFailed(f"collapse should return a pair (W, b), got {type(result).__name__}")
        W, b = (_as_float_tensor(t, "collapse(layers)") for t in result)
        W_true, b_true = _affine_of(layers)
        if W.shape == W_true.shape[::-1] and W.shape != W_true.shape:
            raise CheckFailed(
                f"W has shape {tuple(W.shape)}, the transpose of what nn.Linear "
                f"expects {tuple(W_true.shape)} = (d_out, d_in)"
            )
        if W.shape != W_true.shape or b.shape != b_true.shape:
            raise CheckFailed(
                f"for the stack {shapes}, W should have shape {tuple(W_true.shape)} "
                f"and b {tuple(b_true.shape)}; got {tuple(W.shape)} and "
                f"{tuple(b.shape)}"
            )
        weights = [layer.weight.detach().double() for layer in layers]
        if len(layers) == 2 and weights[0].shape == weights[1].shape:
            if torch.allclose(W, weights[0] @ weights[1], atol=1e-6) and not torch.allclose(
                W, W_true, atol=1e-6
            ):
                raise CheckFailed(
                    "W multiplies the weights in the wrong order: the layer "
                    "applied first stands on the right, W = W2 @ W1"
                )
        expect_close(W, W_true, f"W of the stack {shapes}", atol=1e-6, hint="W = W_L ... W_2 W_1")
        last = layers[-1].bias
        if len(layers) > 1 and last is not None and torch.allclose(b, last.detach().double()):
            raise CheckFailed(
                "b is only the last layer's bias; the earlier biases pass through "
                "the later weights too"
            )
        expect_close(
            b,
            b_true,
            f"b of the stack {shapes}",
            atol=1e-6,
            hint="b = W2 @ b1 + b2 for two layers; a layer without bias adds nothing",
        )
    return passed(f"collapse is right on {len(stacks)} stacks, with and without biases.")


# --- ch02-derivative -------------------------------------------------------------------------


_ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh}
_HINTS = {
    "sigmoid": "sigmoid'(z) = s(1 - s) with s = sigmoid(z)",
    "tanh": "tanh'(z) = 1 - tanh(z)^2",
}


def check_activation_derivative(derivative, name: str) -> Passed:
    """``derivative(z)``: the closed-form derivative of activation ``name`` ("sigmoid" or
    "tanh") at every entry of ``z``, compared with autograd on points the student does not
    choose."""
    if name not in _ACTIVATIONS:
        raise ValueError(f"name must be one of {sorted(_ACTIVATIONS)}, got {name!r}")
    fn = _require_function(
        derivative, f"the derivative of {name}", allowed=frozenset({"sigmoid", "tanh"})
    )
    f = _ACTIVATIONS[name]
    z = torch.cat([torch.tensor([-2.0, 0.0, 2.0]), torch.linspace(-6, 6, 25)]).double()
    z.requires_grad_(True)
    (want,) = torch.autograd.grad(f(z).sum(), z)
    z = z.detach()
    got = _as_float_tensor(fn(z.clone()), f"the derivative of {name}")
    if got.shape != z.shape:
        raise CheckFailed(
            f"the derivative of {name} should have the shape of z, {tuple(z.shape)}, "
            f"got {tuple(got.shape)}"
        )
    if torch.allclose(got, f(z), atol=1e-6):
        raise CheckFailed(f"these are the values of {name}(z), not of its derivative")
    if name == "sigmoid" and torch.allclose(got, 1 - f(z) ** 2, atol=1e-6):
        raise CheckFailed("1 - sigmoid(z)^2 is tanh's rule; for the sigmoid it is s(1 - s)")
    if name == "tanh" and torch.allclose(got, f(z) * (1 - f(z)), atol=1e-6):
        raise CheckFailed("s(1 - s) is the sigmoid's rule; for tanh it is 1 - tanh(z)^2")
    expect_close(got, want, f"the derivative of {name}", atol=1e-6, hint=_HINTS[name])
    return passed(
        f"your derivative of {name} matches autograd at {z.numel()} points; at 0 it "
        f"is {want[1].item():.2f}."
    )
