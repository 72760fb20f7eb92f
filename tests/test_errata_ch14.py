"""Numbers and claims stated in the Chapter 14 errata rows, recomputed with companion code."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from companion.dp import rdp_epsilon
from companion.interpretability import completeness_gap, integrated_gradients
from companion.transformer import GPT, GPTConfig
from tests.bookinfo import errata_fragment, errata_row


@pytest.fixture(scope="module")
def text() -> str:
    return errata_fragment("ch14")


def test_label_and_heading(text):
    assert text.startswith("(errata-ch14)=\n## Chapter 14: Trends and challenges I")


def test_rows_are_numbered_in_order(text):
    keys = [line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| 14.")]
    assert keys == [f"14.{i}" for i in range(1, len(keys) + 1)] and len(keys) >= 5


def test_row_14_1_completeness_holds():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3)).double()
    x = torch.rand(4, 5, dtype=torch.float64)
    attr = integrated_gradients(model, x, 2, steps=32)
    assert completeness_gap(model, x, attr, 2).abs().max() < 1e-10


def test_row_14_2_identical_attention_maps_different_dependence(text):
    assert "identical attention maps" in errata_row(text, "14.2")
    cfg = GPTConfig(vocab_size=10, block_size=6, n_layer=1, n_head=2, n_embd=16)
    torch.manual_seed(0)
    gpt = GPT(cfg).eval()
    silent = GPT(cfg).eval()
    silent.load_state_dict(gpt.state_dict())
    with torch.no_grad():
        silent.blocks[0].attn.qkv.weight[2 * cfg.n_embd :].zero_()
        silent.blocks[0].attn.qkv.bias[2 * cfg.n_embd :].zero_()
    idx = torch.tensor([[1, 2, 3, 4, 5, 6]])
    other = torch.tensor([[7, 2, 3, 4, 5, 6]])
    for a, b in zip(gpt.attention_maps(idx), silent.attention_maps(idx), strict=True):
        assert torch.equal(a, b)
    with torch.no_grad():
        assert torch.equal(silent(idx)[0, -1], silent(other)[0, -1])
        assert not torch.allclose(gpt(idx)[0, -1], gpt(other)[0, -1])


def test_row_14_6_dp_sgd_epsilon(text):
    eps, _ = rdp_epsilon(0.05, 1.0, 200, 1e-5)
    assert f"ε = {eps:.2f}" in errata_row(text, "14.6")
    assert eps == pytest.approx(5.37, abs=0.005)
