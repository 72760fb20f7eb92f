"""Gradient accumulation equals the large batch; checkpointing saves memory (Chapter 9, §9.3)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from companion.accumulation import accumulated_gradients, checkpointing_cost, large_batch_gradients


def _model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))


def _data(n=30, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, 6, generator=gen), torch.randint(0, 3, (n,), generator=gen)


@pytest.mark.parametrize("k", [1, 2, 3, 5, 7, 30])  # 7 does not divide 30: uneven micro-batches
def test_accumulation_equals_large_batch(k):
    model, (X, y) = _model(), _data()
    big = large_batch_gradients(model, X, y, nn.functional.cross_entropy)
    acc = accumulated_gradients(model, X, y, nn.functional.cross_entropy, k)
    for a, b in zip(acc, big, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_wrong_weighting_fails_on_uneven_micro_batches():
    """Weighting each micro-batch by 1/k (instead of B_j/B) is wrong when sizes differ."""
    model, (X, y) = _model(), _data()
    big = large_batch_gradients(model, X, y, nn.functional.cross_entropy)
    model.zero_grad()
    for Xj, yj in zip(X.tensor_split(7), y.tensor_split(7), strict=True):
        (nn.functional.cross_entropy(model(Xj), yj) / 7).backward()
    wrong = [p.grad for p in model.parameters()]
    assert max((a - b).abs().max() for a, b in zip(wrong, big, strict=True)) > 1e-4
    model.zero_grad()
    for Xj, yj in zip(X.tensor_split(3), y.tensor_split(3), strict=True):
        nn.functional.cross_entropy(model(Xj), yj).backward()  # no weighting: k times too large
    assert torch.allclose(next(model.parameters()).grad, 3 * big[0], rtol=1e-4, atol=1e-6)


def test_accumulation_with_sgd_reaches_the_same_weights():
    X, y = _data(40)
    a, b = _model(3), _model(3)
    oa, ob = torch.optim.SGD(a.parameters(), lr=0.5), torch.optim.SGD(b.parameters(), lr=0.5)
    for _ in range(10):
        large_batch_gradients(a, X, y, nn.functional.cross_entropy)
        oa.step()
        accumulated_gradients(b, X, y, nn.functional.cross_entropy, 4)
        ob.step()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_checkpointing_saves_activation_memory_and_keeps_gradients():
    torch.manual_seed(0)
    model = nn.Sequential(*[nn.Sequential(nn.Linear(64, 64), nn.ReLU()) for _ in range(8)])
    X = torch.randn(32, 64)
    cost = checkpointing_cost(model, X, segments=4, repeats=3)
    unit = 32 * 64 * 4
    assert cost.plain_bytes == 9 * unit  # the input and eight ReLU outputs
    # segment inputs (input + 3 boundaries) + the last, uncheckpointed segment's 2 ReLU outputs
    assert cost.checkpointed_bytes == 6 * unit
    assert cost.memory_ratio == pytest.approx(6 / 9)
    assert cost.plain_seconds > 0 and cost.checkpointed_seconds > 0
