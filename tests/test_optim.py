"""SGD, momentum and Nesterov from scratch match torch.optim.SGD step for step (Chapter 4)."""

import pytest
import torch

from companion.optim import SGD

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
    with pytest.raises(ValueError, match="positive"):
        SGD([p], lr=0)
    with pytest.raises(ValueError, match="momentum"):
        SGD([p], lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="Nesterov"):
        SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(TypeError, match="tensors"):
        SGD([[1.0]], lr=0.1)
    opt = SGD([p], lr=0.1)
    with pytest.raises(ValueError, match=r"gradient 0 has shape \(3,\)"):
        opt.step([torch.zeros(3)])
    with pytest.raises(ValueError, match="1 parameters"):
        opt.step([torch.zeros(2), torch.zeros(2)])
    with pytest.raises(ValueError, match="no .grad"):
        opt.step()
