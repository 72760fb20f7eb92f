"""companion.adaptive_optim against torch.optim, step for step (Chapter 8, §8.3)."""

from __future__ import annotations

import math

import pytest
import torch

from companion.adaptive_optim import AdaGrad, Adam, AdamW, RMSProp

STEPS = 12


def _problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(8, 5, generator=g, dtype=torch.float64)
    b = torch.randn(8, generator=g, dtype=torch.float64)
    w0 = torch.randn(5, generator=g, dtype=torch.float64)
    b0 = torch.randn(3, generator=g, dtype=torch.float64)

    def loss(w, c):
        return ((A @ w - b) ** 2).mean() + (c**4).sum() + (w[:3] * c).sum()

    return w0, b0, loss


def _trajectories(ours_cls, theirs_cls, kwargs, theirs_kwargs=None, steps=STEPS):
    w0, b0, loss = _problem()
    ours = [w0.clone().requires_grad_(), b0.clone().requires_grad_()]
    theirs = [w0.clone().requires_grad_(), b0.clone().requires_grad_()]
    opt_o = ours_cls(ours, **kwargs)
    opt_t = theirs_cls(theirs, **(theirs_kwargs if theirs_kwargs is not None else kwargs))
    gaps = []
    for _ in range(steps):
        for params, opt in ((ours, opt_o), (theirs, opt_t)):
            opt.zero_grad()
            loss(*params).backward()
            opt.step()
        gaps.append(max((a - b).abs().max().item() for a, b in zip(ours, theirs, strict=True)))
    return gaps, ours, theirs


CASES = [
    (AdaGrad, torch.optim.Adagrad, dict(lr=0.1)),
    (AdaGrad, torch.optim.Adagrad, dict(lr=0.05, weight_decay=0.1, eps=1e-6)),
    (RMSProp, torch.optim.RMSprop, dict(lr=0.01)),
    (RMSProp, torch.optim.RMSprop, dict(lr=0.01, alpha=0.9, weight_decay=0.05)),
    (RMSProp, torch.optim.RMSprop, dict(lr=0.01, momentum=0.8, weight_decay=0.05)),
    (RMSProp, torch.optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
    (Adam, torch.optim.Adam, dict(lr=0.05)),
    (Adam, torch.optim.Adam, dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.1)),
    (AdamW, torch.optim.AdamW, dict(lr=0.05)),
    (AdamW, torch.optim.AdamW, dict(lr=0.05, betas=(0.85, 0.95), weight_decay=0.3, eps=1e-6)),
]


@pytest.mark.parametrize(("ours", "theirs", "kwargs"), CASES)
def test_matches_torch_step_for_step(ours, theirs, kwargs):
    gaps, params, _ = _trajectories(ours, theirs, kwargs)
    assert max(gaps) < 1e-12, gaps
    moved = params[0].detach() - _problem()[0]
    assert moved.abs().max() > 1e-2  # the comparison is not vacuous


def test_float32_close_to_torch():
    w = torch.randn(50, generator=torch.Generator().manual_seed(1))
    a, b = w.clone().requires_grad_(), w.clone().requires_grad_()
    oa, ob = (
        AdamW([a], lr=1e-2, weight_decay=0.1),
        torch.optim.AdamW([b], lr=1e-2, weight_decay=0.1),
    )
    for _ in range(20):
        for p, o in ((a, oa), (b, ob)):
            o.zero_grad()
            ((p - 1) ** 3).sum().backward()
            o.step()
    torch.testing.assert_close(a, b)


# --- wrong variants must be told apart by the same comparison -------------------------------


class AdamNoBiasCorrection(Adam):
    def __init__(self, params, **kw):
        super().__init__(params, bias_correction=False, **kw)


class AdamWAsL2(Adam):
    """The classic mistake: 'AdamW' implemented as Adam with an L2 term in the gradient."""


class AdamWCoupledAfter(AdamW):
    """Decay applied after the Adam step instead of before it (lr * wd * updated p)."""

    @torch.no_grad()
    def step(self, closure=None):
        wd = self.param_groups[0]["weight_decay"]
        self.param_groups[0]["weight_decay"] = 0.0
        super().step()
        self.param_groups[0]["weight_decay"] = wd
        for p in self.param_groups[0]["params"]:
            p.mul_(1 - self.param_groups[0]["lr"] * wd)


class RMSPropNoEpsInside(RMSProp):
    """eps inside the square root: a plausible but different variant."""

    @torch.no_grad()
    def step(self, closure=None):
        group = self.param_groups[0]
        for p in group["params"]:
            st = self.state[p]
            if not st:
                st["v"] = torch.zeros_like(p)
            st["v"].mul_(group["alpha"]).add_((1 - group["alpha"]) * p.grad**2)
            p -= group["lr"] * p.grad / (st["v"] + group["eps"]).sqrt()


class AdaGradMean(AdaGrad):
    """Averages the squared gradients instead of summing them (that is RMSProp-like)."""

    @torch.no_grad()
    def step(self, closure=None):
        group = self.param_groups[0]
        for p in group["params"]:
            st = self.state[p]
            if not st:
                st["s"], st["t"] = torch.zeros_like(p), 0
            st["t"] += 1
            st["s"] += (p.grad**2 - st["s"]) / st["t"]
            p -= group["lr"] * p.grad / (st["s"].sqrt() + group["eps"])


WRONG = [
    ("Adam without bias correction", AdamNoBiasCorrection, torch.optim.Adam, dict(lr=0.05)),
    ("AdamW as Adam + L2", AdamWAsL2, torch.optim.AdamW, dict(lr=0.05, weight_decay=0.3)),
    ("AdamW decay after the step", AdamWCoupledAfter, torch.optim.AdamW,
     dict(lr=0.05, weight_decay=0.3)),
    ("RMSProp eps inside the root", RMSPropNoEpsInside, torch.optim.RMSprop,
     dict(lr=0.01, eps=1e-3)),
    ("AdaGrad with a mean", AdaGradMean, torch.optim.Adagrad, dict(lr=0.1)),
]  # fmt: skip


@pytest.mark.parametrize(("what", "wrong", "theirs", "kwargs"), WRONG, ids=[w[0] for w in WRONG])
def test_wrong_variants_are_caught(what, wrong, theirs, kwargs):
    gaps, _, _ = _trajectories(wrong, theirs, kwargs)
    assert max(gaps) > 1e-4, what


def test_adam_with_l2_differs_from_adamw():
    """Same weight decay number, different algorithms (eq. ch08-adamw)."""
    gaps, _, _ = _trajectories(Adam, torch.optim.AdamW, dict(lr=0.05, weight_decay=0.3))
    assert max(gaps) > 1e-3


def test_first_adam_step_is_lr_times_sign():
    """With bias correction the first step is lr * g / (|g| + eps) ~ lr * sign(g)."""
    p = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64, requires_grad=True)
    opt = Adam([p], lr=0.1)
    p.grad = torch.tensor([1e-3, -5.0, 20.0], dtype=torch.float64)
    opt.step()
    torch.testing.assert_close(
        p.detach(), torch.tensor([0.9, -1.9, 2.9], dtype=torch.float64), atol=1e-6, rtol=0
    )
    q = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    q.grad = torch.tensor([1.0], dtype=torch.float64)
    AdamNoBiasCorrection([q], lr=0.1).step()  # step = lr * 0.1 g / sqrt(0.001 g^2)
    assert math.isclose(1.0 - q.item(), 0.1 * 0.1 / math.sqrt(0.001), rel_tol=1e-6)


def test_works_with_fit_and_torch_scheduler():
    from companion.train import fit

    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, 4, generator=g)
    y = (X[:, 0] > 0).long()
    model = torch.nn.Linear(4, 2)
    opt = AdamW(model.parameters(), lr=0.05)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    hist = fit(model, opt, torch.nn.functional.cross_entropy, (X, y), epochs=4, progress=False,
               scheduler=sched)  # fmt: skip
    assert hist["train_loss"][-1] < hist["train_loss"][0]
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05 * 0.25)


def test_param_groups_and_state_dict_roundtrip():
    a = torch.zeros(2, requires_grad=True)
    b = torch.zeros(3, requires_grad=True)
    opt = Adam([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    a.grad, b.grad = torch.ones(2), torch.ones(3)
    opt.step()
    state = opt.state_dict()
    opt2 = Adam([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    opt2.load_state_dict(state)
    assert opt2.state[a]["step"] == 1


@pytest.mark.gpu
@pytest.mark.parametrize("cls", [AdaGrad, RMSProp, Adam, AdamW])
def test_cuda_matches_cpu(cls):
    """On CUDA the same steps as on the CPU, within float32 rounding (rtol 1e-5)."""
    w = torch.randn(64, generator=torch.Generator().manual_seed(0))
    results = []
    for device in ("cpu", "cuda"):
        p = w.clone().to(device).requires_grad_()
        opt = cls([p], lr=1e-2, weight_decay=0.1)
        for _ in range(10):
            opt.zero_grad()
            ((p - 1) ** 2 * torch.arange(64, device=device)).sum().backward()
            opt.step()
        results.append(p.detach().cpu())
    torch.testing.assert_close(results[1], results[0], rtol=1e-5, atol=1e-6)
