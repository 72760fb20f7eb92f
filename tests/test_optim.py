"""SGD, momentum and Nesterov from scratch match torch.optim.SGD step for step (Chapter 4)."""

import math

import pytest
import torch

from companion.optim import SGD, quadratic_rates

CONFIGS = [
    dict(lr=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.2, momentum=0.5, weight_decay=0.01),
]


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_matches_torch_step_for_step(config):
    g = torch.Generator().manual_seed(0)
    init = [
        torch.randn(3, 2, generator=g, dtype=torch.float64),
        torch.randn(4, generator=g, dtype=torch.float64),
    ]
    ours = [p.clone() for p in init]
    theirs = [p.clone().requires_grad_() for p in init]
    opt, ref = SGD(ours, **config), torch.optim.SGD(theirs, **config)
    for _ in range(25):
        # gradients that depend on the current parameters, as in real training
        grads = [torch.sin(3 * p) + 0.5 * p for p in ours]
        for t in theirs:
            t.grad = torch.sin(3 * t.detach()) + 0.5 * t.detach()
        opt.step(grads)
        ref.step()
        for p, t in zip(ours, theirs, strict=True):
            torch.testing.assert_close(p, t.detach(), rtol=1e-12, atol=1e-12)


def test_step_reads_dot_grad_and_momentum_speeds_up_a_valley():
    def loss(p):  # an elongated quadratic bowl
        return 0.5 * (p[0] ** 2 + 25 * p[1] ** 2)

    finals = {}
    for momentum in (0.0, 0.9):
        p = torch.tensor([-4.0, 1.0], dtype=torch.float64, requires_grad=True)
        opt = SGD([p], lr=0.02, momentum=momentum)
        for _ in range(100):
            p.grad = None
            loss(p).backward()
            opt.step()
        finals[momentum] = loss(p).item()
    assert finals[0.9] < 0.01 * finals[0.0]


def test_clear_errors():
    p = torch.zeros(2)
    with pytest.raises(ValueError, match="lr must be > 0"):
        SGD([p], lr=0)
    with pytest.raises(ValueError, match="lr must be finite"):
        SGD([p], lr=float("nan"))
    with pytest.raises(ValueError, match="momentum"):
        SGD([p], lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="nesterov"):
        SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(TypeError, match="params"):
        SGD([[1.0]], lr=0.1)
    opt = SGD([p], lr=0.1)
    with pytest.raises(ValueError, match=r"grads\[0\] has shape \(3,\)"):
        opt.step([torch.zeros(3)])
    with pytest.raises(ValueError, match="1 parameters"):
        opt.step([torch.zeros(2), torch.zeros(2)])
    with pytest.raises(ValueError, match="no .grad"):
        opt.step()


def _run_on_quadratic(lams, lr, momentum, steps):
    """torch.optim.SGD on f = 1/2 sum lam_i theta_i^2 from theta = 1: the error norm per step."""
    theta = torch.ones(len(lams), dtype=torch.float64, requires_grad=True)
    lam = torch.tensor(lams, dtype=torch.float64)
    opt = torch.optim.SGD([theta], lr=lr, momentum=momentum)
    norms = []
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (lam * theta**2).sum()).backward()
        opt.step()
        norms.append(theta.detach().norm().item())
    return norms


def _measured_rate(norms, start=100, stop=200):
    return (norms[stop] / norms[start]) ** (1 / (stop - start))


@pytest.mark.parametrize("kappa", [10.0, 100.0])
def test_quadratic_rates_match_measurement(kappa):
    lams = [1.0, kappa**0.5, kappa]
    r = quadratic_rates(1.0, kappa)
    assert r["gd_rate"] == pytest.approx((kappa - 1) / (kappa + 1))
    gd = _measured_rate(_run_on_quadratic(lams, r["gd_lr"], 0.0, 201))
    assert gd == pytest.approx(r["gd_rate"], rel=1e-6)
    # heavy ball: the optimal (lr, momentum) give a double root, error ~ t r^t: allow 3%
    hb = _measured_rate(_run_on_quadratic(lams, r["hb_lr"], r["hb_momentum"], 201))
    assert hb == pytest.approx(r["hb_rate"], rel=0.03)
    assert hb < gd
    # wrong variants are slower: GD at a quarter of its limit, momentum at a guessed value
    quarter = _measured_rate(_run_on_quadratic(lams, 0.25 * 2 / kappa, 0.0, 201))
    assert quarter > gd * (1 + 1e-3)
    guessed = _measured_rate(_run_on_quadratic(lams, r["hb_lr"], 0.5 * r["hb_momentum"], 201))
    assert guessed > hb * (1 + 1e-3)


def test_momentum_gives_nothing_on_a_round_bowl():
    r = quadratic_rates(2.0, 2.0)  # kappa = 1: GD at its best step lands in one step
    assert r["gd_rate"] == 0.0 and r["hb_momentum"] == 0.0
    assert _run_on_quadratic([2.0, 2.0], r["gd_lr"], 0.0, 1)[-1] == 0.0


def test_effective_step_on_a_constant_slope():
    """With a constant gradient g the velocity tends to g / (1 - mu): step lr / (1 - mu)."""
    p = torch.zeros(1, dtype=torch.float64)
    opt = SGD([p], lr=0.01, momentum=0.9)
    for _ in range(400):
        before = p.clone()
        opt.step([torch.ones(1, dtype=torch.float64)])
    assert (before - p).item() == pytest.approx(0.01 / (1 - 0.9), rel=1e-10)
    assert math.isclose(quadratic_rates(1.0, 4.0)["kappa"], 4.0)


@pytest.mark.gpu
def test_sgd_on_cuda_matches_cpu():
    """CPU vs CUDA, float64, 25 momentum steps: equal to 1e-12."""
    g = torch.Generator().manual_seed(0)
    init = torch.randn(5, 3, generator=g, dtype=torch.float64)
    finals = []
    for device in ("cpu", "cuda"):
        p = init.clone().to(device)
        opt = SGD([p], lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)
        for _ in range(25):
            opt.step([torch.sin(3 * p) + 0.5 * p])
        finals.append(p.cpu())
    torch.testing.assert_close(finals[1], finals[0], rtol=1e-12, atol=1e-12)
