"""Bad input to companion.interpretability, .adversarial, .federated and .dp (Chapter 14):
every plausible mistake gets a clear error (or, where the input is accepted on purpose, the
right answer against an independent computation)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from companion.adversarial import (
    add_trigger,
    attack_success_rate,
    fgsm,
    flip_labels,
    pgd,
    poison_with_trigger,
    project_linf,
    robust_accuracy,
)
from companion.dp import (
    clip_per_example,
    dp_sgd_gradient,
    per_example_gradients,
    rdp_epsilon,
    rdp_sampled_gaussian,
    train_dp_sgd,
)
from companion.federated import average_weights, dirichlet_split, fedavg, iid_split, local_sgd
from companion.interpretability import (
    attention_rollout,
    completeness_gap,
    integrated_gradients,
    quadrature,
    saliency,
)
from tests.badinput.harness import expect_clear_error

torch.manual_seed(0)
NET = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
X = torch.rand(4, 1, 4, 4)
Y = torch.tensor([0, 1, 2, 0])
MLP = nn.Sequential(nn.Linear(6, 3))
XF = torch.randn(5, 6)
YF = torch.tensor([0, 1, 2, 0, 1])
MAPS = [torch.softmax(torch.randn(2, 2, 5, 5), -1)]
GRADS = {"w": torch.randn(3, 4)}

CASES = [
    # interpretability
    (lambda: saliency(NET, X.numpy(), 0), "x", TypeError),
    (lambda: saliency(NET, X.tolist(), 0), "x", TypeError),
    (lambda: saliency(NET, X.double(), 0), "x", TypeError),  # float64 data, float32 model
    (lambda: saliency(NET, (X * 255).long(), 0), "x", TypeError),  # integer pixels
    (lambda: saliency(NET, X[0, 0, 0], 0), "x", ValueError),  # no batch axis
    (lambda: saliency("net", X, 0), "model", TypeError),
    (lambda: saliency(NET, X, 3), "target", ValueError),  # only 3 classes
    (lambda: saliency(NET, X, -1), "target", ValueError),
    (lambda: saliency(NET, X, 1.0), "target", TypeError),
    (lambda: saliency(NET, X, True), "target", TypeError),
    (lambda: saliency(NET, X, torch.tensor([0, 1])), "target", ValueError),  # wrong length
    (lambda: saliency(NET, X, torch.tensor([0.0, 1, 2, 0])), "target", TypeError),
    (lambda: saliency(NET, X, Y.numpy()), "target", TypeError),
    (lambda: saliency(NET, X, 0, absolute="yes"), "absolute", TypeError),
    (lambda: integrated_gradients(NET, X, 0, steps=0), "steps", ValueError),
    (lambda: integrated_gradients(NET, X, 0, steps=2.5), "steps", TypeError),
    (lambda: integrated_gradients(NET, X, 0, steps=True), "steps", TypeError),
    (lambda: integrated_gradients(NET, X, 0, method="simpson"), "method", ValueError),
    (lambda: integrated_gradients(NET, X, 0, baseline=X[:, :, :2]), "baseline", ValueError),
    (lambda: integrated_gradients(NET, X, 0, baseline=X.numpy()), "baseline", TypeError),
    (lambda: integrated_gradients(NET, X, 0, baseline=X.double()), "baseline", TypeError),
    (lambda: integrated_gradients(NET, X, 0, baseline="black"), "baseline", TypeError),
    (lambda: integrated_gradients(NET, X, 0, batch_size=0), "batch_size", ValueError),
    (lambda: quadrature(1, "riemann_trapezoid"), "steps", ValueError),
    (lambda: completeness_gap(NET, X, X[:2], 0), "attributions", ValueError),
    (lambda: completeness_gap(NET, X, X.numpy(), 0), "attributions", TypeError),
    (lambda: attention_rollout(MAPS[0]), "maps", TypeError),  # a tensor, not a list
    (lambda: attention_rollout([]), "maps", TypeError),
    (lambda: attention_rollout([torch.randn(2, 2, 5, 5)]), "maps[0]", ValueError),  # logits
    (lambda: attention_rollout([MAPS[0][0]]), "maps[0]", ValueError),  # no batch axis
    (lambda: attention_rollout([MAPS[0], MAPS[0][:, :, :4, :4]]), "maps[1]", ValueError),
    (lambda: attention_rollout(MAPS, residual=1), "residual", TypeError),
    # adversarial
    (lambda: fgsm(NET, X, Y, -0.1), "eps", ValueError),
    (lambda: fgsm(NET, X, Y, math.nan), "eps", ValueError),
    (lambda: fgsm(NET, X, Y, "0.1"), "eps", TypeError),
    (lambda: fgsm(NET, X, Y.float(), 0.1), "y", TypeError),  # float labels
    (lambda: fgsm(NET, X, torch.tensor([0, 1, 2, 3]), 0.1), "y", ValueError),  # class 3
    (lambda: fgsm(NET, X, Y[:3], 0.1), "y", ValueError),  # batch sizes differ
    (lambda: fgsm(NET, X, Y.tolist(), 0.1), "y", TypeError),
    (lambda: fgsm(NET, X.double(), Y, 0.1), "x", TypeError),
    (lambda: fgsm(NET, X, Y, 0.1, clamp=(1.0, 0.0)), "clamp", ValueError),
    (lambda: fgsm(NET, X, Y, 0.1, clamp=1.0), "clamp", TypeError),
    (lambda: pgd(NET, X, Y, 0.1, steps=0), "steps", ValueError),
    (lambda: pgd(NET, X, Y, 0.1, alpha=0.0), "alpha", ValueError),
    (lambda: pgd(NET, X, Y, 0.1, alpha=math.inf), "alpha", ValueError),
    (lambda: pgd(NET, X, Y, 0.1, random_start=1), "random_start", TypeError),
    (lambda: pgd(NET, X, Y, 0.1, generator=0), "generator", TypeError),
    (lambda: project_linf(X, X[:2], 0.1), "x_adv", ValueError),
    (lambda: project_linf(X.double(), X, 0.1), "x_adv", TypeError),
    (lambda: robust_accuracy(NET, X, Y, 0.1), "eps_values", TypeError),  # not a list
    (lambda: robust_accuracy(NET, X, Y, [0.1, -0.1]), "eps_values", ValueError),
    (lambda: robust_accuracy(NET, X, Y, [0.1], attack="cw"), "attack", ValueError),
    (lambda: flip_labels(Y, 1.5, 3), "fraction", ValueError),
    (lambda: flip_labels(Y, 0.5, 1), "num_classes", ValueError),
    (lambda: flip_labels(Y.float(), 0.5, 3), "y", TypeError),
    (lambda: flip_labels(Y, 0.5, 2), "y", ValueError),  # labels out of range for 2 classes
    (lambda: add_trigger(X[:, 0], 2), "x", ValueError),  # (N, H, W): no channel axis
    (lambda: add_trigger(X, 5), "size", ValueError),  # larger than the 4x4 image
    (lambda: add_trigger(X, 0), "size", ValueError),
    (lambda: add_trigger(X.long(), 2), "x", TypeError),
    (lambda: poison_with_trigger(X, Y[:2], 0.5, 0), "y", ValueError),
    (lambda: poison_with_trigger(X, Y, -0.1, 0), "fraction", ValueError),
    (lambda: poison_with_trigger(X, Y, 0.5, -1), "target", ValueError),
    (lambda: attack_success_rate(NET, X, Y, 1.5), "target", TypeError),
    (
        lambda: attack_success_rate(NET, X, torch.zeros(4, dtype=torch.long), 0),
        "target",
        ValueError,
    ),  # fmt: skip
    # federated
    (lambda: iid_split(10, 0), "n_clients", ValueError),
    (lambda: iid_split(3, 5), "n_clients", ValueError),
    (lambda: dirichlet_split(YF, 3, 0.0), "alpha", ValueError),
    (lambda: dirichlet_split(YF, 3, math.inf), "alpha", ValueError),
    (lambda: dirichlet_split(YF.numpy(), 3, 1.0), "labels", TypeError),
    (lambda: dirichlet_split(YF[None], 3, 1.0), "labels", ValueError),
    (lambda: dirichlet_split(YF, 2.5, 1.0), "n_clients", TypeError),
    (lambda: local_sgd(MLP, XF, YF, 1, -0.1, 2), "lr", ValueError),
    (lambda: local_sgd(MLP, XF, YF, 0, 0.1, 2), "epochs", ValueError),
    (lambda: local_sgd(MLP, XF, YF[:3], 1, 0.1, 2), "y", ValueError),
    (lambda: local_sgd(MLP, XF.double(), YF, 1, 0.1, 2), "X", TypeError),
    (lambda: average_weights([], []), "states", TypeError),
    (lambda: average_weights([MLP.state_dict()], [1.0, 2.0]), "weights", ValueError),
    (lambda: average_weights([MLP.state_dict()], [-1.0]), "weights", ValueError),
    (lambda: average_weights([MLP.state_dict()], [0.0]), "weights", ValueError),
    (
        lambda: average_weights([MLP.state_dict(), {"w": torch.ones(1)}], [1, 1]),
        "states[1]",
        ValueError,
    ),  # fmt: skip
    (lambda: fedavg(MLP, (XF, YF), 1, 1, 0.1, 2), "clients[0]", TypeError),  # a pair, not a list
    (lambda: fedavg(MLP, [], 1, 1, 0.1, 2), "clients", TypeError),
    (lambda: fedavg(MLP, [(XF.numpy(), YF)], 1, 1, 0.1, 2), "clients[0][0]", TypeError),
    (lambda: fedavg(MLP, [(XF, YF)], 0, 1, 0.1, 2), "rounds", ValueError),
    (lambda: fedavg(MLP, [(XF[:0], YF[:0])], 1, 1, 0.1, 2), "clients", ValueError),
    # dp
    (lambda: per_example_gradients(MLP, XF, YF.float()), "y", TypeError),
    (lambda: per_example_gradients(MLP, XF, YF[:2]), "y", ValueError),
    (lambda: per_example_gradients(MLP, XF.double(), YF), "x", TypeError),
    (lambda: per_example_gradients(MLP, XF, YF, loss_fn="ce"), "loss_fn", TypeError),
    (lambda: clip_per_example(GRADS, 0.0), "max_norm", ValueError),
    (lambda: clip_per_example(GRADS, -1.0), "max_norm", ValueError),
    (lambda: clip_per_example(GRADS, math.nan), "max_norm", ValueError),
    (lambda: clip_per_example(torch.randn(3, 4), 1.0), "grads", TypeError),
    (
        lambda: clip_per_example({"a": torch.ones(3, 2), "b": torch.ones(2, 2)}, 1.0),
        "grads",
        ValueError,
    ),  # fmt: skip
    (lambda: dp_sgd_gradient(MLP, XF, YF, 1.0, -1.0), "noise_multiplier", ValueError),
    (lambda: dp_sgd_gradient(MLP, XF, YF, math.inf, 1.0), "max_norm", ValueError),
    (lambda: dp_sgd_gradient(MLP, XF, YF, 1.0, 1.0, generator=1), "generator", TypeError),
    (
        lambda: dp_sgd_gradient(MLP, XF, YF, 1.0, 1.0, expected_batch_size=0),
        "expected_batch_size",
        ValueError,
    ),  # fmt: skip
    (
        lambda: train_dp_sgd(
            MLP, XF, YF, epochs=1, sample_rate=0.0, lr=0.1, max_norm=1.0, noise_multiplier=1.0
        ),
        "sample_rate",
        ValueError,
    ),  # fmt: skip
    (
        lambda: train_dp_sgd(
            MLP, XF, YF, epochs=1, sample_rate=1.5, lr=0.1, max_norm=1.0, noise_multiplier=1.0
        ),
        "sample_rate",
        ValueError,
    ),  # fmt: skip
    (
        lambda: train_dp_sgd(
            MLP, XF, YF, epochs=1, sample_rate=0.5, lr=0.0, max_norm=1.0, noise_multiplier=1.0
        ),
        "lr",
        ValueError,
    ),  # fmt: skip
    (lambda: rdp_sampled_gaussian(0.01, 0.0, 10, [2]), "noise_multiplier", ValueError),
    (lambda: rdp_sampled_gaussian(0.01, 1.0, 10, [1.5]), "orders", TypeError),
    (lambda: rdp_sampled_gaussian(0.01, 1.0, 10, [1]), "orders", ValueError),
    (lambda: rdp_sampled_gaussian(0.01, 1.0, 10, []), "orders", ValueError),
    (lambda: rdp_sampled_gaussian(0.01, 1.0, 10, 5), "orders", TypeError),
    (lambda: rdp_sampled_gaussian(1.2, 1.0, 10, [2]), "sample_rate", ValueError),
    (lambda: rdp_sampled_gaussian(0.01, 1.0, -1, [2]), "steps", ValueError),
    (lambda: rdp_epsilon(0.01, 1.0, 10, 0.0), "delta", ValueError),
    (lambda: rdp_epsilon(0.01, 1.0, 10, 1.0), "delta", ValueError),
    (lambda: rdp_epsilon(0.01, 1.0, 10, "1e-5"), "delta", TypeError),
]


@pytest.mark.parametrize("call,name,kind", CASES)
def test_clear_error(call, name, kind):
    expect_clear_error(call, name, kind=kind)


def test_accepted_inputs_give_the_right_answer():
    """Accepted on purpose, and right: a 0-d tensor or NumPy integer as target, a number or
    one row as baseline, float64 data with a float64 model, NumPy numbers as radii."""
    lin = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    w = lin[1].weight.detach()
    got = integrated_gradients(lin, X, torch.tensor(1), baseline=X[0], steps=3)
    torch.testing.assert_close(got, w[1].view(1, 1, 4, 4) * (X - X[0]))
    torch.testing.assert_close(saliency(lin, X, np.int64(2), absolute=False),
                               w[2].view(1, 1, 4, 4).expand_as(X))  # fmt: skip
    lin64 = lin.double()
    x64 = X.double()
    grad = (torch.softmax(lin64(x64), 1) - F.one_hot(Y, 3).double()) @ lin64[1].weight.detach()
    want = (x64 + 0.1 * grad.sign().view(4, 1, 4, 4)).clamp(0, 1)
    torch.testing.assert_close(fgsm(lin64, x64, Y, np.float64(0.1)), want)
    assert rdp_epsilon(np.float64(0.01), 1, np.int64(10), 1e-5, orders=np.arange(2, 8))[1] in range(
        2, 8
    )
