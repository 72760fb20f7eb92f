"""Checks for the exercises of Chapter 14, part I (interpretability, robustness, privacy).

* ``ch14-fgsm``: an FGSM attack written from scratch (eq. ch14-fgsm), compared with the
  check's own input-gradient computation on a small network it builds;
* ``ch14-clip``: the mean of per-example gradients after clipping each to a norm bound
  (eq. ch14-dpsgd without noise), compared with the check's own computation;
* ``ch14-fedavg-round``: the server's weight after one round of FedAvg with clients of unequal
  size (eq. ch14-fedavg; worked answer in the solution).

The references are computed here with torch primitives, never with ``companion.adversarial``
or ``companion.dp``, which the chapter imports.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from companion.exercises import CheckFailed, Passed, _as_tensor, expect_close, passed

__all__ = ["check_fgsm", "check_clipped_mean", "check_fedavg_weight"]


def _fgsm_problem(seed: int):
    """A small random tanh network, images in [0, 1] (some at the edges), labels."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(25, 12), nn.Tanh(), nn.Linear(12, 4))
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(6, 1, 5, 5, generator=g)
    x[:, :, 0, :] = 0.0  # black and white rows, so that clipping matters
    x[:, :, -1, :] = 1.0
    y = torch.randint(0, 4, (6,), generator=g)
    return model, x, y


def _input_gradient(model, x, y) -> torch.Tensor:
    x = x.detach().clone().requires_grad_(True)
    F.cross_entropy(model(x), y).backward()
    return x.grad.detach()


def check_fgsm(fgsm_attack) -> Passed:
    """Exercise ch14-fgsm: ``fgsm_attack(model, x, y, eps)`` -> adversarial images."""
    if not callable(fgsm_attack):
        raise CheckFailed("fgsm_attack must be a function (model, x, y, eps) -> images")
    for seed, eps in ((0, 0.1), (1, 0.03)):
        model, x, y = _fgsm_problem(seed)
        grad = _input_gradient(model, x, y)
        want = (x + eps * grad.sign()).clamp(0, 1)
        got = fgsm_attack(model, x.clone(), y.clone(), eps)
        got = _as_tensor(got, "your adversarial images").float()
        if got.shape != x.shape:
            raise CheckFailed(f"the result should have the shape of x {tuple(x.shape)}, got "
                              f"{tuple(got.shape)}")  # fmt: skip
        if torch.allclose(got, (x - eps * grad.sign()).clamp(0, 1), atol=1e-6):
            raise CheckFailed("you step against the gradient: that lowers the loss. FGSM adds "
                              "eps * sign(gradient)")  # fmt: skip
        if torch.allclose(got, x + eps * grad.sign(), atol=1e-6):
            raise CheckFailed("some pixels leave [0, 1]: clip the result with .clamp(0, 1)")
        if (got - x).abs().max() > eps + 1e-6:
            moved = (got - x).abs().max().item()
            raise CheckFailed(f"a pixel moved by {moved:.3g}, more than eps = {eps}: step by "
                              "eps times the *sign* of the gradient")  # fmt: skip
        expect_close(got, want, f"your adversarial images (eps={eps})", rtol=0, atol=1e-6,
                     hint="x_adv = clamp(x + eps * sign(grad_x loss), 0, 1)")  # fmt: skip
    return passed("your FGSM images equal the reference, clipping included, for two networks")


def check_clipped_mean(clipped_mean) -> Passed:
    """Exercise ch14-clip: ``clipped_mean(grads (B, P), max_norm)`` -> ``(P,)``."""
    if not callable(clipped_mean):
        raise CheckFailed("clipped_mean must be a function (grads, max_norm) -> mean")
    g = torch.Generator().manual_seed(0)
    grads = torch.randn(8, 5, generator=g, dtype=torch.float64)
    grads[:3] *= 0.1  # three short rows that must stay as they are
    for max_norm in (1.0, 0.5):
        norms = torch.sqrt((grads**2).sum(1, keepdim=True))
        factor = torch.where(norms > max_norm, max_norm / norms, torch.ones_like(norms))
        want = (grads * factor).mean(0)
        got = _as_tensor(clipped_mean(grads.clone(), max_norm), "your clipped mean")
        if got.shape != want.shape:
            raise CheckFailed(f"the result should have shape {tuple(want.shape)} (one entry per "
                              f"parameter), got {tuple(got.shape)}")  # fmt: skip
        mean = grads.mean(0)
        batch_clipped = mean * min(1.0, max_norm / mean.norm().item())
        if torch.allclose(got, batch_clipped, atol=1e-9):
            raise CheckFailed("you clipped the mean gradient; clip each example's row first, "
                              "then average")  # fmt: skip
        if torch.allclose(got, grads.clamp(-max_norm, max_norm).mean(0), atol=1e-9):
            raise CheckFailed("you clamped each coordinate; scale each row by "
                              "min(1, max_norm / ||row||) instead")  # fmt: skip
        if torch.allclose(got, (grads * (max_norm / norms)).mean(0), atol=1e-9):
            raise CheckFailed("short rows were scaled *up* to max_norm: use min(1, max_norm "
                              "/ ||row||) so that shorter rows stay unchanged")  # fmt: skip
        expect_close(got, want, f"your clipped mean (max_norm={max_norm})", rtol=1e-6, atol=1e-9,
                     hint="mean over rows of g_i * min(1, C / ||g_i||)")  # fmt: skip
    return passed("each example is clipped to the bound before averaging, as DP-SGD requires")


def check_fedavg_weight(value) -> Passed:
    """Exercise ch14-fedavg-round: the data-size-weighted average of 2.0 (30 rows) and
    6.0 (10 rows)."""
    got = _as_tensor(value, "fedavg_weight")
    if got.numel() != 1:
        raise CheckFailed(f"fedavg_weight should be one number, got shape {tuple(got.shape)}")
    v = got.item()
    if abs(v - 4.0) < 1e-9:
        raise CheckFailed("4.0 is the unweighted mean: FedAvg weights each client by its share "
                          "of the data, n_k / n")  # fmt: skip
    if abs(v - 5.0) < 1e-9:
        raise CheckFailed("5.0 swaps the weights: the client with 30 of the 40 examples returned "
                          "2.0 and gets weight 30/40")  # fmt: skip
    expect_close(got.reshape(()), torch.tensor(3.0, dtype=torch.float64), "fedavg_weight",
                 rtol=1e-9, atol=1e-12, hint="sum_k (n_k / n) * w_k")  # fmt: skip
    return passed("30/40 * 2.0 + 10/40 * 6.0 = 3.0")
