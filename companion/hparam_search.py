"""Hyper-parameter search on a fixed budget: grid versus random (Chapter 8, §8.8).

A search space maps each hyper-parameter name to a range:

* ``("log", low, high)``: a positive real, searched on a logarithmic scale (learning rates,
  weight decay);
* ``("uniform", low, high)``: a real on a linear scale (dropout probability);
* ``("int", low, high)``: an integer in ``[low, high]`` (widths, epochs).

``grid_search(objective, space, budget)`` evaluates the ``k^d`` points of a regular grid with
``k = floor(budget^(1/d))`` values per dimension (so at most ``budget`` trials);
``random_search(objective, space, budget, seed)`` draws ``budget`` independent points.
Bergstra and Bengio (2012) showed why random search usually wins on a budget: when only
a few of the ``d`` dimensions matter, a grid tries only ``k`` distinct values of each,
random search ``budget`` distinct values. ``tpe_search`` hands the same space and budget to
Optuna's TPE sampler (Akiba et al., 2019), which picks each new point from the results so
far (Optuna is an optional dependency, imported only there). Each returns a list of
:class:`Trial` in the order run; ``objective(params) -> float`` is *minimised* (e.g. a
validation error).

Input policy (:mod:`companion.validation`): ``space`` a non-empty dict of such tuples with
``low < high`` (``low > 0`` on a log scale), ``budget`` a positive int, ``seed`` an int;
the objective must return a finite real number (NaN is refused with the trial's params).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from companion.validation import check_int, check_positive_int, check_real, describe

KINDS = ("log", "uniform", "int")

__all__ = [
    "KINDS",
    "Trial",
    "best_trial",
    "check_space",
    "grid_search",
    "random_search",
    "tpe_search",
]


@dataclass(frozen=True)
class Trial:
    params: dict
    value: float


def check_space(space) -> dict[str, tuple]:
    """Validate a search space (see the module docstring); return it as a dict."""
    if not isinstance(space, Mapping) or not space:
        raise TypeError(f"space must be a non-empty dict name -> (kind, low, high), got "
                        f"{describe(space)}")  # fmt: skip
    out = {}
    for name, spec in space.items():
        where = f"space[{name!r}]"
        if not isinstance(spec, tuple) or len(spec) != 3:
            raise TypeError(f"{where} must be a tuple (kind, low, high) such as "
                            f"('log', 1e-4, 1e-1), got {describe(spec)}")  # fmt: skip
        kind, low, high = spec
        if kind not in KINDS:
            raise ValueError(f"{where} kind must be one of {KINDS}, got {kind!r}")
        if kind == "int":
            low, high = check_int(low, f"{where} low"), check_int(high, f"{where} high")
        else:
            low, high = check_real(low, f"{where} low"), check_real(high, f"{where} high")
        if not low < high:
            raise ValueError(f"{where} needs low < high, got low={low}, high={high}")
        if kind == "log" and low <= 0:
            raise ValueError(f"{where} is on a log scale, so low must be > 0, got {low}")
        out[name] = (kind, low, high)
    return out


def _from_unit(spec: tuple, u: float):
    """Map ``u`` in [0, 1] to the range of ``spec``."""
    kind, low, high = spec
    if kind == "log":
        return float(math.exp(math.log(low) + u * (math.log(high) - math.log(low))))
    if kind == "uniform":
        return float(low + u * (high - low))
    return int(min(high, low + math.floor(u * (high - low + 1))))


def _run(objective, points: list[dict]) -> list[Trial]:
    if not callable(objective):
        raise TypeError(f"objective must be a function params -> float, got {describe(objective)}")
    trials = []
    for params in points:
        value = check_real(objective(dict(params)), f"objective({params})")
        trials.append(Trial(dict(params), value))
    return trials


def grid_search(objective: Callable[[dict], float], space, budget: int) -> list[Trial]:
    """Evaluate a regular grid of at most ``budget`` points (``k`` values per dimension,
    spread evenly on each dimension's scale, end points included)."""
    space = check_space(space)
    budget = check_positive_int(budget, "budget")
    k = max(1, int(math.floor(budget ** (1 / len(space)) + 1e-9)))
    units = [0.5] if k == 1 else list(np.linspace(0.0, 1.0, k))
    axes = {}
    for name, spec in space.items():
        if spec[0] == "int":  # spread integers evenly, without repeating a value
            axes[name] = sorted({int(round(spec[1] + u * (spec[2] - spec[1]))) for u in units})
        else:
            axes[name] = [_from_unit(spec, u) for u in units]
    points = [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())]
    return _run(objective, points)


def random_search(
    objective: Callable[[dict], float], space, budget: int, seed: int = 0
) -> list[Trial]:
    """Evaluate ``budget`` points drawn independently and uniformly on each scale."""
    space = check_space(space)
    budget = check_positive_int(budget, "budget")
    rng = np.random.default_rng(check_int(seed, "seed", min=0))
    points = [{name: _from_unit(spec, rng.uniform()) for name, spec in space.items()}
              for _ in range(budget)]  # fmt: skip
    return _run(objective, points)


def best_trial(trials: list[Trial]) -> Trial:
    """The trial with the smallest value (the first one on ties)."""
    if not isinstance(trials, list) or not trials or not all(isinstance(t, Trial) for t in trials):
        raise TypeError(f"trials must be a non-empty list of Trial, got {describe(trials)}")
    return min(trials, key=lambda t: t.value)


def tpe_search(
    objective: Callable[[dict], float],
    space,
    budget: int,
    seed: int = 0,
    n_startup_trials: int = 10,
) -> list[Trial]:
    """The same search with Optuna's TPE sampler (seeded), on the same space and budget.

    TPE draws its first ``n_startup_trials`` points at random (Optuna's default is 10) and
    only then models the results; with a budget at or below that, TPE *is* random search.
    """
    space = check_space(space)
    budget = check_positive_int(budget, "budget")
    seed = check_int(seed, "seed", min=0)
    n_startup_trials = check_positive_int(n_startup_trials, "n_startup_trials")
    if not callable(objective):
        raise TypeError(f"objective must be a function params -> float, got {describe(objective)}")
    try:
        import optuna
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("tpe_search needs Optuna: pip install optuna") from err

    def suggest(trial) -> dict:
        params = {}
        for name, (kind, low, high) in space.items():
            if kind == "int":
                params[name] = trial.suggest_int(name, low, high)
            else:
                params[name] = trial.suggest_float(name, low, high, log=kind == "log")
        return params

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=n_startup_trials),
    )
    trials = []

    def wrapped(trial) -> float:
        params = suggest(trial)
        value = check_real(objective(dict(params)), f"objective({params})")
        trials.append(Trial(params, value))
        return value

    study.optimize(wrapped, n_trials=budget)
    return trials
