"""Plausible mistakes with companion.train: each is a clear error naming the argument.

Among them the silent wrong answers of issue 18: gradient ascent with a negative
``max_grad_norm``, an optimiser of another model that trains nothing, a negative
``min_delta`` that counts a rising loss as improvement, metrics silently dropped without
validation data, NaN data blamed on the learning rate, labels >= C in ``accuracy``.
"""

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score
from torch import nn

from companion import train
from tests.badinput.harness import expect_clear_error

pytestmark = pytest.mark.usefixtures("one_thread")

CE = nn.functional.cross_entropy
GEN = torch.Generator().manual_seed(0)
X = torch.randn(64, 8, generator=GEN)
Y = torch.randint(0, 3, (64,), generator=GEN)


def model_and_opt(lr=0.1):
    torch.manual_seed(0)
    model = nn.Linear(8, 3)
    return model, torch.optim.SGD(model.parameters(), lr=lr)


class Build:
    """An override built from the case's own model and optimiser: Build(f) -> f(model, opt)."""

    def __init__(self, make):
        self.make = make


def fit_with(**overrides):
    """Call fit with good defaults, replaced by ``overrides`` (model/opt/loss/data too)."""
    model, opt = model_and_opt()
    args = {"model": model, "optimizer": opt, "loss_fn": CE, "train_data": (X, Y)}
    kwargs = {"epochs": 1, "batch_size": 16}
    for key, value in overrides.items():
        if isinstance(value, Build):
            value = value.make(model, opt)
        (args if key in args else kwargs)[key] = value
    return lambda: train.fit(*args.values(), **kwargs)


def nan_rows():
    Xn = X.clone()
    Xn[5, 2] = float("nan")
    return Xn


def other_optimizer(model, opt):
    return torch.optim.SGD(nn.Linear(8, 3).parameters(), lr=0.1)


def bias_only_optimizer(model, opt):
    return torch.optim.SGD([model.bias], lr=0.1)


def nan_lr_optimizer(model, opt):
    return torch.optim.SGD(model.parameters(), lr=float("nan"))


def inf_lr_optimizer(model, opt):
    return torch.optim.Adam(model.parameters(), lr=float("inf"))


def foreign_scheduler(model, opt):
    other = torch.optim.SGD(model.parameters(), lr=0.1)
    return torch.optim.lr_scheduler.StepLR(other, step_size=1)


FIT_CASES = [
    # (argument named in the error, overrides)
    ("model", {"model": lambda x: x}),
    ("model", {"model": nn.Linear}),
    ("optimizer", {"optimizer": None}),
    ("optimizer", {"optimizer": torch.optim.SGD}),
    ("optimizer", {"optimizer": Build(other_optimizer)}),  # trained nothing, silently
    ("optimizer", {"optimizer": Build(bias_only_optimizer)}),  # weights never updated, silently
    ("lr", {"optimizer": Build(nan_lr_optimizer)}),  # blamed the learning rate only after diverging
    ("lr", {"optimizer": Build(inf_lr_optimizer)}),
    ("loss_fn", {"loss_fn": "cross_entropy"}),
    ("loss_fn", {"loss_fn": nn.CrossEntropyLoss}),  # the class, not an instance
    ("loss_fn", {"loss_fn": lambda out, y: CE(out, y, reduction="none")}),
    ("train_data", {"train_data": (X.numpy(), Y.numpy())}),
    ("train_data", {"train_data": (X.tolist(), Y.tolist())}),
    ("train_data", {"train_data": X}),
    ("train_data", {"train_data": (X, Y, Y)}),
    ("train_data", {"train_data": (X, Y[:50])}),
    ("train_data", {"train_data": (X[:0], Y[:0])}),
    ("train_data", {"train_data": (X.double(), Y)}),  # float64 into float32 weights
    ("train_data", {"train_data": (nan_rows(), Y)}),  # NaN data, not the learning rate
    ("val_data", {"val_data": (X.numpy(), Y.numpy())}),
    ("val_data", {"val_data": (X, Y[:10])}),
    ("val_data", {"val_data": (nan_rows(), Y)}),
    ("epochs", {"epochs": 0}),
    ("epochs", {"epochs": -3}),  # silently did nothing
    ("epochs", {"epochs": 2.5}),
    ("epochs", {"epochs": True}),
    ("epochs", {"epochs": "5"}),
    ("epochs", {"epochs": float("nan")}),
    ("batch_size", {"batch_size": 0}),
    ("batch_size", {"batch_size": -16}),
    ("batch_size", {"batch_size": 16.0}),
    ("max_grad_norm", {"max_grad_norm": -1.0}),  # flipped every gradient: gradient ascent
    ("max_grad_norm", {"max_grad_norm": 0.0}),
    ("max_grad_norm", {"max_grad_norm": float("nan")}),
    ("max_grad_norm", {"max_grad_norm": float("inf")}),
    ("max_grad_norm", {"max_grad_norm": "1.0"}),
    ("seed", {"seed": -1}),
    ("seed", {"seed": 1.5}),
    ("precision", {"precision": "fp16"}),  # CUDA only: refused on the CPU
    ("precision", {"precision": "float16"}),
    ("precision", {"precision": "FP32"}),
    ("precision", {"precision": None}),
    ("metrics", {"metrics": {"accuracy": train.accuracy}}),  # no val_data: silently ignored
    ("metrics", {"metrics": [train.accuracy], "val_data": (X, Y)}),
    ("metrics", {"metrics": {"accuracy": "accuracy"}, "val_data": (X, Y)}),
    ("early_stopping", {"early_stopping": train.EarlyStopping()}),  # monitors val_loss
    ("early_stopping", {"early_stopping": train.EarlyStopping(monitor="val_acc"),
                        "val_data": (X, Y), "metrics": {"accuracy": train.accuracy}}),
    ("early_stopping", {"early_stopping": "patience=3"}),
    ("restore_best", {"restore_best": True}),  # without early stopping: silently nothing
    ("restore_best", {"restore_best": "yes"}),
    ("scheduler", {"scheduler": Build(foreign_scheduler)}),  # stepped the wrong optimiser
    ("scheduler", {"scheduler": 0.1}),
    ("device", {"device": "gpu"}),
    ("device", {"device": 0}),
    ("device", {"device": "cuda:first"}),
    ("checkpoint_path", {"checkpoint_path": 123}),
    ("sync_every", {"sync_every": 0}),
    ("pin_memory", {"pin_memory": "true"}),
    ("progress", {"progress": 1}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "overrides"), FIT_CASES)
def test_fit_refuses(name, overrides):
    expect_clear_error(fit_with(**overrides), name)


def test_fit_accepts_a_device_name_in_capitals_and_gives_the_same_result():
    results = []
    for device in ("cpu", "CPU", torch.device("cpu")):
        model, opt = model_and_opt()
        train.fit(model, opt, CE, (X, Y), epochs=2, batch_size=16, device=device)
        results.append(model.weight.detach().clone())
    assert torch.equal(results[0], results[1]) and torch.equal(results[0], results[2])


def test_fit_accepts_numpy_integer_counts():
    model, opt = model_and_opt()
    hist = train.fit(model, opt, CE, (X, Y), epochs=np.int64(2), batch_size=np.int32(16))
    assert len(hist) == 2


ACCURACY_CASES = [
    ("y", lambda: train.accuracy(torch.randn(5, 3), torch.tensor([0, 1, 2, 3, 1]))),  # >= C
    ("y", lambda: train.accuracy(torch.randn(5, 3), torch.tensor([0, 1, -1, 2, 1]))),
    ("y", lambda: train.accuracy(torch.randn(5, 3), torch.tensor([0.0, 1, 2, 2, 1]))),
    ("y", lambda: train.accuracy(torch.randn(5, 3), torch.tensor([0, 1, 2]))),
    ("y", lambda: train.accuracy(torch.randn(5, 3), np.array([0, 1, 2, 2, 1]))),
    ("y", lambda: train.accuracy(torch.randn(5, 3), torch.zeros(5, 1, dtype=torch.long))),
    ("logits", lambda: train.accuracy(torch.randn(5), torch.zeros(5, dtype=torch.long))),
    ("logits", lambda: train.accuracy(torch.randn(5, 1), torch.zeros(5, dtype=torch.long))),
    ("logits", lambda: train.accuracy(torch.ones(5, 3, dtype=torch.long), torch.zeros(5).long())),
    ("logits", lambda: train.accuracy(np.zeros((5, 3)), torch.zeros(5, dtype=torch.long))),
]  # fmt: skip


@pytest.mark.parametrize(("name", "call"), ACCURACY_CASES)
def test_accuracy_refuses(name, call):
    expect_clear_error(call, name)


def test_accuracy_on_int32_labels_matches_scikit_learn():
    logits = torch.randn(50, 4, generator=torch.Generator().manual_seed(1))
    y = torch.randint(0, 4, (50,), generator=torch.Generator().manual_seed(2), dtype=torch.int32)
    assert train.accuracy(logits, y) == pytest.approx(
        accuracy_score(y.numpy(), logits.argmax(1).numpy())
    )


OTHER_CASES = [
    ("min_delta", lambda: train.EarlyStopping(min_delta=-1)),  # a rise counted as improvement
    ("min_delta", lambda: train.EarlyStopping(min_delta=float("nan"))),
    ("patience", lambda: train.EarlyStopping(patience=0)),
    ("patience", lambda: train.EarlyStopping(patience=2.5)),
    ("mode", lambda: train.EarlyStopping(mode="minimum")),
    ("monitor", lambda: train.EarlyStopping(monitor=5)),
    ("batch_size", lambda: train.evaluate(nn.Linear(8, 3), (X, Y), CE, batch_size=0)),
    ("data", lambda: train.evaluate(nn.Linear(8, 3), (X.numpy(), Y.numpy()), CE)),
    ("model", lambda: train.evaluate("model", (X, Y), CE)),
    ("loss_fn", lambda: train.evaluate(nn.Linear(8, 3), (X, Y), "ce")),
    ("path", lambda: train.save_checkpoint(5, {"w": torch.ones(1)})),
    ("state", lambda: train.save_checkpoint("unused.pt", [torch.ones(1)])),
    ("path", lambda: train.load_checkpoint(None)),
]


@pytest.mark.parametrize(("name", "call"), OTHER_CASES)
def test_other_entry_points_refuse(name, call):
    expect_clear_error(call, name)
