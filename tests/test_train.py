"""The training loop: it learns, it stops early, and resuming equals never stopping."""

import pytest
import torch
from torch import nn

from companion import train
from companion.data import load_digits


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
    with pytest.raises(ValueError, match=r"logits \(n, C\)"):
        train.accuracy(torch.zeros(4), torch.zeros(4))


def test_divergence_is_reported():
    train_data, _ = small_problem()
    model = nn.Linear(64, 1)
    opt = torch.optim.SGD(model.parameters(), lr=10.0)  # far past 2 / (largest curvature)

    def squared_error(out, y):
        return ((out.squeeze(1) - y.float()) ** 2).mean()

    with pytest.raises(FloatingPointError, match="smaller learning rate"):
        train.fit(model, opt, squared_error, train_data, epochs=100)
