"""companion.training_sweeps.train_epochs takes exactly the steps of companion.train.fit."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from companion.schedules import ScheduledLR, make_schedule
from companion.train import fit
from companion.training_sweeps import evaluate_model, train_epochs


def _data():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(150, 5, generator=g)
    y = (X[:, 0] + X[:, 1] > 0).long()
    return X, y


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 2))


def test_same_weights_as_fit():
    X, y = _data()
    a, b = _model(), _model()
    oa = torch.optim.SGD(a.parameters(), lr=0.1, momentum=0.9)
    ob = torch.optim.SGD(b.parameters(), lr=0.1, momentum=0.9)
    sa = ScheduledLR(oa, make_schedule("cosine", 0.1, T=4))
    sb = ScheduledLR(ob, make_schedule("cosine", 0.1, T=4))
    hist = fit(a, oa, F.cross_entropy, (X, y), epochs=4, batch_size=32, seed=3, scheduler=sa,
               progress=False)  # fmt: skip
    run = train_epochs(b, ob, F.cross_entropy, X, y, epochs=4, batch_size=32, seed=3, scheduler=sb)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=1e-6, atol=1e-7)
    assert run.train_loss == [pytest_approx(v) for v in hist["train_loss"]]
    # a different seed gives different weights: the comparison is not vacuous
    c = _model()
    train_epochs(c, torch.optim.SGD(c.parameters(), lr=0.1, momentum=0.9), F.cross_entropy, X, y,
                 epochs=4, batch_size=32, seed=4)  # fmt: skip
    assert not torch.allclose(next(a.parameters()), next(c.parameters()))


def pytest_approx(v):
    import pytest

    return pytest.approx(v, rel=1e-5)


def test_clipping_matches_fit_and_divergence_is_reported():
    X, y = _data()
    a, b = _model(), _model()
    oa, ob = torch.optim.SGD(a.parameters(), lr=0.5), torch.optim.SGD(b.parameters(), lr=0.5)
    fit(a, oa, F.cross_entropy, (X, y), epochs=2, batch_size=16, max_grad_norm=0.1,
        progress=False)  # fmt: skip
    train_epochs(b, ob, F.cross_entropy, X, y, epochs=2, batch_size=16, max_grad_norm=0.1)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=1e-6, atol=1e-7)
    m = _model()
    with torch.no_grad():
        m[2].bias.copy_(torch.tensor([3e38, -3e38]))  # the loss overflows float32 to inf
    run = train_epochs(m, torch.optim.SGD(m.parameters(), lr=1.0), F.cross_entropy, X, y,
                       epochs=5, batch_size=16)  # fmt: skip
    assert run.diverged and len(run.train_loss) < 5


def test_evaluate_model_restores_mode():
    X, y = _data()
    m = nn.Sequential(nn.Linear(5, 2), nn.Dropout(0.5))
    m.train()
    out = evaluate_model(m, X, y, F.cross_entropy)
    assert m.training
    with torch.no_grad():
        want = (m[0](X).argmax(1) == y).float().mean().item()
    assert out["acc"] == want
