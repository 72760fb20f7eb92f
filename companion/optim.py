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
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch


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
        self.params = list(params)
        if not self.params or not all(torch.is_tensor(p) for p in self.params):
            raise TypeError("params must be a non-empty iterable of tensors")
        if lr <= 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if nesterov and momentum == 0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
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
        if len(grads) != len(self.params):
            raise ValueError(f"got {len(grads)} gradients for {len(self.params)} parameters")
        for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
            if g.shape != p.shape:
                raise ValueError(
                    f"gradient {i} has shape {tuple(g.shape)}, parameter has {tuple(p.shape)}"
                )
            d = g + self.weight_decay * p if self.weight_decay else g
            if self.momentum:
                v = self.velocity[i]
                v = d.clone() if v is None else self.momentum * v + d
                self.velocity[i] = v
                d = d + self.momentum * v if self.nesterov else v
            p.sub_(self.lr * d)
