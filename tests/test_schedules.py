"""companion.schedules against torch.optim.lr_scheduler (Chapter 8, §8.4)."""

from __future__ import annotations

import math

import pytest
import torch
from torch.optim import lr_scheduler as tls

from companion.schedules import SCHEDULES, ScheduledLR, make_schedule

LR0 = 0.2


def torch_rates(build, steps):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=LR0)
    sched = build(opt)
    rates = []
    for _ in range(steps):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return rates


def ours(name, steps, **kw):
    f = make_schedule(name, LR0, **kw)
    return [f(t) for t in range(steps)]


PAIRS = [
    ("step", dict(step_size=7, gamma=0.3), lambda o: tls.StepLR(o, step_size=7, gamma=0.3), 40),
    ("exponential", dict(c=0.15), lambda o: tls.ExponentialLR(o, gamma=math.exp(-0.15)), 40),
    ("inverse_time", dict(beta=0.5), lambda o: tls.LambdaLR(o, lambda t: 1 / (1 + 0.5 * t)), 40),
    ("cosine", dict(T=30, lr_min=0.01), lambda o: tls.CosineAnnealingLR(o, T_max=30,
                                                                           eta_min=0.01), 31),
    ("warmup", dict(warmup_steps=8, start_factor=0.05),
     lambda o: tls.LinearLR(o, start_factor=0.05, end_factor=1.0, total_iters=8), 30),
    ("one_cycle", dict(total_steps=50, pct_start=0.3, div_factor=25, final_div_factor=1e4),
     lambda o: tls.OneCycleLR(o, max_lr=LR0, total_steps=50, pct_start=0.3, div_factor=25,
                              final_div_factor=1e4, cycle_momentum=False), 50),
    ("one_cycle", dict(total_steps=23, pct_start=0.45, div_factor=10, final_div_factor=100),
     lambda o: tls.OneCycleLR(o, max_lr=LR0, total_steps=23, pct_start=0.45, div_factor=10,
                              final_div_factor=100, cycle_momentum=False), 23),
]  # fmt: skip


@pytest.mark.parametrize(("name", "kw", "build", "steps"), PAIRS, ids=[p[0] for p in PAIRS])
def test_matches_torch(name, kw, build, steps):
    want = torch_rates(build, steps)
    got = ours(name, steps, **kw)
    assert got == pytest.approx(want, rel=1e-9, abs=1e-12)
    assert len(set(round(r, 12) for r in got)) > 2  # the schedule changes the rate


def test_wrong_variants_fail():
    """Misreadings that the torch comparison must reject."""
    want_exp = torch_rates(lambda o: tls.ExponentialLR(o, gamma=math.exp(-0.15)), 20)
    as_gamma = [LR0 * 0.15**t for t in range(20)]  # c read as the per-step factor
    assert as_gamma != pytest.approx(want_exp, rel=1e-6)
    want_cos = torch_rates(lambda o: tls.CosineAnnealingLR(o, T_max=30, eta_min=0.01), 31)
    no_min = [LR0 * (1 + math.cos(math.pi * t / 30)) / 2 for t in range(31)]
    half_period = [0.01 + (LR0 - 0.01) * math.cos(math.pi * t / 60) for t in range(31)]
    for wrong in (no_min, half_period):
        assert wrong != pytest.approx(want_cos, rel=1e-6)
    want_step = torch_rates(lambda o: tls.StepLR(o, step_size=7, gamma=0.3), 30)
    off_by_one = [LR0 * 0.3 ** ((t + 1) // 7) for t in range(30)]
    assert off_by_one != pytest.approx(want_step, rel=1e-6)
    want_oc = torch_rates(lambda o: tls.OneCycleLR(o, max_lr=LR0, total_steps=50,
                                                   cycle_momentum=False), 50)  # fmt: skip
    linear_up = [LR0 / 25 + (LR0 - LR0 / 25) * min(t / 14, 1) for t in range(50)]
    assert linear_up != pytest.approx(want_oc, rel=1e-6)


def test_one_cycle_shape():
    f = make_schedule("one_cycle", 1.0, total_steps=100, pct_start=0.25)
    rates = [f(t) for t in range(100)]
    peak = max(range(100), key=rates.__getitem__)
    assert rates[0] == pytest.approx(1 / 25) and rates[peak] == pytest.approx(1.0)
    assert rates[-1] == pytest.approx(1 / 25 / 1e4)
    assert abs(peak - 24) <= 1
    with pytest.raises(ValueError, match="past the last step"):
        f(100)


def test_scheduled_lr_drives_an_optimizer_like_torch():
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=LR0)
    sched = ScheduledLR(opt, make_schedule("cosine", LR0, T=10))
    want = torch_rates(lambda o: tls.CosineAnnealingLR(o, T_max=10), 11)
    got = []
    for _ in range(11):
        got.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    assert got == pytest.approx(want, rel=1e-9, abs=1e-12)
    state = sched.state_dict()
    opt2 = torch.optim.SGD([p], lr=LR0)
    sched2 = ScheduledLR(opt2, make_schedule("cosine", LR0, T=10))
    sched2.load_state_dict(state)
    assert sched2.get_last_lr() == sched.get_last_lr()


def test_scheduled_lr_in_fit():
    from companion.train import fit

    X = torch.randn(32, 3, generator=torch.Generator().manual_seed(0))
    y = (X[:, 0] > 0).long()
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    sched = ScheduledLR(opt, make_schedule("step", 0.5, step_size=2, gamma=0.5))
    fit(model, opt, torch.nn.functional.cross_entropy, (X, y), epochs=5, scheduler=sched,
        progress=False)  # fmt: skip
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5 * 0.5 ** (5 // 2))


def test_every_schedule_is_positive_and_starts_sensibly():
    kw = {"one_cycle": dict(total_steps=20), "cosine": dict(T=20)}
    for name in SCHEDULES:
        f = make_schedule(name, LR0, **kw.get(name, {}))
        rates = [f(t) for t in range(20)]
        assert all(r > 0 for r in rates), name
        assert max(rates) <= LR0 + 1e-12, name
