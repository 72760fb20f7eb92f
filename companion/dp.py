"""Differentially private SGD from scratch (Chapter 14, §14.4; Abadi et al., 2016).

One DP-SGD step on a batch of :math:`B` examples (eq. ch14-dpsgd):

1. :func:`per_example_gradients`: the gradient :math:`g_i` of each example's loss, computed
   with ``torch.func`` (``vmap`` over ``grad``), as a dict ``name -> (B, *param.shape)``;
2. :func:`clip_per_example`: each :math:`g_i` scaled to norm at most :math:`C`,
   :math:`\\bar g_i = g_i \\min(1, C / (\\|g_i\\| + 10^{-6}))`, the norm taken over *all*
   parameters together (Opacus' formula, including its :math:`10^{-6}`);
3. :func:`dp_sgd_gradient`:
   :math:`\\tilde g = (\\sum_i \\bar g_i + \\mathcal N(0, \\sigma^2 C^2 I)) / B`, the noise
   drawn parameter by parameter, in the order of ``model.named_parameters()``, with
   ``torch.normal`` and the given generator (so that a fixed seed reproduces Opacus' noise).

:func:`train_dp_sgd` repeats this with Poisson sampling (each row joins a batch with
probability :math:`q`), which the privacy analysis assumes. :func:`rdp_epsilon` is the
accountant: the Rényi DP of the sampled Gaussian mechanism at integer orders
(Mironov et al., 2019), summed over steps and converted to :math:`(\\varepsilon, \\delta)`
with Balle et al. (2020), Theorem 21 - the same formulas as Opacus' ``RDPAccountant``.

Arguments are checked with :mod:`companion.validation`: tensors are not converted silently,
float64 data for a float32 model are refused rather than cast, labels must be integer class
indices, and clipping norms, noise multipliers, rates and deltas must be finite and in range.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap

from companion.interpretability import check_model_and_input
from companion.validation import (
    check_fraction,
    check_index_tensor,
    check_int,
    check_nonnegative,
    check_positive,
    check_positive_int,
    check_real,
    describe,
)

__all__ = [
    "per_example_gradients",
    "clip_per_example",
    "dp_sgd_gradient",
    "train_dp_sgd",
    "rdp_sampled_gaussian",
    "rdp_epsilon",
]


def _check_batch(model, x, y) -> tuple[torch.Tensor, torch.Tensor]:
    x = check_model_and_input(model, x)
    y = check_index_tensor(y, "y")
    if y.shape != x.shape[:1]:
        raise ValueError(f"y must have shape ({x.shape[0]},), one label per row of x, got "
                         f"{tuple(y.shape)}")  # fmt: skip
    return x, y


def per_example_gradients(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: Callable = F.cross_entropy
) -> dict[str, torch.Tensor]:
    """The gradient of each example's loss: ``{name: (B, *param.shape)}`` for every parameter
    that requires a gradient. ``loss_fn(logits, labels)`` is called on a batch of one."""
    x, y = _check_batch(model, x, y)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be a function such as F.cross_entropy, got "
                        f"{describe(loss_fn)}")  # fmt: skip
    params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def one_loss(p, xi, yi):
        out = functional_call(model, (p, buffers), (xi[None],))
        return loss_fn(out, yi[None])

    return vmap(grad(one_loss), in_dims=(None, 0, 0))(params, x, y)


def _check_max_norm(max_norm) -> float:
    """A clipping norm > 0; ``math.inf`` (no clipping) is allowed as well."""
    if isinstance(max_norm, float) and max_norm == math.inf:
        return max_norm
    return check_positive(max_norm, "max_norm")


def clip_per_example(
    grads: dict[str, torch.Tensor], max_norm: float
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Scale each example's whole gradient to norm at most ``max_norm``.

    Returns the clipped gradients (same dict layout) and the norms before clipping, ``(B,)``.
    ``max_norm=math.inf`` clips nothing.
    """
    if not isinstance(grads, dict) or not grads:
        raise TypeError(f"grads must be a non-empty dict name -> (B, ...) tensor, as returned "
                        f"by per_example_gradients, got {describe(grads)}")  # fmt: skip
    max_norm = _check_max_norm(max_norm)
    sizes = {len(g) for g in grads.values()}
    if len(sizes) != 1:
        raise ValueError(f"grads must all have the same batch size, got sizes {sorted(sizes)}")
    norms = torch.stack([g.flatten(1).norm(dim=1) for g in grads.values()], 1).norm(dim=1)
    factor = (max_norm / (norms + 1e-6)).clamp(max=1.0)  # (B,)
    clipped = {k: g * factor.view(-1, *[1] * (g.ndim - 1)) for k, g in grads.items()}
    return clipped, norms


def dp_sgd_gradient(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    max_norm: float,
    noise_multiplier: float,
    loss_fn: Callable = F.cross_entropy,
    generator: torch.Generator | None = None,
    expected_batch_size: int | None = None,
) -> dict[str, torch.Tensor]:
    """The noised, clipped mean gradient of eq. (ch14-dpsgd): ``{name: param.shape}``.

    The sum is divided by ``expected_batch_size`` (default: the actual ``len(x)``); with
    Poisson sampling it must be the *expected* size :math:`qN`, or the batch size itself
    would leak through the scale.
    """
    noise_multiplier = check_nonnegative(noise_multiplier, "noise_multiplier")
    if _check_max_norm(max_norm) == math.inf and noise_multiplier > 0:
        raise ValueError(
            "max_norm must be finite when noise_multiplier > 0: the noise scale "
            "is noise_multiplier * max_norm"
        )
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be None or a torch.Generator, got {describe(generator)}")
    denom = len(x) if expected_batch_size is None else check_positive_int(
        expected_batch_size, "expected_batch_size")  # fmt: skip
    clipped, _ = clip_per_example(per_example_gradients(model, x, y, loss_fn), max_norm)
    out = {}
    for name, g in clipped.items():
        total = g.sum(0)
        if noise_multiplier > 0:
            total = total + torch.normal(0.0, noise_multiplier * max_norm, size=total.shape,
                                         generator=generator, device=total.device)  # fmt: skip
        out[name] = total / denom
    return out


def train_dp_sgd(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    sample_rate: float,
    lr: float,
    max_norm: float,
    noise_multiplier: float,
    loss_fn: Callable = F.cross_entropy,
    seed: int = 0,
) -> int:
    """Train ``model`` in place with DP-SGD (plain SGD steps with :func:`dp_sgd_gradient`).

    Each of the ``epochs * round(1 / sample_rate)`` steps draws a Poisson batch (every row with
    probability ``sample_rate``). Returns the number of steps, which the accountant needs.
    ``noise_multiplier=0`` and ``max_norm=inf`` is ordinary SGD on Poisson batches.
    """
    X, y = _check_batch(model, X, y)
    epochs = check_positive_int(epochs, "epochs")
    sample_rate = check_real(sample_rate, "sample_rate", low=0.0, high=1.0, low_open=True)
    lr = check_positive(lr, "lr")
    seed = check_int(seed, "seed", min=0)
    gen = torch.Generator().manual_seed(seed)
    noise_gen = torch.Generator(device=X.device).manual_seed(seed + 1)
    steps = epochs * max(1, round(1 / sample_rate))
    expected = max(1, round(sample_rate * len(X)))
    params = dict(model.named_parameters())
    for _ in range(steps):
        rows = torch.nonzero(torch.rand(len(X), generator=gen) < sample_rate).squeeze(1)
        if len(rows) == 0:  # an empty Poisson batch: only noise, which we skip entirely
            continue
        rows = rows.to(X.device)
        g = dp_sgd_gradient(model, X[rows], y[rows], max_norm, noise_multiplier, loss_fn,
                            noise_gen, expected)  # fmt: skip
        with torch.no_grad():
            for name, step in g.items():
                params[name].sub_(lr * step)
    return steps


def rdp_sampled_gaussian(
    sample_rate: float, noise_multiplier: float, steps: int, orders: Iterable[int]
) -> np.ndarray:
    """Rényi DP of ``steps`` compositions of the sampled Gaussian mechanism, per integer order.

    For an integer order :math:`\\alpha \\ge 2` one step costs
    :math:`\\frac{1}{\\alpha-1}\\log \\sum_{k=0}^{\\alpha} \\binom{\\alpha}{k} (1-q)^{\\alpha-k} q^k
    e^{(k^2-k)/(2\\sigma^2)}` (Mironov et al., 2019, Sec. 3.3); steps add up.
    """
    q = check_real(sample_rate, "sample_rate", low=0.0, high=1.0)
    sigma = check_positive(noise_multiplier, "noise_multiplier")
    steps = check_int(steps, "steps", min=0)
    orders = _check_orders(orders)
    out = []
    for a in orders:
        if q == 0:
            out.append(0.0)
            continue
        if q == 1:
            out.append(steps * a / (2 * sigma**2))
            continue
        k = np.arange(a + 1)
        log_binom = np.array([math.lgamma(a + 1) - math.lgamma(j + 1) - math.lgamma(a - j + 1)
                              for j in k])  # fmt: skip
        terms = (
            log_binom + (a - k) * math.log1p(-q) + k * math.log(q) + (k * k - k) / (2 * sigma**2)
        )
        log_a = np.logaddexp.reduce(terms)
        out.append(steps * log_a / (a - 1))
    return np.array(out)


def _check_orders(orders) -> list[int]:
    if isinstance(orders, (str, bytes)) or not isinstance(orders, Iterable):
        raise TypeError(f"orders must be a list of integers >= 2, got {describe(orders)}")
    orders = [check_int(a, "orders", min=2) for a in orders]
    if not orders:
        raise ValueError("orders must not be empty")
    return orders


def rdp_epsilon(
    sample_rate: float,
    noise_multiplier: float,
    steps: int,
    delta: float,
    orders: Iterable[int] = range(2, 256),
) -> tuple[float, int]:
    """The :math:`\\varepsilon` of :math:`(\\varepsilon, \\delta)`-DP after ``steps`` DP-SGD
    steps, and the order that gives it: the minimum over orders of
    :math:`\\mathrm{RDP}_\\alpha + \\log\\frac{\\alpha-1}{\\alpha}
    - \\frac{\\log\\delta + \\log\\alpha}{\\alpha-1}` (Balle et al., 2020, Thm. 21)."""
    delta = check_fraction(delta, "delta")
    if delta == 0:
        raise ValueError("delta must be > 0 (with delta = 0 the Gaussian mechanism has eps = inf)")
    orders = _check_orders(orders)
    rdp = rdp_sampled_gaussian(sample_rate, noise_multiplier, steps, orders)
    a = np.array(orders, dtype=np.float64)
    eps = rdp - (math.log(delta) + np.log(a)) / (a - 1) + np.log((a - 1) / a)
    best = int(np.nanargmin(eps))
    return float(eps[best]), orders[best]
