"""Attacks on a trained classifier: adversarial examples and poisoned data (Chapter 14, §14.2).

Adversarial examples (evasion, at test time), in the :math:`L_\\infty` ball of radius
:math:`\\varepsilon` around an input :math:`x` with label :math:`y` and loss :math:`\\ell`:

* :func:`fgsm`: one step along the sign of the input gradient (Goodfellow et al., 2015),
  :math:`x' = \\mathrm{clip}(x + \\varepsilon\\,\\mathrm{sign}\\,\\nabla_x \\ell(f(x), y))`
  (eq. ch14-fgsm);
* :func:`pgd`: projected gradient descent (Madry et al., 2018): from a random start in the
  ball, ``steps`` signed steps of size ``alpha``, each followed by :func:`project_linf` back
  into the ball and the valid pixel range (eq. ch14-pgd);
* :func:`robust_accuracy`: accuracy on attacked inputs for several radii.

Poisoning (at training time): :func:`flip_labels` changes the labels of a fraction of the
training rows; :func:`add_trigger` stamps a small bright square in a corner of images and
:func:`poison_with_trigger` adds such images labelled with an attacker's target class (a
backdoor, Gu et al., 2017); :func:`attack_success_rate` measures how often the trigger turns
a clean test image into the target class.

Images are ``(N, C, H, W)`` float tensors of the model's dtype; labels ``(N,)`` int64.
Arguments are checked with :mod:`companion.validation`: tensors are not converted silently,
float64 images for a float32 model are refused rather than cast, radii and step sizes must be
finite and non-negative (positive for step sizes), fractions lie in [0, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from companion.interpretability import check_model_and_input, evaluation_mode
from companion.validation import (
    check_bool,
    check_choice,
    check_floating,
    check_index_tensor,
    check_int,
    check_labels,
    check_nonnegative,
    check_positive,
    check_positive_int,
    check_real,
    describe,
)

__all__ = [
    "fgsm",
    "pgd",
    "project_linf",
    "robust_accuracy",
    "flip_labels",
    "add_trigger",
    "poison_with_trigger",
    "attack_success_rate",
]


def _check_clamp(clamp) -> tuple[float, float] | None:
    """``None`` (no pixel range) or a pair ``(low, high)`` with ``low < high``."""
    if clamp is None:
        return None
    if not isinstance(clamp, (tuple, list)) or len(clamp) != 2:
        raise TypeError(f"clamp must be None or a pair (low, high) such as (0.0, 1.0), got "
                        f"{describe(clamp)}")  # fmt: skip
    low, high = (check_real(c, "clamp") for c in clamp)
    if not low < high:
        raise ValueError(f"clamp must have low < high, got {clamp!r}")
    return low, high


def _check_generator(generator) -> torch.Generator | None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be None or a torch.Generator, got {describe(generator)}")
    return generator


def _check_xy(model, x, y) -> tuple[torch.Tensor, torch.Tensor]:
    x = check_model_and_input(model, x)
    with torch.no_grad(), evaluation_mode(model):
        num_classes = model(x[:1]).shape[-1]
    y = check_labels(y, "y", num_classes, n=x.shape[0])
    if y.device != x.device:
        raise ValueError(f"y is on {y.device} but x is on {x.device}")
    return x, y


def _input_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """:math:`\\nabla_x` of the summed cross-entropy (each row's gradient is its own)."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(F.cross_entropy(model(x), y, reduction="sum"), x)
    return grad


def project_linf(x_adv: torch.Tensor, x: torch.Tensor, eps: float, clamp=(0.0, 1.0)):
    """The nearest point to ``x_adv`` with :math:`\\|x' - x\\|_\\infty \\le \\varepsilon` and,
    with ``clamp``, every entry in ``[low, high]`` (both sets are boxes: clip entrywise)."""
    x = check_floating(x, "x")
    x_adv = check_floating(x_adv, "x_adv", like=x)
    if x_adv.shape != x.shape:
        raise ValueError(f"x_adv must have the shape of x {tuple(x.shape)}, got "
                         f"{tuple(x_adv.shape)}")  # fmt: skip
    eps = check_nonnegative(eps, "eps")
    clamp = _check_clamp(clamp)
    out = torch.max(torch.min(x_adv, x + eps), x - eps)
    return out if clamp is None else out.clamp(*clamp)


def fgsm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, clamp=(0.0, 1.0)):
    """Fast gradient sign method (eq. ch14-fgsm): ``(N, ...)`` adversarial inputs."""
    x, y = _check_xy(model, x, y)
    eps = check_nonnegative(eps, "eps")
    clamp = _check_clamp(clamp)
    with evaluation_mode(model):
        grad = _input_gradient(model, x, y)
    out = x + eps * grad.sign()
    return (out if clamp is None else out.clamp(*clamp)).detach()


def pgd(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    alpha: float | None = None,
    steps: int = 10,
    random_start: bool = True,
    clamp=(0.0, 1.0),
    generator: torch.Generator | None = None,
):
    """Projected gradient descent in the :math:`L_\\infty` ball (eq. ch14-pgd).

    ``alpha`` (step size) defaults to ``2.5 * eps / steps``, so the steps can cross the ball;
    ``random_start`` begins at a uniform point of the ball (``generator`` seeds it).
    """
    x, y = _check_xy(model, x, y)
    eps = check_nonnegative(eps, "eps")
    steps = check_positive_int(steps, "steps")
    alpha = 2.5 * eps / steps if alpha is None else check_positive(alpha, "alpha")
    random_start = check_bool(random_start, "random_start")
    clamp = _check_clamp(clamp)
    generator = _check_generator(generator)
    x_adv = x.detach().clone()
    if random_start and eps > 0:
        noise = torch.rand(x.shape, generator=generator, dtype=x.dtype, device="cpu")
        x_adv = project_linf(x + eps * (2 * noise.to(x.device) - 1), x, eps, clamp)
    with evaluation_mode(model):
        for _ in range(steps):
            grad = _input_gradient(model, x_adv, y)
            x_adv = project_linf(x_adv + alpha * grad.sign(), x, eps, clamp)
    return x_adv.detach()


@torch.no_grad()
def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return (model(x).argmax(1) == y).float().mean().item()


def robust_accuracy(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps_values,
    attack: str = "pgd",
    batch_size: int = 1000,
    **attack_kw,
) -> list[float]:
    """Accuracy on ``attack``-ed inputs (``"fgsm"`` or ``"pgd"``) for each radius in
    ``eps_values``; a radius of 0 gives the clean accuracy. Extra keywords go to the attack."""
    x, y = _check_xy(model, x, y)
    attack = check_choice(attack, "attack", ("fgsm", "pgd"))
    batch_size = check_positive_int(batch_size, "batch_size")
    if not isinstance(eps_values, (list, tuple)) or not eps_values:
        raise TypeError(f"eps_values must be a non-empty list of radii, got {describe(eps_values)}")
    radii = [check_nonnegative(e, "eps_values") for e in eps_values]
    run = fgsm if attack == "fgsm" else pgd
    accs = []
    with evaluation_mode(model):
        for eps in radii:
            correct = 0.0
            for i in range(0, len(x), batch_size):
                xb, yb = x[i : i + batch_size], y[i : i + batch_size]
                adv = run(model, xb, yb, eps, **attack_kw) if eps > 0 else xb
                correct += _accuracy(model, adv, yb) * len(xb)
            accs.append(correct / len(x))
    return accs


def flip_labels(
    y: torch.Tensor, fraction: float, num_classes: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Give ``round(fraction * N)`` random rows a different, random label.

    Returns the new labels ``(N,)`` and the indices of the flipped rows.
    """
    num_classes = check_int(num_classes, "num_classes", min=2)
    y = check_index_tensor(y, "y", num_classes)
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D tensor of labels, got shape {tuple(y.shape)}")
    fraction = check_real(fraction, "fraction", low=0.0, high=1.0)
    generator = _check_generator(generator)
    n_flip = round(fraction * len(y))
    idx = torch.randperm(len(y), generator=generator)[:n_flip].to(y.device)
    shift = torch.randint(1, num_classes, (n_flip,), generator=generator).to(y.device)
    out = y.clone()
    out[idx] = (y[idx] + shift) % num_classes  # never the old label
    return out, idx


def add_trigger(x: torch.Tensor, size: int = 2, value: float = 1.0) -> torch.Tensor:
    """A copy of the images ``(N, C, H, W)`` with a ``size`` x ``size`` square of ``value``
    in the bottom-right corner of every channel (the backdoor trigger)."""
    x = check_floating(x, "x")
    if x.ndim != 4:
        raise ValueError(f"x must be a batch of images (N, C, H, W), got shape {tuple(x.shape)}")
    size = check_positive_int(size, "size")
    if size > min(x.shape[-2:]):
        raise ValueError(f"size must fit in the image ({tuple(x.shape[-2:])}), got {size}")
    value = check_real(value, "value")
    out = x.clone()
    out[..., -size:, -size:] = value
    return out


def poison_with_trigger(
    x: torch.Tensor,
    y: torch.Tensor,
    fraction: float,
    target: int,
    size: int = 2,
    value: float = 1.0,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A training set with a backdoor: ``round(fraction * N)`` random images of other classes
    than ``target``, stamped with :func:`add_trigger` and labelled ``target``, are appended.

    Returns ``(x_poisoned, y_poisoned)`` with the clean rows first.
    """
    x = check_floating(x, "x")
    y = check_index_tensor(y, "y")
    if y.shape != x.shape[:1]:
        raise ValueError(f"y must have shape ({x.shape[0]},), one label per image, got "
                         f"{tuple(y.shape)}")  # fmt: skip
    fraction = check_real(fraction, "fraction", low=0.0, high=1.0)
    target = check_int(target, "target", min=0)
    generator = _check_generator(generator)
    others = torch.nonzero(y != target).squeeze(1).cpu()
    n_poison = min(round(fraction * len(y)), len(others))
    pick = others[torch.randperm(len(others), generator=generator)[:n_poison]].to(x.device)
    stamped = add_trigger(x[pick], size, value)
    labels = torch.full((n_poison,), target, dtype=y.dtype, device=y.device)
    return torch.cat([x, stamped]), torch.cat([y, labels])


def attack_success_rate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, target: int, size: int = 2,
    value: float = 1.0,
) -> float:  # fmt: skip
    """Among test images whose label is not ``target``, the fraction that the model assigns
    to ``target`` once the trigger is stamped on them."""
    x, y = _check_xy(model, x, y)
    target = check_int(target, "target", min=0)
    keep = y != target
    if not keep.any():
        raise ValueError(f"y has no image of a class other than target={target}")
    with evaluation_mode(model), torch.no_grad():
        pred = model(add_trigger(x[keep], size, value)).argmax(1)
    return (pred == target).float().mean().item()
