"""companion.hparam_search: grids, random draws, budgets (Chapter 8, §8.8)."""

from __future__ import annotations

import math

import pytest

from companion.hparam_search import best_trial, grid_search, random_search


def test_grid_covers_the_ranges_on_their_scales():
    seen = []
    space = {"lr": ("log", 1e-4, 1e-1), "p": ("uniform", 0.0, 0.5)}
    trials = grid_search(lambda p: seen.append(p) or 0.0, space, budget=10)
    assert len(trials) == 9  # k = floor(sqrt(10)) = 3 per dimension
    lrs = sorted({t.params["lr"] for t in trials})
    assert lrs == pytest.approx([1e-4, 10**-2.5, 1e-1])
    assert sorted({t.params["p"] for t in trials}) == pytest.approx([0.0, 0.25, 0.5])


def test_int_grid_and_random_within_bounds():
    trials = grid_search(lambda p: float(p["n"]), {"n": ("int", 1, 4)}, budget=10)
    assert [t.params["n"] for t in trials] == [1, 2, 3, 4]
    r = random_search(lambda p: 0.0, {"n": ("int", 2, 5), "lr": ("log", 1e-3, 1.0)}, 200, seed=3)
    ns = {t.params["n"] for t in r}
    assert ns == {2, 3, 4, 5}
    assert all(1e-3 <= t.params["lr"] <= 1.0 for t in r)
    logs = [math.log10(t.params["lr"]) for t in r]
    assert sum(x < -1.5 for x in logs) == pytest.approx(100, abs=25)  # uniform in log


def test_random_search_reproducible_and_distinct():
    space = {"a": ("uniform", 0.0, 1.0), "b": ("uniform", 0.0, 1.0)}
    t1 = random_search(lambda p: p["a"], space, 9, seed=1)
    t2 = random_search(lambda p: p["a"], space, 9, seed=1)
    assert [t.params for t in t1] == [t.params for t in t2]
    assert len({t.params["a"] for t in t1}) == 9  # nine distinct values of a, a grid has three
    g = grid_search(lambda p: p["a"], space, 9)
    assert len({t.params["a"] for t in g}) == 3


def test_random_beats_grid_when_one_dimension_matters():
    """Bergstra and Bengio's argument, on average over seeds: only `a` matters."""
    space = {"a": ("uniform", 0.0, 1.0), "b": ("uniform", 0.0, 1.0)}
    f = lambda p: (p["a"] - 0.37) ** 2  # noqa: E731
    grid_best = best_trial(grid_search(f, space, 9)).value
    random_best = [best_trial(random_search(f, space, 9, seed=s)).value for s in range(50)]
    assert sum(random_best) / 50 < grid_best


def test_best_trial_and_objective_checks():
    trials = random_search(lambda p: p["x"] ** 2, {"x": ("uniform", -1.0, 1.0)}, 20)
    assert best_trial(trials).value == min(t.value for t in trials)
    with pytest.raises(ValueError, match="objective"):
        random_search(lambda p: float("nan"), {"x": ("uniform", 0.0, 1.0)}, 2)


def test_tpe_search_with_optuna():
    pytest.importorskip("optuna")
    from companion.hparam_search import tpe_search

    space = {"x": ("uniform", -3.0, 3.0), "n": ("int", 1, 5), "lr": ("log", 1e-4, 1.0)}
    f = lambda p: (p["x"] - 1.0) ** 2 + abs(p["n"] - 3) + abs(math.log10(p["lr"]) + 2)  # noqa: E731
    trials = tpe_search(f, space, 40, seed=0)
    assert len(trials) == 40
    assert all(-3 <= t.params["x"] <= 3 and 1 <= t.params["n"] <= 5 for t in trials)
    assert all(isinstance(t.params["n"], int) for t in trials)
    assert [t.params for t in tpe_search(f, space, 5, seed=1)] == [
        t.params for t in tpe_search(f, space, 5, seed=1)
    ]  # seeded: reproducible
    # model-based search concentrates near the optimum: better than its own first 10 draws
    assert best_trial(trials).value < min(t.value for t in trials[:10])
    # n_startup_trials: the first draws are random, the same as Optuna's RandomSampler's
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    study.optimize(
        lambda tr: f(
            dict(
                x=tr.suggest_float("x", -3.0, 3.0),
                n=tr.suggest_int("n", 1, 5),
                lr=tr.suggest_float("lr", 1e-4, 1.0, log=True),
            )
        ),
        n_trials=4,
    )
    random_params = [tr.params for tr in study.trials]
    early = tpe_search(f, space, 4, seed=3, n_startup_trials=4)
    assert [t.params for t in early] == random_params
    # after the start-up draws TPE samples from its model, not from the random stream
    modelled = tpe_search(f, space, 30, seed=3, n_startup_trials=4)
    assert best_trial(modelled).value < min(t.value for t in modelled[:4])
