"""Checks for the exercises of Chapter 8 (training strategies).

* ``ch08-adam-step``: one Adam update written from scratch, compared step by step with
  ``torch.optim.Adam`` on a problem the check generates (eq. ch08-adam).
* ``ch08-first-step``: the factor by which Adam's first step grows without bias correction,
  for beta1 = 0.9, beta2 = 0.99 (worked answer in the solution).
* ``ch08-dropout-value``: the value of a kept entry under inverted dropout (eq. ch08-dropout).
"""

from __future__ import annotations

import math

import torch

from companion.exercises import CheckFailed, Passed, _as_tensor, expect_close, passed

__all__ = ["check_adam_update", "check_first_step_ratio", "check_kept_value"]


def _reference_run(steps: int, lr: float, betas: tuple[float, float], eps: float, seed: int):
    """Parameters after each step of ``torch.optim.Adam`` on a random quadratic, and the
    gradients it saw (so that a student's function can be fed the same gradients)."""
    gen = torch.Generator().manual_seed(seed)
    A = torch.randn(6, 4, generator=gen, dtype=torch.float64)
    b = torch.randn(6, generator=gen, dtype=torch.float64)
    w = torch.randn(4, generator=gen, dtype=torch.float64).requires_grad_()
    start = w.detach().clone()
    opt = torch.optim.Adam([w], lr=lr, betas=betas, eps=eps)
    params, grads = [], []
    for _ in range(steps):
        opt.zero_grad()
        ((A @ w - b) ** 2).mean().backward()
        grads.append(w.grad.detach().clone())
        opt.step()
        params.append(w.detach().clone())
    return start, grads, params


def check_adam_update(adam_update) -> Passed:
    """Exercise ch08-adam-step: ``adam_update(param, grad, m, v, t, lr, beta1, beta2, eps)``
    returns ``(param, m, v)``; compared with ``torch.optim.Adam`` for 8 steps, twice."""
    if not callable(adam_update):
        raise CheckFailed("adam_update must be a function")
    for lr, betas, eps, seed in ((0.05, (0.9, 0.999), 1e-8, 0), (0.1, (0.8, 0.95), 1e-6, 1)):
        start, grads, want = _reference_run(8, lr, betas, eps, seed)
        param, m, v = start.clone(), torch.zeros_like(start), torch.zeros_like(start)
        for t, (g, ref) in enumerate(zip(grads, want, strict=True), start=1):
            try:
                out = adam_update(param, g, m, v, t, lr, betas[0], betas[1], eps)
            except ZeroDivisionError as err:
                raise CheckFailed("division by zero: t counts from 1, so 1 - beta**t > 0") from err
            if not isinstance(out, tuple) or len(out) != 3:
                raise CheckFailed("adam_update must return a tuple (param, m, v)")
            param, m, v = (_as_tensor(x, "adam_update's result") for x in out)
            if not torch.isfinite(param).all():
                raise CheckFailed(
                    f"param contains NaN or infinity after step {t}: t counts from 1, so "
                    "1 - beta**t > 0 (did you start t at 0?)"
                )
            if param.shape != start.shape:
                raise CheckFailed(f"param should keep its shape {tuple(start.shape)}, got "
                                  f"{tuple(param.shape)}")  # fmt: skip
            if not torch.allclose(param, ref, rtol=1e-9, atol=1e-12):
                if t == 1:
                    no_corr = start - lr * ((1 - betas[0]) * g) / (
                        ((1 - betas[1]) * g**2).sqrt() + eps
                    )
                    if torch.allclose(param, no_corr, rtol=1e-6, atol=1e-9):
                        raise CheckFailed(
                            "the first step is too large: you forgot the bias correction "
                            "m / (1 - beta1**t) and v / (1 - beta2**t)"
                        )
                    if torch.allclose(param, start + (ref - start) * -1, rtol=1e-6, atol=1e-9):
                        raise CheckFailed("the step has the wrong sign: subtract lr * m_hat / ...")
                expect_close(param, ref, f"param after step {t} (lr={lr}, betas={betas})",
                             rtol=1e-9, atol=1e-12,
                             hint="m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; "
                             "p - lr * m_hat / (sqrt(v_hat) + eps)")  # fmt: skip
    return passed("your Adam step equals torch.optim.Adam at every step, for two settings")


def check_first_step_ratio(ratio) -> Passed:
    """Exercise ch08-first-step: (1 - beta1) / sqrt(1 - beta2) = 1 for 0.9, 0.99."""
    want = (1 - 0.9) / math.sqrt(1 - 0.99)
    got = _as_tensor(ratio, "first_step_ratio")
    if got.numel() != 1:
        raise CheckFailed(f"first_step_ratio should be one number, got shape {tuple(got.shape)}")
    value = got.item()
    hints = {
        (1 - 0.9) / math.sqrt(1 - 0.999): "that is the factor for the default beta2 = 0.999; "
        "here beta2 = 0.99",
        1 / (1 - 0.9): "1 / (1 - beta1) is momentum's long-run amplification; and (1 - beta1) "
        "/ (1 - beta2) forgets that the step divides by the square root of v",
    }
    for wrong, hint in hints.items():
        if math.isclose(value, wrong, rel_tol=1e-3) and not math.isclose(wrong, want):
            raise CheckFailed(f"first_step_ratio is {value:.4g}, not the answer. Hint: {hint}")
    expect_close(got.reshape(()), want, "first_step_ratio", rtol=1e-3,
                 hint="uncorrected m_1 = (1 - beta1) g, v_1 = (1 - beta2) g^2")  # fmt: skip
    return passed("without correction the first step is (1-b1)/sqrt(1-b2) = 1 times the "
                  "corrected one for these betas")  # fmt: skip


def check_kept_value(value) -> Passed:
    """Exercise ch08-dropout-value: a kept entry of 3 under p = 0.25 becomes 3 / 0.75 = 4."""
    got = _as_tensor(value, "kept_value")
    if got.numel() != 1:
        raise CheckFailed(f"kept_value should be one number, got shape {tuple(got.shape)}")
    v = got.item()
    hints = {
        3.0: "that is the input: in training the kept entries are scaled by 1 / (1 - p)",
        2.25: "3 * (1 - p) is what a layer without inverted scaling outputs in evaluation; "
        "inverted dropout divides the kept entries by 1 - p",
        12.0: "divide by the keep probability 1 - p = 0.75, not by p",
    }
    for wrong, hint in hints.items():
        if math.isclose(v, wrong, rel_tol=1e-6):
            raise CheckFailed(f"kept_value is {v:g}. Hint: {hint}")
    expect_close(got.reshape(()), 4.0, "kept_value", rtol=1e-6)
    return passed("kept entries are 3 / 0.75 = 4, so the expected value stays 3")
