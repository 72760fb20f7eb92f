"""Tests of companion.transformer (Chapter 7): fused = explicit, KV cache, counts, errors."""

from __future__ import annotations

import pytest
import torch

from companion.attention import padding_mask
from companion.data.text import CharTokenizer, language_model_windows, load_pydoc_topics
from companion.transformer import (
    GPT,
    GPT2_LARGE,
    GPT2_MEDIUM,
    GPT2_SMALL,
    GPT2_XL,
    GPT3_175B,
    GPTConfig,
    KVCache,
    count_parameters,
    estimate_flops_per_token,
    gpt_parameter_formula,
)

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = GPTConfig(vocab_size=23, block_size=12, n_layer=2, n_head=2, n_embd=16)


def _pair(cfg=TINY, dtype=torch.float64):
    torch.manual_seed(0)
    fused = GPT(cfg, fused=True).to(dtype)
    explicit = GPT(cfg, fused=False).to(dtype)
    explicit.load_state_dict(fused.state_dict())
    return fused, explicit


def test_fused_equals_explicit_forward_and_backward():
    fused, explicit = _pair()
    idx = torch.randint(0, 23, (3, 12))
    a, b = fused(idx), explicit(idx)
    torch.testing.assert_close(a, b)
    a.square().mean().backward()
    b.square().mean().backward()
    for (name, p), q in zip(fused.named_parameters(), explicit.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, msg=name)


def test_model_is_causal():
    _, model = _pair()
    idx = torch.randint(0, 23, (1, 10))
    changed = idx.clone()
    changed[0, 6] = (idx[0, 6] + 1) % 23
    a, b = model(idx), model(changed)
    torch.testing.assert_close(a[:, :6], b[:, :6])  # the past does not see the future
    assert not torch.allclose(a[:, 6:], b[:, 6:])


@pytest.mark.parametrize("fused", [True, False])
def test_cached_forward_equals_full_forward(fused):
    model = _pair()[0 if fused else 1]
    idx = torch.randint(0, 23, (2, 11))
    cache = KVCache(TINY.n_layer)
    parts = [model(idx[:, :4], kv_cache=cache), model(idx[:, 4:7], kv_cache=cache)]
    parts += [model(idx[:, t : t + 1], kv_cache=cache) for t in range(7, 11)]
    assert len(cache) == 11
    torch.testing.assert_close(torch.cat(parts, dim=1), model(idx))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("fused", [True, False])
def test_generation_with_cache_gives_the_same_tokens(fused, dtype):
    model = _pair(dtype=dtype)[0 if fused else 1]
    prompt = torch.randint(0, 23, (2, 3), generator=torch.Generator().manual_seed(3))
    n = 25  # runs past block_size = 12: the sliding window is exercised too
    greedy = [model.generate(prompt, n, temperature=0, use_cache=c) for c in (True, False)]
    assert torch.equal(*greedy) and greedy[0].shape == (2, 3 + n)
    sampled = [
        model.generate(
            prompt, n, 0.9, top_k=10, use_cache=c, generator=torch.Generator().manual_seed(7)
        )
        for c in (True, False)
    ]
    assert torch.equal(*sampled)
    assert not torch.equal(sampled[0], greedy[0])  # sampling really sampled
    other = model.generate(prompt, n, 0.9, top_k=10, generator=torch.Generator().manual_seed(8))
    assert not torch.equal(other, sampled[0])


def test_top_k_one_is_greedy():
    model = _pair()[0]
    prompt = torch.randint(0, 23, (1, 4))
    torch.testing.assert_close(
        model.generate(prompt, 8, temperature=1.0, top_k=1), model.generate(prompt, 8, 0)
    )


@pytest.mark.parametrize(
    ("cfg", "count", "published"),
    [
        (GPT2_SMALL, 124_439_808, 124e6),  # 124M (the GPT-2 paper's table says 117M)
        (GPT2_MEDIUM, 354_823_168, 355e6),
        (GPT2_LARGE, 774_030_080, 774e6),
        (GPT2_XL, 1_557_611_200, 1558e6),
        (GPT3_175B, 174_604_259_328, 175e9),
    ],
)
def test_parameter_counts_on_meta_match_published(cfg, count, published):
    with torch.device("meta"):
        model = GPT(cfg)
    assert count_parameters(model) == count == gpt_parameter_formula(cfg)
    assert abs(count - published) / published < 0.005  # within the rounding of "124M"/"175B"


@pytest.mark.parametrize("L,d,H,V,T", [(1, 8, 2, 5, 4), (3, 48, 4, 97, 64), (6, 128, 8, 1000, 256)])
def test_formula_equals_count_and_the_12Ld2_rule(L, d, H, V, T):
    cfg = GPTConfig(vocab_size=V, block_size=T, n_layer=L, n_head=H, n_embd=d)
    with torch.device("meta"):
        n = count_parameters(GPT(cfg))
    assert n == gpt_parameter_formula(cfg)
    embeddings = (V + T) * d
    assert n - embeddings - 2 * d == L * (12 * d * d + 13 * d)


def test_flops_per_token():
    # GPT-3: 6N with N = 174.6e9 and 300e9 tokens gives the published 3.14e23 FLOPs
    n = gpt_parameter_formula(GPT3_175B)
    assert round(6 * n * 300e9 / 1e21) == 314
    flops = estimate_flops_per_token(GPT3_175B)
    assert 1.0 < flops / (6 * n) < 1.05  # attention at T = 2048 adds a few percent
    cfg = GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=1, n_embd=4)
    forward = 2 * (12 * 16 + 10 * 4) + 4 * 8 * 4  # by hand
    assert estimate_flops_per_token(cfg, training=False) == forward
    assert estimate_flops_per_token(cfg) == 3 * forward
    assert estimate_flops_per_token(cfg, seq_len=4, training=False) == forward - 4 * 4 * 4


def test_clear_errors():
    model = GPT(TINY)
    with pytest.raises(ValueError, match="exceeds the context size block_size=12"):
        model(torch.zeros(1, 13, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\(B, T\) tensor of int64"):
        model(torch.zeros(13, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\[0, vocab_size=23\)"):
        model(torch.full((1, 3), 23))
    with pytest.raises(ValueError, match=r"n_embd=16"):
        model.blocks[0](torch.randn(1, 3, 15))
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig(n_embd=10, n_head=3)
    with pytest.raises(ValueError, match="top_k"):
        model.generate(torch.zeros(1, 2, dtype=torch.long), 3, top_k=0)
    with pytest.raises(ValueError, match="seq_len"):
        estimate_flops_per_token(TINY, seq_len=13)
    cache = KVCache(2)
    model(torch.zeros(1, 10, dtype=torch.long), kv_cache=cache)
    with pytest.raises(ValueError, match="sequence length 13 exceeds"):
        model(torch.zeros(1, 3, dtype=torch.long), kv_cache=cache)


def test_text_loader_and_tokenizer():
    text = load_pydoc_topics()
    assert len(text) > 300_000 and "assert" in text
    tok = CharTokenizer(text)
    ids = tok.encode(text[:1000])
    assert tok.decode(ids) == text[:1000] and ids.max() < tok.vocab_size
    X, Y = language_model_windows(torch.arange(20), 4, stride=3)
    assert X.shape == (6, 4) and torch.equal(Y, X + 1) and X[1, 0] == 3
    with pytest.raises(ValueError, match="alphabet"):
        CharTokenizer("abc").encode("abd")
    with pytest.raises(ValueError, match="at least block_size"):
        language_model_windows(torch.arange(4), 4)


def test_chapter7_exercise_checks_accept_right_and_reject_wrong_answers():
    from companion.exercises import CheckFailed
    from companion.exercises.ch07 import (
        GPT3_2P7B,
        check_attention_crossover,
        check_padded_attention,
        check_parameter_count,
    )

    def right(q, k, v, lengths):
        return torch.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=padding_mask(lengths, k.size(-2))
        )

    assert check_padded_attention(right)
    assert check_parameter_count(gpt_parameter_formula(GPT3_2P7B)) and check_attention_crossover(
        73728
    )
    with pytest.raises(CheckFailed, match="without any mask"):
        check_padded_attention(
            lambda q, k, v, lengths: torch.nn.functional.scaled_dot_product_attention(q, k, v)
        )
    with pytest.raises(CheckFailed, match="tied|shares"):
        check_parameter_count(gpt_parameter_formula(GPT3_2P7B) + 50257 * 2560)
    with pytest.raises(CheckFailed, match="twice"):
        check_attention_crossover(12 * 12288)
