"""Training-memory accounting (Chapter 9, §9.1) equals measured tensor bytes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from companion.memory import (
    OPTIMIZER_STATES,
    bytes_per_element,
    measure_state_bytes,
    mlp_activation_elements,
    model_training_memory,
    saved_activation_bytes,
    training_memory,
)
from companion.parameters import count_on_meta
from companion.transformer import GPT, GPT2_SMALL, GPT2_XL


def _mlp(sizes, dtype=torch.float32):
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False)):
        layers.append(nn.Linear(a, b, dtype=dtype))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


OPTIMISERS = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.1),
    "momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    "adam": lambda p: torch.optim.Adam(p, lr=0.1),
    "adamw": lambda p: torch.optim.AdamW(p, lr=0.1),
}


@pytest.mark.parametrize("name", list(OPTIMISERS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_accounting_equals_measured_bytes(name, dtype):
    model = _mlp([12, 20, 7, 3], dtype)
    opt = OPTIMISERS[name](model.parameters())
    model(torch.randn(5, 12, dtype=dtype)).sum().backward()
    opt.step()
    measured = measure_state_bytes(model, opt)
    acct = model_training_memory(model, name)
    assert acct.parameters == measured["parameters"]
    assert acct.gradients == measured["gradients"]
    assert acct.optimizer_states == measured["optimizer_states"]
    n_tensors = len(list(model.parameters()))
    # Adam keeps one scalar step per parameter tensor; SGD none (left out of the accounting)
    assert measured["step_counters"] in (0, n_tensors * 4, n_tensors * 8)
    # a wrong accounting (Adam with one state buffer, SGD-momentum with none) would fail
    if name in ("adam", "adamw"):
        n = acct.parameters // dtype.itemsize
        one_buffer = training_memory(n, "momentum", state_dtype=dtype).optimizer_states
        assert acct.optimizer_states == 2 * one_buffer


def test_mixed_precision_adam_is_16_bytes_per_parameter():
    m = training_memory(7_000_000_000, "adam", mixed_precision=True)
    assert m.states == 16 * 7_000_000_000
    assert m.as_gb()["total"] == pytest.approx(112.0)
    plain = training_memory(7_000_000_000, "adam")
    assert plain.states == 16 * 7_000_000_000  # fp32 Adam: 4 + 4 + 8, also 16 bytes
    assert training_memory(10, "sgd").states == 80
    assert training_memory(
        10, "momentum", mixed_precision=True, param_dtype="fp16"
    ).states == 10 * (2 + 2 + 4 + 4)
    with pytest.raises(ValueError, match="param_dtype"):
        training_memory(10, mixed_precision=True, param_dtype=torch.float64)


def test_gpt2_sizes_from_the_models_own_definition():
    n_small = count_on_meta(lambda: GPT(GPT2_SMALL))
    n_xl = count_on_meta(lambda: GPT(GPT2_XL))
    assert n_small == 124_439_808 and n_xl == 1_557_611_200
    assert training_memory(n_xl, "adam", mixed_precision=True).states / 1e9 == pytest.approx(
        24.92, abs=0.01
    )


def test_bytes_per_element():
    assert [bytes_per_element(d) for d in ("fp32", "bf16", "float16", "int8")] == [4, 2, 2, 1]
    assert bytes_per_element(torch.float64) == 8


@pytest.mark.parametrize("sizes", [[8, 16, 4], [12, 20, 7, 3], [5, 5, 5, 5, 2]])
def test_activation_formula_equals_saved_bytes(sizes):
    model = _mlp(sizes)
    x = torch.randn(9, sizes[0])
    measured = saved_activation_bytes(lambda: model(x), model)
    assert measured == 4 * mlp_activation_elements(9, sizes)
    # counting each Linear's input AND each ReLU's output separately double-counts
    wrong = 4 * 9 * (sum(sizes[:-1]) + sum(sizes[1:-1]))
    assert measured != wrong


def test_saved_bytes_include_parameters_when_no_model_given():
    model = _mlp([8, 16, 4])
    x = torch.randn(3, 8)
    assert saved_activation_bytes(lambda: model(x)) > saved_activation_bytes(
        lambda: model(x), model
    )


def test_optimizer_state_table():
    assert OPTIMIZER_STATES == {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}


@pytest.mark.gpu
def test_cuda_peak_memory_matches_accounting():
    """On a GPU: the memory allocated after an Adam step equals the state accounting (+ inputs)."""
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    model = _mlp([1024, 4096, 4096, 10]).cuda()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, foreach=False)
    x = torch.randn(64, 1024, device="cuda")
    model(x).sum().backward()
    opt.step()
    acct = model_training_memory(model, "adam")
    held = torch.cuda.memory_allocated() - base - x.nbytes  # step counters stay on the CPU
    # the caching allocator rounds each block up to 512 bytes: allow 1% slack
    assert held == pytest.approx(acct.states, rel=0.01)
    assert torch.cuda.max_memory_allocated() - base >= acct.states
