"""Batch normalisation and layer normalisation from scratch (Chapter 8, §8.6).

Batch norm (Ioffe and Szegedy, 2015) normalises every *feature* over the batch; layer norm
(Ba et al., 2016) normalises every *row* over its features. For ``x``: ``(n, d)``,
eq. (ch08-batchnorm):

    training:  mu = mean_batch(x), var = mean_batch((x - mu)^2)            (biased, /n)
               y = gamma (x - mu) / sqrt(var + eps) + beta
               running_mean <- (1 - m) running_mean + m mu
               running_var  <- (1 - m) running_var + m var * n / (n - 1)   (unbiased)
    evaluation: the same with mu, var replaced by running_mean, running_var

exactly as ``torch.nn.BatchNorm1d`` (``momentum`` m = 0.1 by default). Layer norm uses the
statistics of each row over its last dimension(s), in training and evaluation alike, and
keeps no running statistics (eq. ch08-layernorm), as ``torch.nn.LayerNorm``.

Input policy (:mod:`companion.validation`): ``x`` floating, with the module's dtype (float64
into a float32 module is refused, not cast), shape ``(n, d)`` for batch norm (``n >= 2`` in
training: the variance of one row is undefined), ``(..., *normalized_shape)`` for layer
norm; ``eps`` > 0, ``momentum`` in (0, 1].
"""

from __future__ import annotations

import torch
from torch import nn

from companion.validation import (
    check_bool,
    check_floating,
    check_positive,
    check_positive_int,
    check_real,
    check_tensor,
)

__all__ = ["BatchNorm1d", "LayerNorm"]


class BatchNorm1d(nn.Module):
    """Batch normalisation over the batch dimension of ``(n, num_features)`` inputs."""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = True,
        dtype: torch.dtype = torch.float32,
    ):
        super().__init__()
        self.num_features = check_positive_int(num_features, "num_features")
        self.eps = check_positive(eps, "eps")
        self.momentum = check_real(momentum, "momentum", low=0.0, high=1.0, low_open=True)
        self.affine = check_bool(affine, "affine")
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
        d = self.num_features
        if self.affine:
            self.weight = nn.Parameter(torch.ones(d, dtype=dtype))  # gamma
            self.bias = nn.Parameter(torch.zeros(d, dtype=dtype))  # beta
        self.register_buffer("running_mean", torch.zeros(d, dtype=dtype))
        self.register_buffer("running_var", torch.ones(d, dtype=dtype))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor(x, "x", ndim=2, dtype="float", shape=("n", self.num_features))
        check_floating(x, "x", like=self.running_mean)
        if self.training:
            n = x.shape[0]
            if n < 2:
                raise ValueError(
                    "x must have at least 2 rows in training mode (the batch variance of one "
                    f"row is undefined), got shape {tuple(x.shape)}; call .eval() for one row"
                )
            mu = x.mean(0)  # (d,)
            var = ((x - mu) ** 2).mean(0)  # (d,) biased: the batch is normalised with /n
            with torch.no_grad():
                m = self.momentum
                self.running_mean.mul_(1 - m).add_(m * mu)
                self.running_var.mul_(1 - m).add_(m * var * n / (n - 1))  # unbiased
                self.num_batches_tracked += 1
        else:
            mu, var = self.running_mean, self.running_var
        y = (x - mu) / torch.sqrt(var + self.eps)
        return y * self.weight + self.bias if self.affine else y

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class LayerNorm(nn.Module):
    """Layer normalisation over the last ``len(normalized_shape)`` dimensions."""

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        dtype: torch.dtype = torch.float32,
    ):
        super().__init__()
        if isinstance(normalized_shape, bool) or not isinstance(
            normalized_shape, (int, tuple, list)
        ):
            raise TypeError(
                f"normalized_shape must be an int or a tuple of ints, got {normalized_shape!r}"
            )
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        self.normalized_shape = tuple(check_positive_int(s, "normalized_shape") for s in shape)
        if not self.normalized_shape:
            raise ValueError("normalized_shape must name at least one dimension")
        self.eps = check_positive(eps, "eps")
        self.elementwise_affine = check_bool(elementwise_affine, "elementwise_affine")
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
        if self.elementwise_affine:
            self.weight = nn.Parameter(torch.ones(self.normalized_shape, dtype=dtype))
            self.bias = nn.Parameter(torch.zeros(self.normalized_shape, dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = len(self.normalized_shape)
        check_tensor(x, "x", dtype="float")
        if x.ndim < k or tuple(x.shape[-k:]) != self.normalized_shape:
            raise ValueError(
                f"x must end in the normalized shape {self.normalized_shape}, got shape "
                f"{tuple(x.shape)}"
            )
        if self.elementwise_affine:  # the weights' dtype, which follows .double() / .half()
            check_floating(x, "x", like=self.weight)
        dims = tuple(range(-k, 0))
        mu = x.mean(dims, keepdim=True)
        var = ((x - mu) ** 2).mean(dims, keepdim=True)  # biased, in train and eval alike
        y = (x - mu) / torch.sqrt(var + self.eps)
        return y * self.weight + self.bias if self.elementwise_affine else y
