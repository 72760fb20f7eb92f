"""Adaptive optimisers from scratch: AdaGrad, RMSProp, Adam, AdamW (Chapter 8, §8.3).

Each class is a ``torch.optim.Optimizer`` so that it plugs into :func:`companion.train.fit`
and the learning-rate schedulers, but its ``step`` spells out the update in a few lines of
tensor arithmetic (no call to ``torch.optim``'s kernels). The formulas are PyTorch's, so the
tests compare every parameter with ``torch.optim`` step for step. For a parameter ``p`` with
gradient ``g`` at step ``t = 1, 2, ...`` (all operations entrywise):

* AdaGrad (Duchi et al., 2011), eq. (ch08-adagrad)::

      g <- g + wd p;  s <- s + g^2;  p <- p - lr g / (sqrt(s) + eps)

* RMSProp (Tieleman and Hinton, 2012), eq. (ch08-rmsprop)::

      g <- g + wd p;  v <- alpha v + (1 - alpha) g^2;  p <- p - lr g / (sqrt(v) + eps)

  (``momentum > 0``: ``b <- momentum b + g / (sqrt(v) + eps)``, ``p <- p - lr b``).
* Adam (Kingma and Ba, 2015), eq. (ch08-adam)::

      g <- g + wd p                         # L2 penalty folded into the gradient
      m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
      m_hat = m / (1 - b1^t);  v_hat = v / (1 - b2^t)      # bias correction
      p <- p - lr m_hat / (sqrt(v_hat) + eps)

  ``bias_correction=False`` drops the two divisions (for the demonstration of §8.3 only;
  ``torch.optim.Adam`` always corrects).
* AdamW (Loshchilov and Hutter, 2019), eq. (ch08-adamw): decoupled weight decay,
  ``p <- p (1 - lr wd)`` first, then the Adam step on the *raw* gradient. With an adaptive
  denominator this is not the same as Adam with an L2 penalty (§8.5).

Input policy (see :mod:`companion.validation`): ``params`` as for ``torch.optim`` (floating
tensors or parameter groups); ``lr`` finite and > 0; ``eps`` > 0; ``weight_decay`` >= 0;
``alpha``, ``momentum``, ``beta1``, ``beta2`` in [0, 1); NaN/inf refused; a wrong kind is a
``TypeError``, a wrong value a ``ValueError``, each naming the argument. Sparse gradients
are refused.
"""

from __future__ import annotations

import math

import torch

from companion.validation import (
    check_bool,
    check_fraction,
    check_nonnegative,
    check_parameters,
    check_positive,
    describe,
)

__all__ = ["AdaGrad", "Adam", "AdamW", "RMSProp"]


def _check_params(params) -> list:
    """Accept what ``torch.optim`` accepts (tensors or dicts of groups), checked."""
    if isinstance(params, torch.Tensor):
        raise TypeError(
            "params must be an iterable of tensors such as model.parameters(), got a single "
            "tensor; wrap it in a list: [p]"
        )
    if params is None or isinstance(params, (str, bytes)):
        raise TypeError(f"params must be an iterable of tensors, got {describe(params)}")
    items = list(params)
    if not items:
        raise ValueError("params is empty: the optimiser would have nothing to update")
    if all(isinstance(item, dict) for item in items):
        for k, group in enumerate(items):
            if "params" not in group:
                raise ValueError(f"params group {k} has no 'params' entry")
            group_params = group["params"]
            if isinstance(group_params, torch.Tensor):
                group_params = [group_params]
            for p in check_parameters(list(group_params), f"params (group {k})"):
                if not p.is_floating_point():
                    raise TypeError(f"params (group {k}) must be floating tensors, got {p.dtype}")
        return items
    for i, p in enumerate(check_parameters(items, "params")):
        if not p.is_floating_point():
            raise TypeError(f"params[{i}] must be a floating tensor, got {p.dtype}")
    return items


def _check_betas(betas) -> tuple[float, float]:
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2) such as (0.9, 0.999), got "
                        f"{describe(betas)}")  # fmt: skip
    return check_fraction(betas[0], "betas[0] (beta1)"), check_fraction(
        betas[1], "betas[1] (beta2)"
    )


def _grad(p: torch.Tensor) -> torch.Tensor:
    if p.grad.is_sparse:
        raise ValueError("sparse gradients are not supported; use dense parameters")
    return p.grad


class _PerParameterOptimizer(torch.optim.Optimizer):
    """The loop every optimiser below shares: evaluate the closure, then, for each parameter
    with a gradient, call :meth:`update` with its gradient, its state dict and its group.
    Subclasses write only the update rule."""

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self.update(p, _grad(p), self.state[p], group)
        return loss

    def update(self, p: torch.Tensor, g: torch.Tensor, state: dict, group: dict) -> None:
        raise NotImplementedError


class AdaGrad(_PerParameterOptimizer):
    """AdaGrad, eq. (ch08-adagrad); equal to ``torch.optim.Adagrad`` (``lr_decay=0``)."""

    def __init__(self, params, lr: float = 1e-2, eps: float = 1e-10, weight_decay: float = 0.0):
        defaults = dict(
            lr=check_positive(lr, "lr"),
            eps=check_positive(eps, "eps"),
            weight_decay=check_nonnegative(weight_decay, "weight_decay"),
        )
        super().__init__(_check_params(params), defaults)

    def update(self, p, g, state, group):
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        if not state:
            state["sum"] = torch.zeros_like(p)
        state["sum"] += g * g
        p -= group["lr"] * g / (state["sum"].sqrt() + group["eps"])


class RMSProp(_PerParameterOptimizer):
    """RMSProp, eq. (ch08-rmsprop); equal to ``torch.optim.RMSprop`` (optionally with
    ``momentum`` and ``centered``)."""

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ):
        defaults = dict(
            lr=check_positive(lr, "lr"),
            alpha=check_fraction(alpha, "alpha"),
            eps=check_positive(eps, "eps"),
            weight_decay=check_nonnegative(weight_decay, "weight_decay"),
            momentum=check_fraction(momentum, "momentum"),
            centered=check_bool(centered, "centered"),
        )
        super().__init__(_check_params(params), defaults)

    def update(self, p, g, state, group):
        alpha = group["alpha"]
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        if not state:
            state["square_avg"] = torch.zeros_like(p)
            state["grad_avg"] = torch.zeros_like(p)
            state["buf"] = torch.zeros_like(p)
        v = state["square_avg"]
        v.mul_(alpha).add_((1 - alpha) * g * g)
        if group["centered"]:  # variance instead of the raw second moment
            state["grad_avg"].mul_(alpha).add_((1 - alpha) * g)
            denom = (v - state["grad_avg"] ** 2).sqrt() + group["eps"]
        else:
            denom = v.sqrt() + group["eps"]
        if group["momentum"]:
            state["buf"].mul_(group["momentum"]).add_(g / denom)
            p -= group["lr"] * state["buf"]
        else:
            p -= group["lr"] * g / denom


class Adam(_PerParameterOptimizer):
    """Adam with an L2 penalty in the gradient, eq. (ch08-adam); equal to
    ``torch.optim.Adam``. ``decoupled=True`` is AdamW (use the :class:`AdamW` subclass)."""

    _decoupled = False

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        bias_correction: bool = True,
    ):
        defaults = dict(
            lr=check_positive(lr, "lr"),
            betas=_check_betas(betas),
            eps=check_positive(eps, "eps"),
            weight_decay=check_nonnegative(weight_decay, "weight_decay"),
            bias_correction=check_bool(bias_correction, "bias_correction"),
        )
        super().__init__(_check_params(params), defaults)

    def update(self, p, g, state, group):
        beta1, beta2 = group["betas"]
        lr, wd = group["lr"], group["weight_decay"]
        if wd and self._decoupled:
            p.mul_(1 - lr * wd)  # AdamW: shrink the weights, outside the moments
        elif wd:
            g = g + wd * p  # Adam + L2: the penalty's gradient enters the moments
        if not state:
            state["step"] = 0
            state["m"] = torch.zeros_like(p)
            state["v"] = torch.zeros_like(p)
        state["step"] += 1
        t, m, v = state["step"], state["m"], state["v"]
        m.mul_(beta1).add_((1 - beta1) * g)
        v.mul_(beta2).add_((1 - beta2) * g * g)
        if group["bias_correction"]:
            c1, c2 = 1 - beta1**t, 1 - beta2**t
        else:
            c1 = c2 = 1.0
        # m_hat / (sqrt(v_hat) + eps), written as PyTorch orders the operations
        denom = v.sqrt() / math.sqrt(c2) + group["eps"]
        p -= (lr / c1) * m / denom


class AdamW(Adam):
    """AdamW: decoupled weight decay, eq. (ch08-adamw); equal to ``torch.optim.AdamW``
    (whose default ``weight_decay`` is 0.01, as here)."""

    _decoupled = True

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        bias_correction: bool = True,
    ):
        super().__init__(params, lr, betas, eps, weight_decay, bias_correction)
