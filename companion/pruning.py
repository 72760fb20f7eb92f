"""Pruning from scratch: unstructured magnitude masks and structured channel masks (Section 10.1).

* :func:`magnitude_mask` zeroes the ``round(amount * n)`` entries of smallest absolute value
  (eq. ch10-magnitude); it gives the same mask as ``torch.nn.utils.prune.l1_unstructured``.
* :func:`global_magnitude_masks` ranks the entries of several tensors together, as
  ``prune.global_unstructured(..., pruning_method=prune.L1Unstructured)`` does.
* :func:`channel_mask` keeps the output channels (slices along ``dim``) of largest L\\ :sub:`n`
  norm, as ``prune.ln_structured`` does.
* :func:`slim_lenet` turns channel masks of a :class:`companion.cnn.LeNet` into a physically
  smaller LeNet: structured pruning is the kind that shrinks the dense computation.
* :func:`sparsity` and :func:`csr_bytes` measure what a mask did to the count and the storage.

Ties between equal magnitudes are broken by position (a stable sort); PyTorch's ``topk``
may break them differently, so the masks agree for weights without ties (any trained or
randomly initialised float weights). Inputs are checked with :mod:`companion.validation`:
tensors are not converted silently, ``amount`` is a fraction in [0, 1] (a float) or a count
of entries (an int), and nothing is cast.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence

import torch
from torch import nn

from companion.cnn import LeNet
from companion.validation import (
    check_int,
    check_real,
    check_tensor,
    describe,
)

__all__ = [
    "amount_to_count",
    "magnitude_mask",
    "global_magnitude_masks",
    "channel_mask",
    "apply_mask_",
    "apply_channel_mask_",
    "sparsity",
    "csr_bytes",
    "slim_lenet",
]


def amount_to_count(amount, total: int, name: str = "amount") -> int:
    """How many of ``total`` items to prune: a float in [0, 1] is a fraction (rounded as
    Python's ``round``, like PyTorch), an int is a count in [0, total]."""
    if isinstance(amount, bool):
        raise TypeError(f"{name} must be a fraction (float) or a count (int), got bool {amount!r}")
    if isinstance(amount, numbers.Integral):
        return check_int(amount, name, min=0, max=total)
    frac = check_real(amount, name, low=0.0, high=1.0)
    return round(frac * total)


def _check_weight(weight, name: str = "weight") -> torch.Tensor:
    t = check_tensor(weight, name, dtype="float")
    if t.numel() == 0:
        raise ValueError(f"{name} is empty, got shape {tuple(t.shape)}")
    return t


def magnitude_mask(weight: torch.Tensor, amount) -> torch.Tensor:
    """A 0/1 mask (same shape and dtype as ``weight``) that zeroes the ``k`` entries of smallest
    ``|w|``, ``k = round(amount * weight.numel())`` (eq. ch10-magnitude)."""
    w = _check_weight(weight)
    k = amount_to_count(amount, w.numel())
    mask = torch.ones_like(w)
    if k:
        order = torch.argsort(w.detach().abs().flatten(), stable=True)  # smallest first
        mask.view(-1)[order[:k]] = 0
    return mask


def global_magnitude_masks(weights: Iterable[torch.Tensor], amount) -> list[torch.Tensor]:
    """Masks for several tensors ranked *together*: the ``round(amount * N)`` smallest ``|w|``
    of all ``N`` entries are zeroed, wherever they are (layers lose different fractions)."""
    if torch.is_tensor(weights) or not isinstance(weights, Iterable):
        raise TypeError(f"weights must be a list of tensors, got {describe(weights)}")
    ws = [_check_weight(w, f"weights[{i}]") for i, w in enumerate(weights)]
    if not ws:
        raise ValueError("weights is empty")
    flat = torch.cat([w.detach().abs().flatten() for w in ws])
    joint = magnitude_mask(flat, amount_to_count(amount, flat.numel()))
    return [m.view_as(w) for m, w in zip(joint.split([w.numel() for w in ws]), ws, strict=True)]


def channel_mask(weight: torch.Tensor, amount, n: float = 2, dim: int = 0) -> torch.Tensor:
    """Keep the slices along ``dim`` (output channels for ``dim=0``) of largest L_n norm,
    computed over all other axes; zero ``round(amount * weight.shape[dim])`` of them."""
    w = _check_weight(weight)
    if w.ndim < 2:
        raise ValueError(f"weight must have at least 2 dimensions for channel pruning, got "
                         f"shape {tuple(w.shape)}")  # fmt: skip
    dim = check_int(dim, "dim", min=-w.ndim, max=w.ndim - 1) % w.ndim
    n = check_real(n, "n", low=0.0, low_open=True)
    k = amount_to_count(amount, w.shape[dim])
    other = [d for d in range(w.ndim) if d != dim]
    norms = w.detach().abs().pow(n).sum(dim=other).pow(1 / n)  # (channels,)
    drop = torch.argsort(norms, stable=True)[:k]
    mask = torch.ones_like(w)
    mask.index_fill_(dim, drop, 0)
    return mask


def apply_mask_(module: nn.Module, mask: torch.Tensor, name: str = "weight") -> None:
    """Multiply ``module.<name>`` by ``mask`` in place (a one-shot prune, no reparametrisation;
    a later optimiser step may regrow the zeros unless the mask is applied again)."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be an nn.Module, got {describe(module)}")
    param = getattr(module, name, None)
    if not isinstance(param, torch.Tensor):
        raise ValueError(f"module has no tensor called {name!r}")
    check_tensor(mask, "mask", dtype="float", shape=tuple(param.shape))
    with torch.no_grad():
        param.mul_(mask.to(param.dtype))


def apply_channel_mask_(conv: nn.Module, mask: torch.Tensor) -> None:
    """Prune whole output channels of ``conv`` in place: its weight times ``mask`` (from
    :func:`channel_mask` with ``dim=0``) and the bias of every pruned channel set to zero,
    so that a pruned channel outputs exactly zero (a kept bias would still feed the next layer)."""
    apply_mask_(conv, mask)
    bias = getattr(conv, "bias", None)
    if bias is not None:
        alive = (mask.flatten(1).abs().sum(1) > 0).to(bias.dtype)
        with torch.no_grad():
            bias.mul_(alive)


def sparsity(tensors: torch.Tensor | Iterable[torch.Tensor]) -> float:
    """The fraction of exact zeros among all entries."""
    ts = [tensors] if torch.is_tensor(tensors) else list(tensors)
    if not ts or not all(torch.is_tensor(t) for t in ts):
        raise TypeError(f"tensors must be a tensor or a non-empty list of tensors, got "
                        f"{describe(tensors)}")  # fmt: skip
    total = sum(t.numel() for t in ts)
    return sum(int((t == 0).sum()) for t in ts) / total


def csr_bytes(weight: torch.Tensor) -> int:
    """Bytes that ``weight`` (2-D, or flattened to (rows, -1)) takes in PyTorch's CSR format:
    its values, int64 column indices and row pointers. Dense float32 takes ``4 * numel``."""
    w = _check_weight(weight)
    rows, nnz = w.shape[0] if w.ndim else 1, int((w != 0).sum())
    return nnz * (w.element_size() + 8) + (rows + 1) * 8  # values + column ids + row pointers


def _kept(mask: torch.Tensor, name: str) -> torch.Tensor:
    check_tensor(mask, name, dtype="float", ndim=4)
    alive = mask.flatten(1).abs().sum(1) > 0
    if not alive.any():
        raise ValueError(f"{name} prunes every channel; keep at least one")
    return alive.nonzero().flatten()


def slim_lenet(model: LeNet, masks: Sequence[torch.Tensor]) -> LeNet:
    """A smaller LeNet holding only the channels that ``masks = (mask_conv1, mask_conv2)``
    (from :func:`channel_mask` with ``dim=0``) keep: conv1 loses output channels, conv2 the
    matching input channels and its own pruned outputs, fc1 the matching input columns.
    ``slim(x)`` equals ``model(x)`` after :func:`apply_channel_mask_` with the same masks."""
    if not isinstance(model, LeNet):
        raise TypeError(f"model must be a companion.cnn.LeNet, got {describe(model)}")
    if not isinstance(masks, (list, tuple)) or len(masks) != 2:
        raise TypeError(f"masks must be a pair (mask_conv1, mask_conv2), got {describe(masks)}")
    keep1 = _kept(masks[0], "masks[0]")
    keep2 = _kept(masks[1], "masks[1]")
    slim = LeNet(model.in_channels, model.fc3.out_features, model.image_size,
                 channels=(len(keep1), len(keep2)))  # fmt: skip
    slim = slim.to(dtype=model.conv1.weight.dtype, device=model.conv1.weight.device)
    c2 = model.conv2.out_channels
    # fc1's inputs are the flattened (c2, 5, 5) block: channel c owns columns c*25 ... c*25+24
    cols = (keep2[:, None] * 25 + torch.arange(25, device=keep2.device)).flatten()
    with torch.no_grad():
        slim.conv1.weight.copy_(model.conv1.weight[keep1])
        slim.conv1.bias.copy_(model.conv1.bias[keep1])
        slim.conv2.weight.copy_(model.conv2.weight[keep2][:, keep1])
        slim.conv2.bias.copy_(model.conv2.bias[keep2])
        slim.fc1.weight.copy_(model.fc1.weight.view(-1, c2 * 25)[:, cols])
        slim.fc1.bias.copy_(model.fc1.bias)
        for name in ("fc2", "fc3"):
            getattr(slim, name).load_state_dict(getattr(model, name).state_dict())
    return slim
