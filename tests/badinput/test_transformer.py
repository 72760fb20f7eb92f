"""Bad input to companion.transformer and companion.lm_training: clear errors only."""

from __future__ import annotations

import pytest
import torch

from companion.lm_training import parameter_groups, random_windows, train_lm, warmup_cosine
from companion.transformer import GPT, GPTConfig, KVCache, estimate_flops_per_token
from tests.badinput.harness import expect_clear_error

CFG = GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8)
torch.manual_seed(0)
MODEL = GPT(CFG)
IDS = torch.randint(0, 11, (2, 5))
VAL = (IDS, IDS)

CASES = [
    (lambda: GPTConfig(n_embd=10, n_head=3), "n_embd", ValueError),
    (lambda: GPTConfig(n_layer=0), "n_layer", ValueError),
    (lambda: GPTConfig(n_head=2.0), "n_head", TypeError),
    (lambda: GPTConfig(vocab_size=-5), "vocab_size", ValueError),
    (lambda: GPTConfig(dropout=-0.1), "dropout", ValueError),
    (lambda: GPTConfig(dropout=1.0), "dropout", ValueError),
    (lambda: GPTConfig(activation="relu"), "activation", ValueError),
    (lambda: GPTConfig(bias="yes"), "bias", TypeError),
    (lambda: GPT({"n_layer": 2}), "cfg", TypeError),
    (lambda: MODEL(IDS[0]), "idx", ValueError),
    (lambda: MODEL(IDS.float()), "idx", TypeError),
    (lambda: MODEL(IDS.to(torch.int16)), "idx", TypeError),
    (lambda: MODEL(IDS.numpy()), "idx", TypeError),
    (lambda: MODEL(IDS.tolist()), "idx", TypeError),
    (lambda: MODEL(IDS[..., None]), "idx", ValueError),
    (lambda: MODEL(IDS + 11), "idx", ValueError),
    (lambda: MODEL(IDS - 11), "idx", ValueError),
    (lambda: MODEL(torch.zeros(1, 9, dtype=torch.long)), "idx", ValueError),
    (lambda: MODEL(IDS, kv_cache=[]), "kv_cache", TypeError),
    (lambda: MODEL.blocks[0](torch.randn(2, 5, 7)), "x", ValueError),
    (lambda: MODEL.blocks[0](torch.randn(2, 5, 8).long()), "x", TypeError),
    (lambda: MODEL.generate(IDS[0], 3), "idx", ValueError),
    (lambda: MODEL.generate(IDS[:, :0], 3), "idx", ValueError),
    (lambda: MODEL.generate(IDS.float(), 3), "idx", TypeError),
    (lambda: MODEL.generate(IDS, -1), "max_new_tokens", ValueError),
    (lambda: MODEL.generate(IDS, 2.5), "max_new_tokens", TypeError),
    (lambda: MODEL.generate(IDS, 3, temperature=-1.0), "temperature", ValueError),
    (lambda: MODEL.generate(IDS, 3, temperature=float("nan")), "temperature", ValueError),
    (lambda: MODEL.generate(IDS, 3, temperature=float("inf")), "temperature", ValueError),
    (lambda: MODEL.generate(IDS, 3, top_k=0), "top_k", ValueError),
    (lambda: MODEL.generate(IDS, 3, top_k=12), "top_k", ValueError),
    (lambda: MODEL.generate(IDS, 3, top_k=2.0), "top_k", TypeError),
    (lambda: MODEL.generate(IDS, 3, use_cache="no"), "use_cache", TypeError),
    (lambda: MODEL.generate(IDS, 3, generator=0), "generator", TypeError),
    (lambda: MODEL.attention_maps(IDS[0]), "idx", ValueError),
    (lambda: KVCache(0), "n_layer", ValueError),
    (lambda: estimate_flops_per_token(CFG, seq_len=0), "seq_len", ValueError),
    (lambda: estimate_flops_per_token(CFG, seq_len=2.0), "seq_len", TypeError),
    (lambda: estimate_flops_per_token("gpt2"), "cfg", TypeError),
    (lambda: warmup_cosine(-1, 10, 100), "step", ValueError),
    (lambda: warmup_cosine(0, 200, 100), "warmup", ValueError),
    (lambda: warmup_cosine(0, 10, 0), "total", ValueError),
    (lambda: warmup_cosine(0, 10, 100, min_ratio=1.5), "min_ratio", ValueError),
    (lambda: parameter_groups(MODEL, -0.1), "weight_decay", ValueError),
    (lambda: parameter_groups(MODEL.parameters(), 0.1), "model", TypeError),
    (lambda: random_windows(torch.arange(5), 8, 2), "tokens", ValueError),
    (lambda: random_windows(torch.arange(50.0), 8, 2), "tokens", TypeError),
    (lambda: random_windows(torch.arange(50), 8, 0), "batch_size", ValueError),
    (
        lambda: train_lm(MODEL, torch.arange(50) % 11, VAL, steps=0, block_size=4),
        "steps",
        ValueError,
    ),
    (
        lambda: train_lm(MODEL, torch.arange(50) % 11, VAL, steps=2, block_size=4, lr=float("nan")),
        "lr",
        ValueError,
    ),
    (
        lambda: train_lm(MODEL, torch.arange(50) % 11, VAL, steps=2, block_size=4, lr=-1e-3),
        "lr",
        ValueError,
    ),
    (
        lambda: train_lm(
            MODEL, torch.arange(50) % 11, VAL, steps=2, block_size=4, max_grad_norm=-1.0
        ),
        "max_grad_norm",
        ValueError,
    ),
    (
        lambda: train_lm(MODEL, torch.arange(50.0), VAL, steps=2, block_size=4),
        "train_tokens",
        TypeError,
    ),
]


@pytest.mark.parametrize("call,name,kind", CASES)
def test_clear_error(call, name, kind):
    expect_clear_error(call, name, kind=kind)


def test_temperature_zero_is_greedy_on_purpose():
    """temperature=0 is accepted (documented: greedy); check against an argmax loop."""
    MODEL.eval()
    out = MODEL.generate(IDS[:1], 4, temperature=0)
    ids = IDS[:1]
    for _ in range(4):
        ids = torch.cat((ids, MODEL(ids)[:, -1].argmax(-1, keepdim=True)), dim=1)
    assert torch.equal(out, ids)
