"""Learning-rate schedules from scratch (Chapter 8, §8.4).

A schedule is a function of the step count ``t = 0, 1, 2, ...`` (one step = one call of
``scheduler.step()``; :func:`companion.train.fit` steps once per epoch) that returns the
learning rate. The formulas, eq. (ch08-schedules), with ``lr0`` the base rate:

* ``"step"``: ``lr0 * gamma ** (t // step_size)`` (``torch.optim.lr_scheduler.StepLR``);
* ``"inverse_time"``: ``lr0 / (1 + beta t)`` (no class in PyTorch; ``LambdaLR`` with that
  factor);
* ``"exponential"``: ``lr0 * exp(-c t)``, exponential *decay* at the continuous rate ``c``
  (``ExponentialLR`` with ``gamma = exp(-c)``);
* ``"cosine"``: ``lr_min + (lr0 - lr_min) (1 + cos(pi t / T)) / 2`` for ``t <= T``, then
  ``lr_min`` (``CosineAnnealingLR`` with ``T_max = T``, ``eta_min = lr_min``, up to ``T``);
* ``"warmup"``: linear warm-up, ``lr0 * (f0 + (1 - f0) min(t, W) / W)``
  (``LinearLR(start_factor=f0, end_factor=1, total_iters=W)``), constant afterwards;
* ``"one_cycle"`` (Smith and Topin, 2019): from ``max_lr / div_factor`` up to ``max_lr`` over
  the first ``pct_start`` of ``total_steps`` and down to ``max_lr / (div_factor *
  final_div_factor)`` at the last step, both halves cosine (``OneCycleLR``, learning rate
  only).

:func:`make_schedule` returns such a function; :class:`ScheduledLR` applies one to an
optimiser, with the ``step()`` / ``state_dict()`` interface that ``fit`` expects.

Input policy (:mod:`companion.validation`): rates and lengths finite and > 0, ``gamma`` in
(0, 1], fractions in their intervals, unknown schedule names refused with the list of
known ones; ``t`` a non-negative int.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from companion.validation import (
    check_choice,
    check_int,
    check_nonnegative,
    check_positive,
    check_positive_int,
    check_real,
    describe,
)

SCHEDULES = ("constant", "step", "inverse_time", "exponential", "cosine", "warmup", "one_cycle")

__all__ = ["SCHEDULES", "ScheduledLR", "make_schedule"]


def _gamma(gamma) -> float:
    return check_real(gamma, "gamma", low=0.0, high=1.0, low_open=True)


def make_schedule(name: str, lr0: float, **kwargs) -> Callable[[int], float]:
    """The schedule ``name`` (one of :data:`SCHEDULES`) as a function ``t -> lr``.

    Keyword arguments per schedule: ``step``: ``step_size``, ``gamma``; ``inverse_time``:
    ``beta``; ``exponential``: ``c``; ``cosine``: ``T``, ``lr_min=0``; ``warmup``:
    ``warmup_steps``, ``start_factor=0.1``; ``one_cycle``: ``total_steps``,
    ``pct_start=0.3``, ``div_factor=25``, ``final_div_factor=1e4`` (``lr0`` is ``max_lr``).
    """
    name = check_choice(name, "name", SCHEDULES)
    lr0 = check_positive(lr0, "lr0")
    allowed = {
        "constant": set(),
        "step": {"step_size", "gamma"},
        "inverse_time": {"beta"},
        "exponential": {"c"},
        "cosine": {"T", "lr_min"},
        "warmup": {"warmup_steps", "start_factor"},
        "one_cycle": {"total_steps", "pct_start", "div_factor", "final_div_factor"},
    }[name]
    unknown = set(kwargs) - allowed
    if unknown:
        raise TypeError(f"schedule {name!r} takes {sorted(allowed)}, got unknown {sorted(unknown)}")

    if name == "constant":
        return lambda t: lr0 + 0.0 * _t(t)  # _t checks t
    if name == "step":
        size = check_positive_int(kwargs.get("step_size", 10), "step_size")
        gamma = _gamma(kwargs.get("gamma", 0.1))
        return lambda t: lr0 * gamma ** (_t(t) // size)
    if name == "inverse_time":
        beta = check_nonnegative(kwargs.get("beta", 0.1), "beta")
        return lambda t: lr0 / (1.0 + beta * _t(t))
    if name == "exponential":
        c = check_nonnegative(kwargs.get("c", 0.1), "c")
        return lambda t: lr0 * math.exp(-c * _t(t))
    if name == "cosine":
        T = check_positive_int(kwargs.get("T", 100), "T")
        lr_min = check_nonnegative(kwargs.get("lr_min", 0.0), "lr_min")
        if lr_min > lr0:
            raise ValueError(f"lr_min must be <= lr0, got lr_min={lr_min} > lr0={lr0}")
        return lambda t: lr_min + (lr0 - lr_min) * (1 + math.cos(math.pi * min(_t(t), T) / T)) / 2
    if name == "warmup":
        W = check_positive_int(kwargs.get("warmup_steps", 5), "warmup_steps")
        f0 = check_real(kwargs.get("start_factor", 0.1), "start_factor", low=0.0, high=1.0,
                        low_open=True)  # fmt: skip
        return lambda t: lr0 * (f0 + (1.0 - f0) * min(_t(t), W) / W)
    total = check_int(kwargs.get("total_steps", 100), "total_steps", min=2)
    pct = check_real(kwargs.get("pct_start", 0.3), "pct_start", low=0.0, high=1.0,
                     low_open=True, high_open=True)  # fmt: skip
    div = check_real(kwargs.get("div_factor", 25.0), "div_factor", low=1.0)
    final_div = check_real(kwargs.get("final_div_factor", 1e4), "final_div_factor", low=1.0)
    start, low = lr0 / div, lr0 / div / final_div
    up_end, down_end = pct * total - 1.0, total - 1.0  # the steps where each phase ends
    if up_end <= 0:
        raise ValueError(f"pct_start * total_steps must exceed 1, got {pct} * {total}")

    def cos_between(a: float, b: float, frac: float) -> float:
        return b + (a - b) / 2.0 * (1.0 + math.cos(math.pi * frac))

    def one_cycle(t: int) -> float:
        t = _t(t)
        if t > down_end:
            raise ValueError(f"t = {t} is past the last step of the cycle ({total - 1})")
        if t <= up_end:
            return cos_between(start, lr0, t / up_end)
        return cos_between(lr0, low, (t - up_end) / (down_end - up_end))

    return one_cycle


def _t(t) -> int:
    return check_int(t, "t", min=0)


class ScheduledLR:
    """Set ``optimizer``'s learning rate to ``schedule(t)`` at every ``step()``.

    ``schedule``: a function ``t -> lr`` such as :func:`make_schedule` returns. At
    construction the rate is ``schedule(0)``; after ``k`` calls of ``step()`` it is
    ``schedule(k)``, as for ``torch.optim.lr_scheduler`` classes. Every parameter group gets
    the same rate.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, schedule: Callable[[int], float]):
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {describe(optimizer)}")
        if not callable(schedule):
            raise TypeError(
                f"schedule must be a function t -> lr such as make_schedule('cosine', 0.1, "
                f"T=20), got {describe(schedule)}"
            )
        self.optimizer, self.schedule, self.last_epoch = optimizer, schedule, 0
        self._apply()

    def _apply(self) -> None:
        lr = check_nonnegative(self.schedule(self.last_epoch), "schedule(t)")
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def step(self) -> None:
        self.last_epoch += 1
        self._apply()

    def get_last_lr(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        return {"last_epoch": self.last_epoch}

    def load_state_dict(self, state: dict) -> None:
        self.last_epoch = check_int(state["last_epoch"], "last_epoch", min=0)
        self._apply()
