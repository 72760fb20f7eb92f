"""CPU and GPU agree within stated tolerances (run on a CUDA machine: `pytest -m gpu`).

Mixed precision is compared with float32 on the same GPU: bf16 keeps 8 significant bits
and fp16 11, so a few epochs of training agree with float32 to about 0.05 in loss and a
few points of accuracy, not bit for bit.
"""

import pytest
import torch
from torch import nn

from companion import runtime, train
from companion.data import load_digits
from companion.transformer import GPT, GPTConfig

pytestmark = pytest.mark.gpu


def test_default_device_and_profile_on_a_gpu(monkeypatch):
    monkeypatch.delenv(runtime.DEVICE_ENV, raising=False)
    monkeypatch.delenv(runtime.PROFILE_ENV, raising=False)
    assert runtime.get_device().type == "cuda"
    assert runtime.get_profile().is_large
    assert runtime.get_device("CUDA:0") == torch.device("cuda:0")


def test_fit_on_cuda_matches_cpu():
    s = load_digits()
    results = {}
    for device in ("cpu", "cuda"):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)).double()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        data = (s.X_train.double(), s.y_train)
        train.fit(model, opt, nn.functional.cross_entropy, data, epochs=2, device=device)
        results[device] = [p.detach().cpu() for p in model.parameters()]
    for a, b in zip(results["cpu"], results["cuda"], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)  # float64: reductions differ only


def _digits_run(precision, device="cuda", data_on_gpu=False, **kw):
    s = load_digits()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    train_data, val_data = (s.X_train, s.y_train), (s.X_test, s.y_test)
    if data_on_gpu:
        train_data = tuple(t.cuda() for t in train_data)
    hist = train.fit(model, opt, nn.functional.cross_entropy, train_data, epochs=5,
                     batch_size=64, val_data=val_data, metrics={"accuracy": train.accuracy},
                     device=device, precision=precision, **kw)  # fmt: skip
    return model, hist


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_fit_agrees_with_fp32(precision):
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bfloat16")
    _, ref = _digits_run("fp32")
    model, hist = _digits_run(precision)
    assert next(model.parameters()).dtype == torch.float32  # master weights stay float32
    assert hist["val_loss"] == pytest.approx(ref["val_loss"], abs=0.05)
    assert abs(hist.last("val_accuracy") - ref.last("val_accuracy")) <= 0.03
    assert hist.last("val_accuracy") > 0.9


def test_fp16_checkpoint_holds_the_grad_scaler_and_loads_weights_only(tmp_path):
    _digits_run("fp16", checkpoint_path=tmp_path / "ck.pt", max_grad_norm=1.0)
    state = torch.load(tmp_path / "ck.pt", weights_only=True)
    assert state["scaler"] is not None and state["scaler"]["scale"] > 0
    assert state["cuda_rng"] is not None


def test_pinned_host_batches_match_batches_already_on_the_gpu():
    _, pinned = _digits_run("fp32", pin_memory=True)
    _, on_gpu = _digits_run("fp32", data_on_gpu=True)
    assert pinned["train_loss"] == pytest.approx(on_gpu["train_loss"], rel=1e-5)


def test_resume_on_cuda_with_dropout_restores_the_cuda_generator(tmp_path):
    def go(path, epochs):
        s = load_digits()
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(64, 64), nn.Dropout(0.3), nn.ReLU(), nn.Linear(64, 10))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        train.fit(model, opt, nn.functional.cross_entropy, (s.X_train, s.y_train),
                  epochs=epochs, device="cuda", checkpoint_path=path)  # fmt: skip
        return [p.detach().cpu() for p in model.parameters()]

    full = go(None, 4)
    go(tmp_path / "ck.pt", 2)
    torch.cuda.manual_seed_all(123)  # a different CUDA generator state must not matter
    resumed = go(tmp_path / "ck.pt", 4)
    for a, b in zip(full, resumed, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)


def test_gpt_forward_on_cuda_matches_cpu():
    cfg = GPTConfig(vocab_size=97, block_size=32, n_layer=2, n_head=4, n_embd=64)
    torch.manual_seed(0)
    model = GPT(cfg).eval()
    idx = torch.randint(0, 97, (3, 32))
    expected = model(idx)
    got = model.cuda()(idx.cuda()).cpu()
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)  # TF32 / kernel order
