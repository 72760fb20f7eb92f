"""The training loop: it learns, it stops early, and resuming equals never stopping.

It also reads the loss from the device once per epoch (not once per step), still catches a
NaN/inf loss and says whether the data or the learning rate is to blame, and offers bf16
autocast on the CPU (fp16 with a gradient scaler is CUDA-only: tests/test_gpu.py).
"""

import math
import os
import sys

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from companion import train, train_checks
from companion.data import load_digits

pytestmark = pytest.mark.usefixtures("one_thread")


def small_problem():
    s = load_digits()
    return (s.X_train[:600], s.y_train[:600]), (s.X_test[:200], s.y_test[:200])


def make(seed=0):
    torch.manual_seed(seed)
    # dropout makes the test meaningful: resuming must also restore torch's RNG
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    return model, opt, sched


def run(epochs, **kw):
    train_data, val_data = small_problem()
    model, opt, sched = make()
    hist = train.fit(
        model,
        opt,
        nn.functional.cross_entropy,
        train_data,
        epochs=epochs,
        batch_size=32,
        val_data=val_data,
        metrics={"accuracy": train.accuracy},
        scheduler=sched,
        **kw,
    )
    return model, hist


def test_fit_learns_digits():
    model, hist = run(5)
    assert hist["train_loss"][-1] < hist["train_loss"][0] / 3
    assert hist.last("val_accuracy") > 0.85
    assert len(hist) == 5


def test_train_loss_is_the_mean_of_the_step_losses_of_a_plain_loop():
    """An independent loop (DataLoader + torch.optim, loss.item() each step) gives the same
    weights and the same epoch means as fit's on-device running sum."""
    (X, y), _ = small_problem()
    torch.manual_seed(0)
    ours = nn.Sequential(nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 10))
    ref = nn.Sequential(nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 10))
    ref.load_state_dict(ours.state_dict())
    opt = torch.optim.SGD(ours.parameters(), lr=0.2)
    loss_fn = nn.functional.cross_entropy
    hist = train.fit(ours, opt, loss_fn, (X, y), epochs=3, batch_size=50, seed=7)
    opt = torch.optim.SGD(ref.parameters(), lr=0.2)
    means = []
    for epoch in range(3):
        order = torch.Generator().manual_seed(7 + epoch)
        steps = []
        for xb, yb in DataLoader(TensorDataset(X, y), 50, shuffle=True, generator=order):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(ref(xb), yb)
            loss.backward()
            opt.step()
            steps.append(loss.item() * len(xb))
        means.append(sum(steps) / len(X))
    assert hist["train_loss"] == pytest.approx(means, rel=1e-6)
    for a, b in zip(ours.parameters(), ref.parameters(), strict=True):
        assert torch.equal(a, b)


def test_epoch_mean_weights_batches_by_their_size():
    (X, y), _ = small_problem()
    X, y = X[:70], y[:70]  # batches of 64 and 6
    torch.manual_seed(0)
    model = nn.Linear(64, 10)
    opt = torch.optim.SGD(model.parameters(), lr=1e-12)  # (almost) no change: a fixed model
    per_row = nn.functional.cross_entropy(model(X), y, reduction="none")
    hist = train.fit(model, opt, nn.functional.cross_entropy, (X, y), epochs=1, batch_size=64)
    assert hist["train_loss"][0] == pytest.approx(per_row.mean().item(), rel=1e-6)
    order = torch.randperm(70, generator=torch.Generator().manual_seed(0))
    mean_of_means = (per_row[order[:64]].mean() + per_row[order[64:]].mean()).item() / 2
    assert abs(mean_of_means - per_row.mean().item()) > 1e-4  # the wrong rule is detectable


def count_host_reads(monkeypatch):
    """Count Tensor.item() and bool(tensor) calls made by companion/train.py itself: on a GPU
    each is a host synchronisation. (The DataLoader draws its base seed with .item() on a
    CPU tensor, which costs no sync: it is not counted.)"""
    calls = {"n": 0}
    real_item, real_bool = torch.Tensor.item, torch.Tensor.__bool__

    def counted(real):
        def wrapper(self):
            if sys._getframe(1).f_code.co_filename == train.__file__:
                calls["n"] += 1
            return real(self)

        return wrapper

    monkeypatch.setattr(torch.Tensor, "item", counted(real_item))
    monkeypatch.setattr(torch.Tensor, "__bool__", counted(real_bool))
    return calls


def test_loss_is_read_once_per_epoch_not_once_per_step(monkeypatch):
    (X, y), _ = small_problem()  # 600 rows / 32 = 19 steps per epoch
    torch.manual_seed(0)
    model = nn.Linear(64, 10)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    calls = count_host_reads(monkeypatch)
    train.fit(model, opt, nn.functional.cross_entropy, (X, y), epochs=3, batch_size=32)
    assert calls["n"] == 3  # one read per epoch; the old loop made 2 per step (114)

    calls["n"] = 0
    train.fit(model, opt, nn.functional.cross_entropy, (X, y), epochs=3, batch_size=32,
              sync_every=5)  # fmt: skip
    assert calls["n"] == 3 * (19 // 5 + 1)


def test_divergence_is_reported():
    train_data, _ = small_problem()
    model = nn.Linear(64, 1)
    opt = torch.optim.SGD(model.parameters(), lr=10.0)  # far past 2 / (largest curvature)

    def squared_error(out, y):
        return ((out.squeeze(1) - y.float()) ** 2).mean()

    with pytest.raises(FloatingPointError, match="smaller learning rate"):
        train.fit(model, opt, squared_error, train_data, epochs=100)


def test_a_single_nan_step_is_caught_at_the_next_read():
    """One NaN loss in the middle of an epoch (later steps finite) still stops training:
    the running sum stays NaN until it is read (a check of the last loss only would miss it)."""
    train_data, _ = small_problem()
    model = nn.Linear(64, 10)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    step = {"n": 0}

    def flaky_loss(out, y):
        step["n"] += 1
        loss = nn.functional.cross_entropy(out, y)
        return loss * float("nan") if step["n"] == 4 else loss

    with pytest.raises(FloatingPointError, match=r"nan in epoch 1 \(noticed at step 19;.*once per"):
        train.fit(model, opt, flaky_loss, train_data, epochs=2, batch_size=32)
    step["n"] = 0
    with pytest.raises(FloatingPointError, match=r"noticed at step 5; .*every 5 steps"):
        train.fit(model, opt, flaky_loss, train_data, epochs=2, batch_size=32, sync_every=5)


def test_nan_in_the_data_is_blamed_on_the_data_not_the_learning_rate():
    (X, y), _ = small_problem()
    X = X.clone()
    X[123, 5] = float("nan")
    X[400, 0] = float("inf")
    model = nn.Linear(64, 10)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    with pytest.raises(
        ValueError, match=r"train_data contains NaN .* 2 row\(s\) \(first: row 123\)"
    ):
        train.fit(model, opt, nn.functional.cross_entropy, (X, y), epochs=1)
    model = nn.Linear(64, 10)  # the first model's weights are NaN now
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    with pytest.raises(ValueError, match=r"val_data contains NaN"):
        train.fit(model, opt, nn.functional.cross_entropy, small_problem()[0], epochs=1,
                  val_data=(X, y))  # fmt: skip


def test_bf16_autocast_on_the_cpu_runs_in_bf16_and_agrees_with_fp32():
    results, dtypes = {}, []
    for precision in ("fp32", "bf16"):
        model, hist = run(3, precision=precision)
        results[precision] = hist
        hook = model[0].register_forward_hook(lambda m, i, out: dtypes.append(out.dtype))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            model(torch.zeros(1, 64))
        hook.remove()
    assert dtypes == [torch.float32, torch.bfloat16]
    a, b = results["fp32"], results["bf16"]
    assert a.metrics != b.metrics  # bf16 really ran (8-bit mantissa): not bit-identical
    # stated tolerance: bf16 keeps ~3 significant digits; after 3 epochs the losses agree
    # to 0.05 and the accuracy to 3 points
    assert b["val_loss"] == pytest.approx(a["val_loss"], abs=0.05)
    assert abs(b.last("val_accuracy") - a.last("val_accuracy")) <= 0.03


def test_bf16_forward_is_actually_autocast(monkeypatch):
    seen = []
    (X, y), _ = small_problem()
    model = nn.Linear(64, 10)
    model.register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    train.fit(model, torch.optim.SGD(model.parameters(), lr=0.1), nn.functional.cross_entropy,
              (X, y), epochs=1, batch_size=300, precision="bf16")  # fmt: skip
    assert seen == [torch.bfloat16, torch.bfloat16]
    assert model.weight.dtype == torch.float32  # the master weights stay float32


def test_fp16_and_unknown_precisions_are_refused_on_the_cpu():
    model, opt, _ = make()
    data = small_problem()[0]
    with pytest.raises(ValueError, match="precision='fp16'.*needs a CUDA device"):
        train.fit(model, opt, nn.functional.cross_entropy, data, epochs=1, precision="fp16")
    with pytest.raises(ValueError, match="precision must be one of"):
        train.fit(model, opt, nn.functional.cross_entropy, data, epochs=1, precision="half")


def test_pin_memory_is_only_used_for_host_to_gpu_copies(monkeypatch):
    seen = []
    real_init = DataLoader.__init__

    def spy(self, *a, **k):
        seen.append(k.get("pin_memory", False))
        real_init(self, *a, **k)

    monkeypatch.setattr(DataLoader, "__init__", spy)
    model, opt, _ = make()
    train.fit(model, opt, nn.functional.cross_entropy, small_problem()[0], epochs=1,
              pin_memory=True, device="CPU")  # fmt: skip
    assert seen == [False]  # on the CPU pinning would only cost time


def test_resume_after_interruption_gives_identical_weights(tmp_path, monkeypatch):
    reference, ref_hist = run(4)

    ckpt = tmp_path / "run.pt"
    calls = {"n": 0}
    real_step = torch.optim.SGD.step

    def crashing_step(self, *a, **k):  # interrupt in the middle of epoch 3
        calls["n"] += 1
        if calls["n"] == 2 * 19 + 5:  # 600 rows / 32 = 19 batches per epoch
            raise KeyboardInterrupt
        return real_step(self, *a, **k)

    monkeypatch.setattr(torch.optim.SGD, "step", crashing_step)
    with pytest.raises(KeyboardInterrupt):
        run(4, checkpoint_path=ckpt)
    monkeypatch.setattr(torch.optim.SGD, "step", real_step)
    assert train.load_checkpoint(ckpt)["epoch"] == 2

    torch.manual_seed(123)  # a different global state before resuming must not matter
    resumed, hist = run(4, checkpoint_path=ckpt)
    for (name, a), b in zip(
        reference.state_dict().items(), resumed.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), f"{name} differs after resume"
    assert hist.metrics == ref_hist.metrics


def test_checkpoint_of_adam_onecycle_and_early_stopping_loads_weights_only(tmp_path):
    """Everything fit saves (Adam's state, OneCycleLR, EarlyStopping, History, RNG) is plain
    data that torch.load(weights_only=True) accepts, and resuming reproduces the run."""

    def go(path, epochs):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(64, 32), nn.Dropout(0.1), nn.ReLU(), nn.Linear(32, 10))
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=4)
        train_data, val_data = small_problem()
        hist = train.fit(model, opt, nn.functional.cross_entropy, train_data, epochs=epochs,
                         val_data=val_data, scheduler=sched, checkpoint_path=path,
                         early_stopping=train.EarlyStopping(patience=3))  # fmt: skip
        return model, hist

    full, full_hist = go(None, 4)
    go(tmp_path / "ck.pt", 2)  # stop after two epochs ...
    state = torch.load(tmp_path / "ck.pt", weights_only=True)
    assert state["epoch"] == 2 and state["scaler"] is None
    resumed, hist = go(tmp_path / "ck.pt", 4)  # ... and go on to four
    assert hist.metrics == full_hist.metrics
    for a, b in zip(full.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(a, b)


def test_checkpoint_is_atomic_and_weights_only(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    train.save_checkpoint(path, {"w": torch.ones(2)})

    def broken_save(obj, f):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError):
        train.save_checkpoint(path, {"w": torch.zeros(2)})
    monkeypatch.undo()
    assert torch.equal(train.load_checkpoint(path)["w"], torch.ones(2))  # old file intact
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"x": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(Exception, match="[Ww]eights only"):
        train.load_checkpoint(tmp_path / "evil.pt")


@pytest.mark.parametrize("where", ["during the write", "before the rename"])
def test_an_interrupted_write_leaves_the_previous_checkpoint(tmp_path, monkeypatch, where):
    """Ctrl-C (KeyboardInterrupt, not an Exception) mid-write: the old checkpoint survives.
    A wrong variant that wrote straight to ``path`` would leave a truncated file."""
    path = tmp_path / "ck.pt"
    train.save_checkpoint(path, {"epoch": 1, "w": torch.arange(1000.0)})
    if where == "during the write":
        real_save = torch.save

        def interrupted(obj, f):
            real_save(obj, f)
            f.truncate(100)
            raise KeyboardInterrupt

        monkeypatch.setattr(torch, "save", interrupted)
    else:

        def interrupted(src, dst):
            raise KeyboardInterrupt

        monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train.save_checkpoint(path, {"epoch": 2, "w": torch.zeros(1000)})
    monkeypatch.undo()
    state = train.load_checkpoint(path)
    assert state["epoch"] == 1 and torch.equal(state["w"], torch.arange(1000.0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.pt"]


def test_early_stopping_stops_and_restores_best():
    train_data, val_data = small_problem()
    torch.manual_seed(0)
    model = nn.Linear(64, 10)
    opt = torch.optim.SGD(model.parameters(), lr=3.0)  # too large: validation loss goes up
    stopper = train.EarlyStopping(patience=2)
    hist = train.fit(
        model,
        opt,
        nn.functional.cross_entropy,
        train_data,
        epochs=30,
        val_data=val_data,
        early_stopping=stopper,
        restore_best=True,
    )
    assert len(hist) < 30
    assert len(hist) == stopper.best_epoch + stopper.patience
    best = min(hist["val_loss"])
    final = train.evaluate(model, val_data, nn.functional.cross_entropy)["loss"]
    assert final == pytest.approx(best, rel=1e-5)


def test_early_stopping_min_delta_counts_only_real_improvements():
    stopper = train.EarlyStopping(monitor="val_loss", patience=2, min_delta=0.1)
    assert not stopper.update(1.0, 1)
    assert not stopper.update(0.95, 2)  # better, but by less than min_delta: a bad epoch
    assert stopper.update(0.92, 3)  # second bad epoch: stop
    assert stopper.best == 1.0 and stopper.best_epoch == 1
    with pytest.raises(ValueError, match="min_delta must be >= 0"):
        train.EarlyStopping(min_delta=-1)  # would count a rising loss as an improvement


def test_accuracy_matches_scikit_learn():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(200, 7, generator=gen)
    y = torch.randint(0, 7, (200,), generator=gen)
    expected = accuracy_score(y.numpy(), logits.argmax(1).numpy())
    assert train.accuracy(logits, y) == pytest.approx(expected)
    assert train.accuracy(logits.double(), y.int()) == pytest.approx(expected)


def test_optimizer_of_another_model_is_refused():
    model, _, _ = make()
    other, opt_other, _ = make()
    data = small_problem()[0]
    with pytest.raises(ValueError, match="not the model's: was it built for another model"):
        train.fit(model, opt_other, nn.functional.cross_entropy, data, epochs=1)
    head_only = torch.optim.SGD(model[3].parameters(), lr=0.1)
    with pytest.raises(ValueError, match="does not update 2 trainable"):
        train.fit(model, head_only, nn.functional.cross_entropy, data, epochs=1)
    model[0].requires_grad_(False)  # frozen first layer: a head-only optimiser is right
    before = model[0].weight.clone()
    train.fit(model, head_only, nn.functional.cross_entropy, data, epochs=1)
    assert torch.equal(model[0].weight, before)


def test_bad_input_is_a_clear_error():
    model, opt, _ = make()
    with pytest.raises(ValueError, match="X has 3 rows but y has 2"):
        train.fit(
            model,
            opt,
            nn.functional.cross_entropy,
            (torch.zeros(3, 64), torch.zeros(2, dtype=torch.long)),
            epochs=1,
        )
    with pytest.raises(TypeError, match="Dataset or an"):
        train.fit(model, opt, nn.functional.cross_entropy, [1, 2, 3], epochs=1)
    with pytest.raises(ValueError, match="no val_data"):
        train.fit(
            model,
            opt,
            nn.functional.cross_entropy,
            small_problem()[0],
            epochs=1,
            early_stopping=train.EarlyStopping(),
        )
    with pytest.raises(ValueError, match="logits must have 2 dimensions"):
        train.accuracy(torch.zeros(4), torch.zeros(4))


def test_peeking_at_a_random_dataset_does_not_move_the_global_generator():
    class Noisy(Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            return torch.rand(64), torch.tensor(i % 10)

    model = nn.Linear(64, 10)
    torch.manual_seed(0)
    before = torch.get_rng_state()
    train_checks.check_inputs_match_model(Noisy(), "train_data", model)
    assert torch.equal(torch.get_rng_state(), before)


def test_history_reports_unknown_names():
    hist = train.History()
    hist.append(train_loss=1.0)
    with pytest.raises(KeyError, match="has no metric 'val_loss'"):
        hist["val_loss"]
    assert math.isclose(hist.last("train_loss"), 1.0) and np.isclose(len(hist), 1)
