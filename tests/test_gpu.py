"""CPU and GPU agree within stated tolerances (run on a CUDA machine: `pytest -m gpu`)."""

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


def test_gpt_forward_on_cuda_matches_cpu():
    cfg = GPTConfig(vocab_size=97, block_size=32, n_layer=2, n_head=4, n_embd=64)
    torch.manual_seed(0)
    model = GPT(cfg).eval()
    idx = torch.randint(0, 97, (3, 32))
    expected = model(idx)
    got = model.cuda()(idx.cuda()).cpu()
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)  # TF32 / kernel order
