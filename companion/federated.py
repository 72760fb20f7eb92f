"""Federated averaging over simulated clients (Chapter 14, §14.4; McMahan et al., 2017).

The data stay on :math:`K` clients; client :math:`k` holds :math:`n_k` rows. Each round, the
server sends the global weights :math:`w_t` to the clients, each runs ``local_epochs`` of
minibatch SGD on its own rows (:func:`local_sgd`), and the server replaces the weights by the
average of the returned ones weighted by data size (:func:`average_weights`, eq. ch14-fedavg):
:math:`w_{t+1} = \\sum_k \\frac{n_k}{n} w_{t+1}^{(k)}`. With one full-batch step per round this is
exactly full-batch gradient descent on all the data; with several local steps on clients whose
label distributions differ (*non-IID*), the clients drift apart and the average is worse.

:func:`dirichlet_split` makes such clients: the rows of each class are shared among clients in
proportions drawn from a Dirichlet distribution with concentration ``alpha`` (Hsu et al., 2019);
small ``alpha`` gives each client few classes, large ``alpha`` approaches an IID split.

Features ``X`` are ``(N, ...)`` float tensors of the model's dtype, labels ``(N,)`` int64.
Arguments are checked with :mod:`companion.validation` (tensors are not converted silently,
float64 data for a float32 model are refused, counts are positive integers).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from companion.interpretability import check_model_and_input
from companion.validation import (
    check_index_tensor,
    check_int,
    check_nonnegative,
    check_positive,
    check_positive_int,
    describe,
)

__all__ = ["dirichlet_split", "iid_split", "local_sgd", "average_weights", "fedavg"]


def _check_generator(generator) -> torch.Generator | None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be None or a torch.Generator, got {describe(generator)}")
    return generator


def iid_split(n: int, n_clients: int, generator: torch.Generator | None = None):
    """A random partition of ``range(n)`` into ``n_clients`` parts of (almost) equal size."""
    n = check_positive_int(n, "n")
    n_clients = check_positive_int(n_clients, "n_clients")
    if n_clients > n:
        raise ValueError(f"n_clients must be at most n={n}, got {n_clients}")
    perm = torch.randperm(n, generator=_check_generator(generator))
    return list(torch.tensor_split(perm, n_clients))


def dirichlet_split(
    labels: torch.Tensor, n_clients: int, alpha: float, generator: torch.Generator | None = None
) -> list[torch.Tensor]:
    """Indices of each client's rows: the rows of every class are shared out in proportions
    drawn from Dirichlet(``alpha``, ..., ``alpha``). A client may receive no rows at all."""
    labels = check_index_tensor(labels, "labels")
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D (N,), got shape {tuple(labels.shape)}")
    n_clients = check_positive_int(n_clients, "n_clients")
    alpha = check_positive(alpha, "alpha")
    generator = _check_generator(generator)
    dirichlet = torch.distributions.Dirichlet(torch.full((n_clients,), float(alpha)))
    parts: list[list[torch.Tensor]] = [[] for _ in range(n_clients)]
    labels = labels.cpu()
    for c in torch.unique(labels):
        rows = torch.nonzero(labels == c).squeeze(1)
        rows = rows[torch.randperm(len(rows), generator=generator)]
        # Dirichlet sample through Gamma draws seeded by the generator (reproducible)
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            share = dirichlet.sample()
        cuts = (torch.cumsum(share, 0)[:-1] * len(rows)).round().long()
        for k, part in enumerate(torch.tensor_split(rows, cuts)):
            parts[k].append(part)
    return [torch.sort(torch.cat(p)).values for p in parts]


def _check_data(model, X, y, name: str = "X"):
    X = check_model_and_input(model, X, name)
    y = check_index_tensor(y, "y")
    if y.shape != X.shape[:1]:
        raise ValueError(f"y must have shape ({X.shape[0]},), one label per row of {name}, got "
                         f"{tuple(y.shape)}")  # fmt: skip
    return X, y


def local_sgd(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    epochs: int,
    lr: float,
    batch_size: int,
    generator: torch.Generator | None = None,
    loss_fn: Callable = F.cross_entropy,
) -> nn.Module:
    """``epochs`` passes of minibatch SGD over ``(X, y)`` (shuffled by ``generator``), in place."""
    X, y = _check_data(model, X, y)
    epochs = check_positive_int(epochs, "epochs")
    lr = check_positive(lr, "lr")
    batch_size = check_positive_int(batch_size, "batch_size")
    generator = _check_generator(generator)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=generator).to(X.device)
        for i in range(0, len(X), batch_size):
            rows = order[i : i + batch_size]
            opt.zero_grad()
            loss_fn(model(X[rows]), y[rows]).backward()
            opt.step()
    return model


def average_weights(states: Sequence[dict], weights: Sequence[float]) -> dict:
    """The weighted average of several ``state_dict``s (weights are normalised to sum to 1).

    Floating-point entries are averaged; integer buffers (such as batch norm's step counter)
    are taken from the first state.
    """
    if not isinstance(states, (list, tuple)) or not states:
        raise TypeError(f"states must be a non-empty list of state_dicts, got {describe(states)}")
    if not isinstance(weights, (list, tuple)) or len(weights) != len(states):
        raise ValueError(f"weights must be a list with one weight per state ({len(states)}), "
                         f"got {describe(weights)}")  # fmt: skip
    w = [check_nonnegative(v, "weights") for v in weights]
    total = sum(w)
    if total <= 0:
        raise ValueError(f"weights must not all be zero, got {weights!r}")
    keys = states[0].keys()
    for i, s in enumerate(states):
        if s.keys() != keys:
            raise ValueError(f"states[{i}] has other entries than states[0]")
    out = {}
    for k in keys:
        if states[0][k].is_floating_point():
            out[k] = sum(wi / total * s[k] for wi, s in zip(w, states, strict=True))
        else:
            out[k] = states[0][k].clone()
    return out


def fedavg(
    model: nn.Module,
    clients: Sequence[tuple[torch.Tensor, torch.Tensor]],
    rounds: int,
    local_epochs: int,
    lr: float,
    batch_size: int,
    seed: int = 0,
    loss_fn: Callable = F.cross_entropy,
    on_round: Callable[[int, nn.Module], None] | None = None,
) -> nn.Module:
    """Train ``model`` (the global model, updated in place) by federated averaging.

    ``clients``: a list of ``(X_k, y_k)``; clients without rows are skipped. Every round all
    clients take part; ``on_round(t, model)`` is called after each round (e.g. to evaluate).
    """
    if not isinstance(clients, (list, tuple)) or not clients:
        raise TypeError(f"clients must be a non-empty list of (X, y) pairs, got "
                        f"{describe(clients)}")  # fmt: skip
    checked = []
    for i, pair in enumerate(clients):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise TypeError(f"clients[{i}] must be a pair (X, y), got {describe(pair)}")
        if len(pair[0]) > 0:
            checked.append(_check_data(model, pair[0], pair[1], f"clients[{i}][0]"))
    if not checked:
        raise ValueError("clients must hold at least one row in total")
    rounds = check_positive_int(rounds, "rounds")
    seed = check_int(seed, "seed", min=0)
    gen = torch.Generator().manual_seed(seed)
    sizes = [len(X) for X, _ in checked]
    local = [copy.deepcopy(model) for _ in checked]
    for t in range(rounds):
        start = model.state_dict()
        states = []
        for client, (X, y) in zip(local, checked, strict=True):
            client.load_state_dict(start)
            local_sgd(client, X, y, local_epochs, lr, batch_size, gen, loss_fn)
            states.append({k: v.detach().clone() for k, v in client.state_dict().items()})
        model.load_state_dict(average_weights(states, sizes))
        if on_round is not None:
            on_round(t, model)
    return model
