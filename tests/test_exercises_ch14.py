"""The Chapter 14 exercise checks accept right answers and name the usual slips."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from companion.exercises import CheckFailed
from companion.exercises.ch14 import check_clipped_mean, check_fedavg_weight, check_fgsm


def _fgsm(sign=1.0, clip=True, use_sign=True, numpy_out=False):
    def fgsm_attack(model, x, y, eps):
        x = x.detach().clone().requires_grad_(True)
        F.cross_entropy(model(x), y).backward()
        step = x.grad.sign() if use_sign else x.grad
        out = x.detach() + sign * eps * step
        out = out.clamp(0, 1) if clip else out
        return out.numpy() if numpy_out else out

    return fgsm_attack


def test_fgsm_right_answers_pass():
    assert check_fgsm(_fgsm())
    assert check_fgsm(_fgsm(numpy_out=True))


def test_fgsm_with_summed_loss_passes():
    """The sign of the gradient does not depend on mean or sum reduction."""

    def summed(model, x, y, eps):
        x = x.detach().clone().requires_grad_(True)
        (g,) = torch.autograd.grad(F.cross_entropy(model(x), y, reduction="sum"), x)
        return torch.clamp(x + eps * g.sign(), 0.0, 1.0)

    assert check_fgsm(summed)


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (_fgsm(sign=-1.0), "against the gradient"),
        (_fgsm(clip=False), r"leave \[0, 1\]"),
        (_fgsm(use_sign=False, clip=False), "your adversarial images"),
        (lambda model, x, y, eps: x, "your adversarial images"),
        (lambda model, x, y, eps: x[:, 0], "shape of x"),
        (lambda model, x, y, eps: (x + 2 * eps).clamp(0, 1), "sign"),
        ("not a function", "must be a function"),
    ],
)
def test_fgsm_wrong_answers_fail(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_fgsm(wrong)


def _clip(kind="right", numpy_io=False):
    def clipped_mean(grads, max_norm):
        g = grads.numpy() if numpy_io else grads
        if numpy_io:
            norms = np.linalg.norm(g, axis=1, keepdims=True)
            return (g * np.minimum(1.0, max_norm / norms)).mean(0)
        norms = g.norm(dim=1, keepdim=True)
        if kind == "right":
            return (g * (max_norm / norms).clamp(max=1.0)).mean(0)
        if kind == "mean_first":
            m = g.mean(0)
            return m * min(1.0, max_norm / m.norm().item())
        if kind == "coordinates":
            return g.clamp(-max_norm, max_norm).mean(0)
        if kind == "scale_up":
            return (g * (max_norm / norms)).mean(0)
        if kind == "sum":
            return (g * (max_norm / norms).clamp(max=1.0)).sum(0)
        raise AssertionError(kind)

    return clipped_mean


def test_clipped_mean_right_answers_pass():
    assert check_clipped_mean(_clip())
    assert check_clipped_mean(_clip(numpy_io=True))


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (_clip("mean_first"), "clipped the mean gradient"),
        (_clip("coordinates"), "clamped each coordinate"),
        (_clip("scale_up"), "scaled \\*up\\*"),
        (_clip("sum"), "your clipped mean"),
        (lambda grads, c: grads, "shape"),
    ],
)
def test_clipped_mean_wrong_answers_fail(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_clipped_mean(wrong)


@pytest.mark.parametrize(
    "right", [3, 3.0, np.int64(3), np.float64(3.0), torch.tensor(3.0), torch.tensor(3), [3.0]]
)
def test_fedavg_weight_right_answer_in_every_type(right):
    assert check_fedavg_weight(right)


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (4.0, "unweighted mean"),
        (5.0, "swaps the weights"),
        (8.0, "fedavg_weight is 8"),
        ([3.0, 3.0], "one number"),
        ("3", "should be a number"),
    ],
)
def test_fedavg_weight_wrong_answers_fail(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_fedavg_weight(wrong)
