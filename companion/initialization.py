"""Weight initialisation for a fully connected layer (Chapter 4, "Vanishing gradients").

A layer maps ``n_in`` inputs to ``n_out`` outputs with ``W``: ``(n_out, n_in)`` (the layout
of ``torch.nn.Linear``) and ``b``: ``(n_out,)``. The schemes, eq. (ch04-init):

* ``"default"``: ``torch.nn.Linear``'s own, ``W, b ~ U(-1/sqrt(n_in), 1/sqrt(n_in))``,
  variance ``1 / (3 n_in)``;
* ``"xavier"`` (Glorot and Bengio, 2010): ``W ~ U(-a, a)`` with ``a = sqrt(6 / (n_in +
  n_out))``, variance ``2 / (n_in + n_out)``; ``b = 0``. Same as
  ``torch.nn.init.xavier_uniform_``;
* ``"he"`` (He et al., 2015): ``W ~ N(0, 2 / n_in)``, standard deviation
  ``sqrt(2 / n_in)``; ``b = 0``. Same as ``torch.nn.init.kaiming_normal_(W,
  nonlinearity="relu")`` (fan-in mode).

The draws use ``Tensor.uniform_`` / ``Tensor.normal_`` with the given generator, exactly as
``torch.nn.init`` does, so the tests compare with PyTorch entry by entry.
"""

from __future__ import annotations

import math

import torch

from companion.validation import check_choice, check_positive_int

INITS = ("default", "xavier", "he")

__all__ = ["INITS", "init_layer", "init_std"]


def init_std(n_in: int, n_out: int, scheme: str) -> float:
    """The standard deviation of ``W``'s entries under ``scheme`` (the formulas above)."""
    n_in = check_positive_int(n_in, "n_in")
    n_out = check_positive_int(n_out, "n_out")
    scheme = check_choice(scheme, "scheme", INITS)
    if scheme == "default":
        return 1.0 / math.sqrt(3 * n_in)
    if scheme == "xavier":
        return math.sqrt(2.0 / (n_in + n_out))
    return math.sqrt(2.0 / n_in)


def init_layer(
    n_in: int,
    n_out: int,
    scheme: str = "default",
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(W, b)`` for one layer: ``W`` ``(n_out, n_in)``, ``b`` ``(n_out,)``, by ``scheme``."""
    std = init_std(n_in, n_out, scheme)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator)}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    W = torch.empty(n_out, n_in, dtype=dtype)
    if scheme == "he":
        W.normal_(0.0, std, generator=generator)
        return W, torch.zeros(n_out, dtype=dtype)
    bound = math.sqrt(3.0) * std  # U(-a, a) has standard deviation a / sqrt(3)
    W.uniform_(-bound, bound, generator=generator)
    if scheme == "xavier":
        return W, torch.zeros(n_out, dtype=dtype)
    b = torch.empty(n_out, dtype=dtype).uniform_(-bound, bound, generator=generator)
    return W, b
