"""FedAvg against full-batch gradient descent (its exact special case) and its splits."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from companion.federated import average_weights, dirichlet_split, fedavg, iid_split, local_sgd


def net(seed=0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3))


def data(n=90, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 6, generator=g)
    return X, (X[:, 0] + X[:, 1] > 0).long() + (X[:, 2] > 1).long()


def unequal_clients(X, y):
    cuts = [0, 10, 40, 90]  # 10, 30 and 50 rows: unequal on purpose
    return [(X[a:b], y[a:b]) for a, b in zip(cuts, cuts[1:], strict=False)]


def test_one_full_batch_step_per_round_is_gradient_descent_on_all_data():
    X, y = data()
    fed = fedavg(net(), unequal_clients(X, y), rounds=5, local_epochs=1, lr=0.3, batch_size=100)
    ref = net()
    opt = torch.optim.SGD(ref.parameters(), lr=0.3)
    for _ in range(5):
        opt.zero_grad()
        F.cross_entropy(ref(X), y).backward()
        opt.step()
    for a, b in zip(fed.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_unweighted_average_is_not_gradient_descent():
    """The wrong variant (each client weighted equally) fails the same comparison."""
    X, y = data()
    clients = unequal_clients(X, y)
    start = net().state_dict()
    states = []
    for Xk, yk in clients:
        m = net()
        local_sgd(m, Xk, yk, 1, 0.3, 100)
        states.append(m.state_dict())
    ref = net()
    opt = torch.optim.SGD(ref.parameters(), lr=0.3)
    F.cross_entropy(ref(X), y).backward()
    opt.step()
    right = average_weights(states, [10, 30, 50])
    wrong = average_weights(states, [1, 1, 1])
    torch.testing.assert_close(right["0.weight"], ref[0].weight.detach(), rtol=1e-5, atol=1e-6)
    assert not torch.allclose(wrong["0.weight"], ref[0].weight.detach(), atol=1e-4)
    assert not torch.equal(start["0.weight"], right["0.weight"])


def test_average_weights_keeps_integer_buffers():
    a = nn.BatchNorm1d(3).state_dict()
    b = {k: v.clone() + (1 if v.is_floating_point() else 5) for k, v in a.items()}
    avg = average_weights([a, b], [1.0, 3.0])
    torch.testing.assert_close(avg["weight"], a["weight"] + 0.75)
    assert avg["num_batches_tracked"].dtype == torch.long
    assert avg["num_batches_tracked"] == a["num_batches_tracked"]


def test_dirichlet_split_is_a_partition_and_alpha_controls_skew():
    y = torch.arange(1000) % 10
    for alpha, seed in ((0.1, 0), (100.0, 0)):
        parts = dirichlet_split(y, 5, alpha, torch.Generator().manual_seed(seed))
        assert torch.equal(torch.sort(torch.cat(parts)).values, torch.arange(1000))
    skewed = dirichlet_split(y, 5, 0.1, torch.Generator().manual_seed(0))
    even = dirichlet_split(y, 5, 100.0, torch.Generator().manual_seed(0))

    def classes_held(parts):  # mean number of classes with >= 5% of a client's rows
        return sum(
            int((torch.bincount(y[p], minlength=10) >= 0.05 * max(len(p), 1)).sum()) for p in parts
        ) / len(parts)

    assert classes_held(skewed) < 5 < classes_held(even)
    again = dirichlet_split(y, 5, 0.1, torch.Generator().manual_seed(0))
    assert all(torch.equal(a, b) for a, b in zip(skewed, again, strict=True))


def test_iid_split():
    parts = iid_split(10, 3, torch.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [4, 3, 3]
    assert torch.equal(torch.sort(torch.cat(parts)).values, torch.arange(10))


def test_fedavg_learns_and_calls_back():
    X, y = data(300)
    seen = []
    model = fedavg(net(), unequal_clients(X[:90], y[:90]) + [(X[90:], y[90:])], rounds=10,
                   local_epochs=2, lr=0.2, batch_size=16,
                   on_round=lambda t, m: seen.append(t))  # fmt: skip
    assert seen == list(range(10))
    assert (model(X).argmax(1) == y).float().mean() > 0.8


def test_empty_clients_are_skipped():
    X, y = data()
    clients = unequal_clients(X, y) + [(X[:0], y[:0])]
    a = fedavg(net(), clients, rounds=2, local_epochs=1, lr=0.3, batch_size=100)
    b = fedavg(net(), clients[:-1], rounds=2, local_epochs=1, lr=0.3, batch_size=100)
    torch.testing.assert_close(a[0].weight, b[0].weight)


@pytest.mark.gpu
def test_fedavg_cuda_matches_cpu():
    X, y = data()
    cpu = fedavg(net(), unequal_clients(X, y), rounds=3, local_epochs=1, lr=0.3, batch_size=100)
    gpu_clients = [(a.cuda(), b.cuda()) for a, b in unequal_clients(X, y)]
    gpu = fedavg(net().cuda(), gpu_clients, rounds=3, local_epochs=1, lr=0.3, batch_size=100)
    torch.testing.assert_close(gpu[0].weight.cpu(), cpu[0].weight, rtol=1e-4, atol=1e-5)
