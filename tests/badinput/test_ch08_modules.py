"""Plausible mistakes with the Chapter 8 modules: adaptive_optim, schedules, regularization,
normalization, hparam_search, training_sweeps. Each is a clear error naming the argument, or
(where accepting the input is right) a test that the answer equals PyTorch's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from companion.adaptive_optim import AdaGrad, Adam, AdamW, RMSProp
from companion.augmentation import gaussian_noise, horizontal_flip, random_shift
from companion.hparam_search import best_trial, grid_search, random_search, tpe_search
from companion.normalization import BatchNorm1d, LayerNorm
from companion.regularization import (
    Dropout,
    dropout,
    l1_penalty,
    l2_penalty,
    label_smoothing_cross_entropy,
)
from companion.schedules import ScheduledLR, make_schedule
from companion.training_sweeps import train_epochs
from tests.badinput.harness import expect_clear_error

NAN, INF = float("nan"), float("inf")
P = torch.zeros(3, requires_grad=True)
X = torch.randn(8, 4)
LOGITS = torch.randn(5, 3)
Y = torch.tensor([0, 2, 1, 1, 0])
OPT = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
SPACE = {"lr": ("log", 1e-4, 1e-1)}


def _model():
    return nn.Linear(4, 2)


OPTIM_CASES = [
    ("adam lr negative", lambda: Adam([P], lr=-1e-3), "lr", ValueError),
    ("adam lr zero", lambda: Adam([P], lr=0.0), "lr", ValueError),
    ("adam lr nan", lambda: Adam([P], lr=NAN), "lr", ValueError),
    ("adam lr string", lambda: Adam([P], lr="1e-3"), "lr", TypeError),
    ("adam beta1 = 1", lambda: Adam([P], betas=(1.0, 0.999)), "betas", ValueError),
    ("adam beta2 > 1", lambda: Adam([P], betas=(0.9, 1.5)), "betas", ValueError),
    ("adam beta negative", lambda: Adam([P], betas=(-0.1, 0.999)), "betas", ValueError),
    ("adam betas scalar", lambda: Adam([P], betas=0.9), "betas", TypeError),
    ("adam betas triple", lambda: Adam([P], betas=(0.9, 0.99, 0.9)), "betas", TypeError),
    ("adam eps zero", lambda: Adam([P], eps=0.0), "eps", ValueError),
    ("adam wd negative", lambda: Adam([P], weight_decay=-0.1), "weight_decay", ValueError),
    ("adamw wd inf", lambda: AdamW([P], weight_decay=INF), "weight_decay", ValueError),
    ("adam bias_correction str", lambda: Adam([P], bias_correction="no"), "bias_correction",
     TypeError),
    ("adam single tensor", lambda: Adam(P), "params", TypeError),
    ("adam empty", lambda: Adam([]), "params", ValueError),
    ("adam None", lambda: Adam(None), "params", TypeError),
    ("adam numpy", lambda: Adam([np.zeros(3)]), "params", TypeError),
    ("adam int tensor", lambda: Adam([torch.zeros(3, dtype=torch.long)]), "params", TypeError),
    ("adam group without params", lambda: Adam([{"lr": 0.1}]), "params", ValueError),
    ("rmsprop alpha 1", lambda: RMSProp([P], alpha=1.0), "alpha", ValueError),
    ("rmsprop momentum 1", lambda: RMSProp([P], momentum=1.0), "momentum", ValueError),
    ("rmsprop centered int", lambda: RMSProp([P], centered=1), "centered", TypeError),
    ("rmsprop lr inf", lambda: RMSProp([P], lr=INF), "lr", ValueError),
    ("adagrad lr negative", lambda: AdaGrad([P], lr=-0.1), "lr", ValueError),
    ("adagrad eps negative", lambda: AdaGrad([P], eps=-1e-10), "eps", ValueError),
]  # fmt: skip

SCHEDULE_CASES = [
    ("unknown schedule", lambda: make_schedule("cosin", 0.1), "name", ValueError),
    ("schedule not str", lambda: make_schedule(3, 0.1), "name", TypeError),
    ("lr0 negative", lambda: make_schedule("step", -0.1), "lr0", ValueError),
    ("lr0 nan", lambda: make_schedule("step", NAN), "lr0", ValueError),
    ("gamma 0", lambda: make_schedule("step", 0.1, gamma=0.0), "gamma", ValueError),
    ("gamma > 1", lambda: make_schedule("step", 0.1, gamma=1.5), "gamma", ValueError),
    ("step_size 0", lambda: make_schedule("step", 0.1, step_size=0), "step_size", ValueError),
    ("step_size float", lambda: make_schedule("step", 0.1, step_size=2.5), "step_size",
     TypeError),
    ("beta negative", lambda: make_schedule("inverse_time", 0.1, beta=-0.5), "beta", ValueError),
    ("c negative", lambda: make_schedule("exponential", 0.1, c=-0.1), "c", ValueError),
    ("T zero", lambda: make_schedule("cosine", 0.1, T=0), "T", ValueError),
    ("lr_min above lr0", lambda: make_schedule("cosine", 0.1, T=5, lr_min=0.5), "lr_min",
     ValueError),
    ("warmup 0", lambda: make_schedule("warmup", 0.1, warmup_steps=0), "warmup_steps",
     ValueError),
    ("start_factor 0", lambda: make_schedule("warmup", 0.1, start_factor=0.0), "start_factor",
     ValueError),
    ("pct_start 1", lambda: make_schedule("one_cycle", 0.1, pct_start=1.0), "pct_start",
     ValueError),
    ("total_steps 1", lambda: make_schedule("one_cycle", 0.1, total_steps=1), "total_steps",
     ValueError),
    ("div_factor < 1", lambda: make_schedule("one_cycle", 0.1, div_factor=0.5), "div_factor",
     ValueError),
    ("kwarg of another schedule", lambda: make_schedule("step", 0.1, T=10), "schedule",
     TypeError),
    ("t negative", lambda: make_schedule("step", 0.1)(-1), "t", ValueError),
    ("t float", lambda: make_schedule("cosine", 0.1)(1.5), "t", TypeError),
    ("one-cycle past its end", lambda: make_schedule("one_cycle", 0.1, total_steps=10)(10), "t",
     ValueError),
    ("ScheduledLR on a model", lambda: ScheduledLR(_model(), make_schedule("step", 0.1)),
     "optimizer", TypeError),
    ("ScheduledLR with a number", lambda: ScheduledLR(OPT, 0.1), "schedule", TypeError),
]  # fmt: skip

REG_CASES = [
    ("dropout p = 1", lambda: dropout(X, 1.0), "p", ValueError),
    ("dropout p negative", lambda: dropout(X, -0.1), "p", ValueError),
    ("dropout p nan", lambda: dropout(X, NAN), "p", ValueError),
    ("dropout numpy", lambda: dropout(np.ones((2, 3)), 0.5), "x", TypeError),
    ("dropout int tensor", lambda: dropout(torch.ones(3, dtype=torch.long), 0.5), "x", TypeError),
    ("dropout training str", lambda: dropout(X, 0.5, training="False"), "training", TypeError),
    ("dropout generator int", lambda: dropout(X, 0.5, generator=0), "generator", TypeError),
    ("Dropout p = 1.5", lambda: Dropout(1.5), "p", ValueError),
    ("l2 lam negative", lambda: l2_penalty([P], -0.1), "lam", ValueError),
    ("l1 lam nan", lambda: l1_penalty([P], NAN), "lam", ValueError),
    ("l2 params numpy", lambda: l2_penalty([np.zeros(3)], 0.1), "params", TypeError),
    ("l2 params int", lambda: l2_penalty([torch.zeros(3, dtype=torch.long)], 0.1), "params",
     TypeError),
    ("ls eps 1", lambda: label_smoothing_cross_entropy(LOGITS, Y, 1.0), "eps", ValueError),
    ("ls eps negative", lambda: label_smoothing_cross_entropy(LOGITS, Y, -0.1), "eps",
     ValueError),
    ("ls float labels", lambda: label_smoothing_cross_entropy(LOGITS, Y.float(), 0.1), "y",
     TypeError),
    ("ls label out of range", lambda: label_smoothing_cross_entropy(LOGITS, Y + 1, 0.1), "y",
     ValueError),
    ("ls batch mismatch", lambda: label_smoothing_cross_entropy(LOGITS, Y[:4], 0.1), "y",
     ValueError),
    ("ls 1-D logits", lambda: label_smoothing_cross_entropy(LOGITS[0], Y[:1], 0.1), "logits",
     ValueError),
    ("ls int logits", lambda: label_smoothing_cross_entropy(Y[:, None].repeat(1, 3), Y, 0.1),
     "logits", TypeError),
    ("ls one class", lambda: label_smoothing_cross_entropy(LOGITS[:, :1], Y * 0, 0.1), "logits",
     ValueError),
]  # fmt: skip

NORM_CASES = [
    ("bn features 0", lambda: BatchNorm1d(0), "num_features", ValueError),
    ("bn features float", lambda: BatchNorm1d(4.0), "num_features", TypeError),
    ("bn eps 0", lambda: BatchNorm1d(4, eps=0.0), "eps", ValueError),
    ("bn momentum 0", lambda: BatchNorm1d(4, momentum=0.0), "momentum", ValueError),
    ("bn momentum > 1", lambda: BatchNorm1d(4, momentum=1.5), "momentum", ValueError),
    ("bn affine str", lambda: BatchNorm1d(4, affine="yes"), "affine", TypeError),
    ("bn wrong width", lambda: BatchNorm1d(4)(torch.randn(8, 5)), "x", ValueError),
    ("bn 3-D input", lambda: BatchNorm1d(4)(torch.randn(8, 4, 2)), "x", ValueError),
    ("bn one row in training", lambda: BatchNorm1d(4)(torch.randn(1, 4)), "x", ValueError),
    ("bn float64 into float32", lambda: BatchNorm1d(4)(torch.randn(8, 4, dtype=torch.float64)),
     "x", TypeError),
    ("bn numpy", lambda: BatchNorm1d(4)(np.zeros((8, 4))), "x", TypeError),
    ("bn int tensor", lambda: BatchNorm1d(4)(torch.zeros(8, 4, dtype=torch.long)), "x",
     TypeError),
    ("ln shape 0", lambda: LayerNorm(0), "normalized_shape", ValueError),
    ("ln shape str", lambda: LayerNorm("4"), "normalized_shape", TypeError),
    ("ln shape bool", lambda: LayerNorm(True), "normalized_shape", TypeError),
    ("ln wrong trailing size", lambda: LayerNorm(4)(torch.randn(3, 5)), "x", ValueError),
    ("ln float64 into float32", lambda: LayerNorm(4)(torch.randn(3, 4, dtype=torch.float64)),
     "x", TypeError),
    ("ln list", lambda: LayerNorm(4)([[0.0] * 4]), "x", TypeError),
]  # fmt: skip

SEARCH_CASES = [
    ("space empty", lambda: grid_search(lambda p: 0.0, {}, 4), "space", TypeError),
    ("space list", lambda: grid_search(lambda p: 0.0, [("log", 1, 2)], 4), "space", TypeError),
    ("unknown kind", lambda: grid_search(lambda p: 0.0, {"lr": ("logarithmic", 1e-3, 1.0)}, 4),
     "space", ValueError),
    ("low >= high", lambda: random_search(lambda p: 0.0, {"lr": ("uniform", 1.0, 0.1)}, 4),
     "space", ValueError),
    ("log from 0", lambda: random_search(lambda p: 0.0, {"lr": ("log", 0.0, 1.0)}, 4), "space",
     ValueError),
    ("int kind with floats", lambda: grid_search(lambda p: 0.0, {"n": ("int", 1.5, 4)}, 4),
     "space", TypeError),
    ("spec not a tuple", lambda: grid_search(lambda p: 0.0, {"lr": 0.1}, 4), "space", TypeError),
    ("budget 0", lambda: grid_search(lambda p: 0.0, SPACE, 0), "budget", ValueError),
    ("budget float", lambda: random_search(lambda p: 0.0, SPACE, 4.0), "budget", TypeError),
    ("seed negative", lambda: random_search(lambda p: 0.0, SPACE, 4, seed=-1), "seed",
     ValueError),
    ("objective not callable", lambda: grid_search(0.5, SPACE, 4), "objective", TypeError),
    ("objective returns nan", lambda: grid_search(lambda p: NAN, SPACE, 4), "objective",
     ValueError),
    ("objective returns str", lambda: grid_search(lambda p: "0.1", SPACE, 4), "objective",
     TypeError),
    ("best of nothing", lambda: best_trial([]), "trials", TypeError),
    ("tpe budget 0", lambda: tpe_search(lambda p: 0.0, SPACE, 0), "budget", ValueError),
    ("tpe bad space", lambda: tpe_search(lambda p: 0.0, {"lr": ("log", -1.0, 1.0)}, 3), "space",
     ValueError),
    ("tpe objective not callable", lambda: tpe_search(None, SPACE, 3), "objective", TypeError),
]  # fmt: skip

SWEEP_CASES = [
    ("epochs 0", lambda: train_epochs(_model(), torch.optim.SGD(_model().parameters(), lr=0.1),
                                      F.cross_entropy, X, torch.zeros(8,
                                      dtype=torch.long), epochs=0), "epochs", ValueError),
    ("model not a module", lambda: train_epochs(lambda x: x, OPT, F.cross_entropy, X,
                                                torch.zeros(8, dtype=torch.long), epochs=1),
     "model", TypeError),
    ("float64 data", lambda: train_epochs(_model(), OPT, F.cross_entropy, X.double(),
                                          torch.zeros(8, dtype=torch.long), epochs=1), "X",
     TypeError),
    ("rows mismatch", lambda: train_epochs(_model(), OPT, F.cross_entropy, X,
                                           torch.zeros(7, dtype=torch.long), epochs=1), "X",
     ValueError),
    ("clip negative", lambda: train_epochs(_model(), OPT, F.cross_entropy, X,
                                           torch.zeros(8, dtype=torch.long), epochs=1,
                                           max_grad_norm=-1.0), "max_grad_norm", ValueError),
    ("optimizer class", lambda: train_epochs(_model(), torch.optim.SGD, F.cross_entropy, X,
                                             torch.zeros(8, dtype=torch.long), epochs=1),
     "optimizer", TypeError),
]  # fmt: skip

IMG = torch.rand(4, 1, 8, 8)
AUG_CASES = [
    ("shift 3-D images", lambda: random_shift(IMG[:, 0], 1), "x", ValueError),
    ("shift int images", lambda: random_shift((IMG * 16).long(), 1), "x", TypeError),
    ("shift numpy", lambda: random_shift(IMG.numpy(), 1), "x", TypeError),
    ("shift negative", lambda: random_shift(IMG, -1), "max_shift", ValueError),
    ("shift as large as the image", lambda: random_shift(IMG, 8), "max_shift", ValueError),
    ("shift float", lambda: random_shift(IMG, 1.0), "max_shift", TypeError),
    ("shift generator seed", lambda: random_shift(IMG, 1, generator=0), "generator", TypeError),
    ("flip list", lambda: horizontal_flip(IMG.tolist()), "x", TypeError),
    ("flip 2-D", lambda: horizontal_flip(IMG[0, 0]), "x", ValueError),
    ("noise std negative", lambda: gaussian_noise(IMG, -0.1), "std", ValueError),
    ("noise std nan", lambda: gaussian_noise(IMG, NAN), "std", ValueError),
    ("noise int tensor", lambda: gaussian_noise(torch.ones(3, dtype=torch.long), 0.1), "x",
     TypeError),
]  # fmt: skip

ALL = (OPTIM_CASES + SCHEDULE_CASES + REG_CASES + NORM_CASES + SEARCH_CASES + SWEEP_CASES
       + AUG_CASES)  # fmt: skip


@pytest.mark.parametrize(("call", "name", "kind"), [c[1:] for c in ALL], ids=[c[0] for c in ALL])
def test_bad_input_is_refused_clearly(call, name, kind):
    expect_clear_error(call, name, kind=kind)


# --- accepted on purpose, and then right -------------------------------------------------


def test_param_groups_accepted_and_equal_to_torch():
    a, b = torch.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    ours = Adam([{"params": [a], "lr": 0.1}], lr=0.5, weight_decay=0.1)
    theirs = torch.optim.Adam([{"params": [b], "lr": 0.1}], lr=0.5, weight_decay=0.1)
    for p, o in ((a, ours), (b, theirs)):
        for _ in range(3):
            o.zero_grad()
            (p**3).sum().backward()
            o.step()
    torch.testing.assert_close(a, b)


def test_tensor_hyper_parameters_accepted():
    """A 0-d tensor learning rate is a real number: accepted, and the same as a float."""
    a, b = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    for p, lr in ((a, torch.tensor(0.1)), (b, 0.1)):
        opt = AdamW([p], lr=lr)
        p.sum().backward()
        opt.step()
    torch.testing.assert_close(a, b)


def test_numpy_integer_step_size_accepted():
    f, g = (
        make_schedule("step", 0.1, step_size=np.int64(3)),
        make_schedule("step", 0.1, step_size=3),
    )
    assert [f(t) for t in range(10)] == [g(t) for t in range(10)]


def test_batchnorm_eval_accepts_one_row_like_torch():
    ours, theirs = BatchNorm1d(4), nn.BatchNorm1d(4)
    ours.eval(), theirs.eval()
    x = torch.randn(1, 4)
    torch.testing.assert_close(ours(x), theirs(x))


def test_dropout_p_zero_is_identity_like_torch():
    assert torch.equal(dropout(X, 0.0), F.dropout(X, 0.0))


def test_label_smoothing_float64_accepted():
    lg = LOGITS.double()
    torch.testing.assert_close(label_smoothing_cross_entropy(lg, Y, 0.2),
                               F.cross_entropy(lg, Y, label_smoothing=0.2))  # fmt: skip
