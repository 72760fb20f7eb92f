"""Why did the model say that? Gradient attributions and attention maps (Chapter 14, §14.1).

* :func:`saliency`: the size of the gradient of one class score with respect to each input
  entry, :math:`|\\partial f_c / \\partial x_i|` (Simonyan et al., 2014); equal to Captum's
  ``Saliency``.
* :func:`integrated_gradients`: the path integral of eq. (ch14-ig),
  :math:`(x_i - x'_i)\\int_0^1 \\partial_i f_c(x' + \\alpha(x - x'))\\,d\\alpha`
  (Sundararajan et al., 2017), approximated by a quadrature rule with ``steps`` points; equal
  to Captum's ``IntegratedGradients`` with the same rule. :func:`completeness_gap` measures
  how far the attributions are from their defining property, eq. (ch14-completeness):
  they sum to :math:`f_c(x) - f_c(x')`.
* :func:`attention_rollout`: attention maps of the layers of a Transformer combined into one
  token-to-token map (Abnar and Zuidema, 2020). Attention weights say where a head *looked*,
  not what the output depended on (Jain and Wallace, 2019): §14.1 shows the difference.

Shapes: ``x`` is a batch ``(N, ...)`` of inputs of the model's dtype; the model maps it to
``(N, C)`` scores; ``target`` is one class for all rows or an ``(N,)`` integer tensor.
Attributions have the shape of ``x``. The model is evaluated in evaluation mode (dropout off,
batch norm with running statistics) and its previous mode is restored, so that each row's
attribution depends on that row only.

Arguments are checked with :mod:`companion.validation`: tensors are not converted silently
(a NumPy array or a list is a ``TypeError`` saying how to convert it), float64 data for a
float32 model are refused rather than cast, and integer images are refused rather than used
as floats.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from companion.validation import (
    check_choice,
    check_floating,
    check_index_tensor,
    check_int,
    check_positive_int,
    check_tensor,
    describe,
)

__all__ = [
    "saliency",
    "integrated_gradients",
    "completeness_gap",
    "quadrature",
    "attention_rollout",
    "METHODS",
]

METHODS = ("gausslegendre", "riemann_trapezoid", "riemann_middle", "riemann_left", "riemann_right")


@contextmanager
def evaluation_mode(model: nn.Module):
    """Run the block with ``model.eval()``, then restore the previous mode."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def check_model_and_input(model, x, name: str = "x") -> torch.Tensor:
    """``model`` an ``nn.Module`` with parameters; ``x`` a floating ``(N, ...)`` batch of the
    parameters' dtype. Returns ``x``. Shared by :mod:`companion.adversarial`."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {describe(model)}")
    first = next(model.parameters(), None)
    x = check_floating(x, name, like=first)
    if x.ndim < 2:
        raise ValueError(
            f"{name} must be a batch (N, ...) with N first, got shape {tuple(x.shape)} "
            f"(a single input? add a batch axis with {name}[None])"
        )
    if first is not None and x.device != first.device:
        raise ValueError(f"{name} is on {x.device} but the model is on {first.device}")
    return x


def check_target(target, n: int, num_classes: int, name: str = "target") -> torch.Tensor:
    """One class (an int) for every row, or an ``(n,)`` integer tensor; returns ``(n,)`` int64."""
    if torch.is_tensor(target):
        t = check_index_tensor(target, name, num_classes)
        if t.ndim == 0:
            return t.long().expand(n)
        if t.shape != (n,):
            raise ValueError(f"{name} must have shape ({n},), one class per row, got "
                             f"{tuple(t.shape)}")  # fmt: skip
        return t.long()
    c = check_int(target, name, min=0, max=num_classes - 1)
    return torch.full((n,), c, dtype=torch.long)


def _scores(model: nn.Module, x: torch.Tensor, target, name: str = "target"):
    """The target class score of each row, ``(N,)``, and the checked ``(N,)`` targets."""
    out = model(x)
    if out.ndim != 2 or out.shape[0] != x.shape[0]:
        raise ValueError(f"model must map (N, ...) to (N, C) scores, got output shape "
                         f"{tuple(out.shape)}")  # fmt: skip
    t = check_target(target, x.shape[0], out.shape[1], name).to(out.device)
    return out.gather(1, t[:, None]).squeeze(1), t


def _gradient(model: nn.Module, x: torch.Tensor, target) -> tuple[torch.Tensor, torch.Tensor]:
    """d f_target / d x for each row (rows are independent in evaluation mode)."""
    x = x.detach().requires_grad_(True)
    score, _ = _scores(model, x, target)
    (grad,) = torch.autograd.grad(score.sum(), x)
    return grad, score.detach()


def saliency(model: nn.Module, x: torch.Tensor, target, absolute: bool = True) -> torch.Tensor:
    """Gradient of the target score with respect to the input, ``(N, ...)`` like ``x``.

    ``absolute=True`` returns its size :math:`|\\partial f_c/\\partial x|`, as Captum's
    ``Saliency`` does by default; ``False`` keeps the sign.
    """
    x = check_model_and_input(model, x)
    if not isinstance(absolute, bool):
        raise TypeError(f"absolute must be True or False, got {describe(absolute)}")
    with evaluation_mode(model):
        grad, _ = _gradient(model, x, target)
    return grad.abs() if absolute else grad


def quadrature(steps: int, method: str = "gausslegendre") -> tuple[torch.Tensor, torch.Tensor]:
    """Points ``alphas`` in [0, 1] and weights (summing to 1) of a rule for
    :math:`\\int_0^1 g(\\alpha)\\,d\\alpha \\approx \\sum_k w_k\\, g(\\alpha_k)`;
    both float64 ``(steps,)``.

    ``gausslegendre`` (Captum's default) is exact for polynomials of degree < 2 ``steps``;
    the Riemann rules are the left, right and midpoint sums and the trapezoid rule. (Captum
    0.9's ``riemann_trapezoid`` weights the same nodes by ``1/n`` with halved ends, which
    sum to ``(n-1)/n``: its attributions are ours times ``(n-1)/n``; the other rules agree.)
    """
    steps = check_positive_int(steps, "steps")
    method = check_choice(method, "method", METHODS)
    n = steps
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n)  # on [-1, 1]
        return torch.from_numpy(0.5 * (nodes + 1)), torch.from_numpy(0.5 * weights)
    if method == "riemann_trapezoid":
        if n < 2:
            raise ValueError(f"steps must be at least 2 for the trapezoid rule, got {n}")
        w = torch.full((n,), 1.0 / (n - 1), dtype=torch.float64)
        w[0] = w[-1] = 0.5 / (n - 1)
        return torch.linspace(0, 1, n, dtype=torch.float64), w
    offset = {"riemann_left": 0.0, "riemann_right": 1.0, "riemann_middle": 0.5}[method]
    alphas = (torch.arange(n, dtype=torch.float64) + offset) / n
    return alphas, torch.full((n,), 1.0 / n, dtype=torch.float64)


def _baseline(baseline, x: torch.Tensor) -> torch.Tensor:
    """``None`` (zeros), a number, or a tensor of ``x``'s shape or of one row's shape."""
    if baseline is None:
        return torch.zeros_like(x)
    if isinstance(baseline, bool) or not (
        isinstance(baseline, (int, float)) or torch.is_tensor(baseline)
    ):
        hint = "; convert it with torch.as_tensor(...)" if hasattr(baseline, "__array__") else ""
        raise TypeError(f"baseline must be None, a number or a tensor, got {describe(baseline)}"
                        f"{hint}")  # fmt: skip
    if not torch.is_tensor(baseline):
        return torch.full_like(x, float(baseline))
    b = check_floating(baseline, "baseline", like=x)
    if b.shape == x.shape[1:]:
        b = b.expand_as(x)
    if b.shape != x.shape:
        raise ValueError(
            f"baseline must have the shape of x {tuple(x.shape)} or of one row "
            f"{tuple(x.shape[1:])}, got {tuple(b.shape)}"
        )
    return b.to(x.device)


def integrated_gradients(
    model: nn.Module,
    x: torch.Tensor,
    target,
    baseline=None,
    steps: int = 50,
    method: str = "gausslegendre",
    batch_size: int = 512,
) -> torch.Tensor:
    """Integrated gradients (eq. ch14-ig) of the target score, ``(N, ...)`` like ``x``.

    The gradient is evaluated at ``baseline + alpha_k (x - baseline)`` for the ``steps``
    points of :func:`quadrature`, at most ``batch_size`` inputs per forward pass; the
    weighted average of those gradients times ``x - baseline`` is the attribution. The
    baseline defaults to all zeros (a black image).
    """
    x = check_model_and_input(model, x)
    base = _baseline(baseline, x)
    batch_size = check_positive_int(batch_size, "batch_size")
    alphas, weights = quadrature(steps, method)
    n = x.shape[0]
    diff = x - base
    with evaluation_mode(model):
        with torch.no_grad():
            num_classes = model(x[:1]).shape[-1]
        targets = check_target(target, n, num_classes).to(x.device)
        # all (point, row) pairs in one long batch: (steps * N, ...)
        path = base[None] + alphas.to(x)[:, None].view(-1, *[1] * x.ndim) * diff[None]
        path = path.reshape(-1, *x.shape[1:])
        tgt = targets.repeat(len(alphas))
        grads = torch.cat(
            [
                _gradient(model, path[i : i + batch_size], tgt[i : i + batch_size])[0]
                for i in range(0, len(path), batch_size)
            ]
        ).view(len(alphas), *x.shape)
    avg = (weights.to(x)[:, None].view(-1, *[1] * x.ndim) * grads).sum(0)
    return diff * avg


def completeness_gap(
    model: nn.Module, x: torch.Tensor, attributions: torch.Tensor, target, baseline=None
) -> torch.Tensor:
    """Per row, sum of attributions minus :math:`f_c(x) - f_c(x')` (eq. ch14-completeness).

    Zero for exact integrated gradients; the quadrature error shrinks as ``steps`` grows.
    Returns ``(N,)``.
    """
    x = check_model_and_input(model, x)
    a = check_floating(attributions, "attributions", like=x)
    if a.shape != x.shape:
        raise ValueError(f"attributions must have the shape of x {tuple(x.shape)}, got "
                         f"{tuple(a.shape)}")  # fmt: skip
    base = _baseline(baseline, x)
    with evaluation_mode(model), torch.no_grad():
        fx, _ = _scores(model, x, target)
        fb, _ = _scores(model, base, target)
    return a.flatten(1).sum(1) - (fx - fb)


def attention_rollout(maps: Sequence[torch.Tensor], residual: bool = True) -> torch.Tensor:
    """Combine per-layer attention maps into one ``(B, T, T)`` map (Abnar and Zuidema, 2020).

    ``maps``: a list of ``(B, H, T, T)`` attention weights, first layer first (as returned by
    ``companion.transformer.GPT.attention_maps``). Each layer's map is averaged over heads;
    with ``residual=True`` the skip connection is counted as ``0.5 A + 0.5 I`` (rows
    renormalised); the layers are multiplied, last layer on the left:
    :math:`R = \\tilde A_L \\cdots \\tilde A_1`. Row ``t`` of ``R`` is how much each input
    position flows into position ``t`` under that (strong) linear assumption.
    """
    if isinstance(maps, torch.Tensor) or not isinstance(maps, (list, tuple)) or not maps:
        raise TypeError(f"maps must be a non-empty list of (B, H, T, T) tensors, one per "
                        f"layer, got {describe(maps)}")  # fmt: skip
    if not isinstance(residual, bool):
        raise TypeError(f"residual must be True or False, got {describe(residual)}")
    sizes: dict[str, int] = {}
    rollout = None
    for i, a in enumerate(maps):
        a = check_tensor(a, f"maps[{i}]", ndim=4, dtype="float", shape=("B", "H", "T", "T"),
                         sizes=sizes)  # fmt: skip
        if (a < 0).any() or not torch.allclose(a.sum(-1), torch.ones_like(a[..., 0]), atol=1e-4):
            raise ValueError(f"maps[{i}] must hold attention weights: non-negative rows that "
                             "sum to 1 (softmax outputs)")  # fmt: skip
        layer = a.mean(1)  # (B, T, T)
        if residual:
            eye = torch.eye(layer.shape[-1], dtype=layer.dtype, device=layer.device)
            layer = 0.5 * layer + 0.5 * eye
            layer = layer / layer.sum(-1, keepdim=True)
        rollout = layer if rollout is None else layer @ rollout
    return rollout
