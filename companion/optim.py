"""Stochastic gradient descent with momentum, from scratch (Chapter 4, "SGD and momentum").

The update is the one ``torch.optim.SGD`` implements (with ``dampening=0``), for each
parameter ``p`` with gradient ``g`` at step ``t``, eq. (ch04-momentum):

    g   <- g + weight_decay * p
    v_t  = g                      if t == 1 else   momentum * v_{t-1} + g
    d    = g + momentum * v_t     if nesterov else v_t
    p   <- p - lr * d

With ``momentum=0`` this is plain SGD, ``p <- p - lr * g`` (eq. ch04-sgd). Note the
convention: the learning rate multiplies the velocity, not the gradient inside it
(Sutskever et al., 2013 write the equivalent ``v <- mu v - lr g; p <- p + v``).
On a long slope with a constant gradient the velocity tends to ``g / (1 - momentum)``, so
the effective step is ``lr / (1 - momentum)`` (Chapter 4, eq. ch04-effective-step).

Input policy (see :mod:`companion.validation`): ``params`` is a tensor or an iterable of
floating tensors; ``lr`` finite and > 0, ``momentum`` in [0, 1), ``weight_decay`` >= 0
(NaN and infinity are refused); gradients must be tensors of their parameter's shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

from companion.validation import (
    check_bool,
    check_fraction,
    check_nonnegative,
    check_parameters,
    check_positive,
    check_tensor,
)


class SGD:
    """SGD / momentum / Nesterov on a list of tensors, checked against ``torch.optim.SGD``.

    ``step(grads)`` takes the gradients explicitly (e.g. from a hand-written backward
    pass), in the order of ``params``; ``step()`` without them uses each ``p.grad``.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ):
        self.params = check_parameters(params, "params")
        for i, p in enumerate(self.params):
            if not p.is_floating_point():
                raise TypeError(f"params[{i}] must be a floating tensor, got {p.dtype}")
        lr = check_positive(lr, "lr")
        momentum = check_fraction(momentum, "momentum")
        nesterov = check_bool(nesterov, "nesterov")
        weight_decay = check_nonnegative(weight_decay, "weight_decay")
        if nesterov and momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0")
        self.lr, self.momentum, self.nesterov = lr, momentum, nesterov
        self.weight_decay = weight_decay
        self.velocity: list[torch.Tensor | None] = [None] * len(self.params)

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor] | None = None) -> None:
        """Apply one update in place, eq. (ch04-momentum)."""
        if grads is None:
            grads = [p.grad for p in self.params]
            if any(g is None for g in grads):
                raise ValueError("a parameter has no .grad; pass grads= or call backward first")
        elif torch.is_tensor(grads) or isinstance(grads, (str, bytes)):
            raise TypeError("grads must be a list of tensors, one per parameter")
        grads = list(grads)
        if len(grads) != len(self.params):
            raise ValueError(f"got {len(grads)} grads for {len(self.params)} parameters")
        for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
            check_tensor(g, f"grads[{i}]", dtype=p.dtype)
            if g.shape != p.shape:
                raise ValueError(
                    f"grads[{i}] has shape {tuple(g.shape)}, its parameter has {tuple(p.shape)}"
                )
            d = g + self.weight_decay * p if self.weight_decay else g
            if self.momentum:
                v = self.velocity[i]
                v = d.clone() if v is None else self.momentum * v + d
                self.velocity[i] = v
                d = d + self.momentum * v if self.nesterov else v
            p.sub_(self.lr * d)


def quadratic_rates(lam_min: float, lam_max: float) -> dict[str, float]:
    """Best constant settings, and their error-reduction rate per step, on a quadratic whose
    Hessian has eigenvalues in ``[lam_min, lam_max]`` (Chapter 4, eq. ch04-rates).

    With ``kappa = lam_max / lam_min``:

    * gradient descent at its best step ``2 / (lam_min + lam_max)`` shrinks the error by
      ``(kappa - 1) / (kappa + 1)`` per step;
    * heavy-ball momentum (Polyak, 1964) in PyTorch's convention, with
      ``lr = 4 / (sqrt(lam_max) + sqrt(lam_min))^2`` and
      ``momentum = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2``, shrinks it by
      ``(sqrt(kappa) - 1) / (sqrt(kappa) + 1)`` per step (asymptotically).
    """
    lo = check_positive(lam_min, "lam_min")
    hi = check_positive(lam_max, "lam_max")
    if hi < lo:
        raise ValueError(f"lam_max must be >= lam_min, got {hi} < {lo}")
    kappa, root = hi / lo, (hi / lo) ** 0.5
    return {
        "kappa": kappa,
        "gd_lr": 2.0 / (lo + hi),
        "gd_rate": (kappa - 1.0) / (kappa + 1.0),
        "hb_lr": 4.0 / (hi**0.5 + lo**0.5) ** 2,
        "hb_momentum": ((root - 1.0) / (root + 1.0)) ** 2,
        "hb_rate": (root - 1.0) / (root + 1.0),
    }
