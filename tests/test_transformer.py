"""Tests of companion.transformer (Chapter 7).

The GPT is proven against implementations written by others: Hugging Face's
``GPT2LMHeadModel`` (test-only dependency, tiny random config, no download) with the weights
copied across, forward and backward, and PyTorch's ``nn.TransformerEncoderLayer(norm_first=True)``
with a causal mask for one block. Deliberately wrong variants (post-norm, a wrong head split,
exact GELU where GPT-2 uses the tanh approximation) must fail the same comparisons.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from companion.attention import attention, merge_heads
from companion.data.text import CharTokenizer, language_model_windows, load_pydoc_topics
from companion.parameters import count_parameters
from companion.transformer import (
    GPT,
    GPT2_LARGE,
    GPT2_MEDIUM,
    GPT2_SMALL,
    GPT2_XL,
    GPT3_175B,
    Block,
    GPTConfig,
    KVCache,
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


# --- against Hugging Face's GPT-2 -------------------------------------------------------------


def _hf_gpt2(model: GPT, activation="gelu_new"):
    """A GPT2LMHeadModel with ``model``'s weights (Conv1D stores W transposed)."""
    transformers = pytest.importorskip("transformers")
    cfg = model.cfg
    hc = transformers.GPT2Config(
        vocab_size=cfg.vocab_size, n_positions=cfg.block_size, n_embd=cfg.n_embd,
        n_layer=cfg.n_layer, n_head=cfg.n_head, activation_function=activation,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, layer_norm_epsilon=1e-5,
        bos_token_id=0, eos_token_id=0,
    )  # fmt: skip
    ref = transformers.GPT2LMHeadModel(hc).to(model.tok_emb.weight.dtype).eval()
    sd = {"transformer.wte.weight": model.tok_emb.weight,
          "transformer.wpe.weight": model.pos_emb.weight,
          "transformer.ln_f.weight": model.ln_f.weight, "transformer.ln_f.bias": model.ln_f.bias,
          "lm_head.weight": model.lm_head.weight}  # fmt: skip
    for i, b in enumerate(model.blocks):
        p = f"transformer.h.{i}."
        pairs = {"ln_1": b.ln1, "ln_2": b.ln2, "attn.c_attn": b.attn.qkv}
        pairs |= {"attn.c_proj": b.attn.proj, "mlp.c_fc": b.mlp.up, "mlp.c_proj": b.mlp.down}
        for name, mod in pairs.items():
            linear = isinstance(mod, nn.Linear)
            sd[p + name + ".weight"] = mod.weight.T if linear else mod.weight
            sd[p + name + ".bias"] = mod.bias
    ref.load_state_dict({k: v.detach().clone() for k, v in sd.items()}, strict=True)
    return ref


def _hf_grads(ref, model):
    """HF gradients mapped to the companion's parameter names (transposing Conv1D)."""
    out = {"tok_emb.weight": ref.transformer.wte.weight.grad,
           "pos_emb.weight": ref.transformer.wpe.weight.grad,
           "ln_f.weight": ref.transformer.ln_f.weight.grad,
           "ln_f.bias": ref.transformer.ln_f.bias.grad}  # fmt: skip
    for i, h in enumerate(ref.transformer.h):
        p = f"blocks.{i}."
        table = (("ln1", h.ln_1, False), ("ln2", h.ln_2, False),
                 ("attn.qkv", h.attn.c_attn, True), ("attn.proj", h.attn.c_proj, True),
                 ("mlp.up", h.mlp.c_fc, True), ("mlp.down", h.mlp.c_proj, True))  # fmt: skip
        for ours, theirs, t in table:
            out[p + ours + ".weight"] = theirs.weight.grad.T if t else theirs.weight.grad
            out[p + ours + ".bias"] = theirs.bias.grad
    return out


HF_CFG = GPTConfig(vocab_size=37, block_size=16, n_layer=2, n_head=4, n_embd=32)


@pytest.mark.parametrize("fused", [True, False])
def test_gpt_equals_huggingface_gpt2_forward_and_backward(fused):
    torch.manual_seed(0)
    model = GPT(HF_CFG, fused=fused).double()
    ref = _hf_gpt2(model)
    idx = torch.randint(0, 37, (3, 16), generator=torch.Generator().manual_seed(1))
    targets = torch.randint(0, 37, (3, 16), generator=torch.Generator().manual_seed(2))
    ours = model(idx)
    theirs = ref(idx).logits
    torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-10)
    F.cross_entropy(ours.flatten(0, 1), targets.flatten()).backward()
    F.cross_entropy(theirs.flatten(0, 1), targets.flatten()).backward()
    grads = _hf_grads(ref, model)
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, grads[name], rtol=1e-9, atol=1e-10, msg=name)


def test_wrong_variants_fail_the_huggingface_comparison():
    torch.manual_seed(0)
    model = GPT(HF_CFG).double().eval()
    ref = _hf_gpt2(model)
    idx = torch.randint(0, 37, (2, 16), generator=torch.Generator().manual_seed(1))
    want = ref(idx).logits

    # 1. exact GELU where GPT-2 uses the tanh approximation
    exact = GPT(GPTConfig(**{**HF_CFG.__dict__, "activation": "gelu"})).double()
    exact.load_state_dict(model.state_dict())
    assert not torch.allclose(exact(idx), want, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(_hf_gpt2(exact, activation="gelu")(idx).logits, exact(idx))

    # 2. post-norm blocks (the original Transformer's order) with the same weights
    def post_norm(block, x, cache=None, layer=0):
        x = block.ln1(x + block.attn(x))
        return block.ln2(x + block.mlp(x))

    # 3. a wrong head split: heads made of interleaved features
    def wrong_heads(block, x, cache=None, layer=0):
        B, T, C = x.shape
        H = block.attn.n_head
        q, k, v = block.attn.qkv(block.ln1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, C // H, H).permute(0, 3, 1, 2) for t in (q, k, v))
        y = attention(q, k, v, is_causal=True)[0]
        x = x + block.attn.proj(merge_heads(y))
        return x + block.mlp(block.ln2(x))

    for variant in (post_norm, wrong_heads):
        original = Block.forward
        Block.forward = variant
        try:
            got = model(idx)
        finally:
            Block.forward = original
        assert not torch.allclose(got, want, atol=1e-3), variant.__name__
    torch.testing.assert_close(model(idx), want, rtol=1e-10, atol=1e-10)  # restored


def test_block_equals_torch_encoder_layer_norm_first_with_causal_mask():
    cfg = GPTConfig(vocab_size=5, block_size=8, n_layer=1, n_head=4, n_embd=16)
    torch.manual_seed(0)
    block = Block(cfg).double().eval()
    for p in block.parameters():  # make biases and LayerNorm parameters non-trivial
        nn.init.normal_(p, std=0.3)
    layer = nn.TransformerEncoderLayer(
        16, 4, 64, dropout=0.0, activation=lambda t: F.gelu(t, approximate="tanh"),
        batch_first=True, norm_first=True,
    ).double().eval()  # fmt: skip
    with torch.no_grad():
        layer.self_attn.in_proj_weight.copy_(block.attn.qkv.weight)
        layer.self_attn.in_proj_bias.copy_(block.attn.qkv.bias)
        layer.self_attn.out_proj.load_state_dict(block.attn.proj.state_dict())
        layer.linear1.load_state_dict(block.mlp.up.state_dict())
        layer.linear2.load_state_dict(block.mlp.down.state_dict())
        layer.norm1.load_state_dict(block.ln1.state_dict())
        layer.norm2.load_state_dict(block.ln2.state_dict())
    x = torch.randn(3, 8, 16, dtype=torch.float64)
    mask = nn.Transformer.generate_square_subsequent_mask(8, dtype=torch.float64)
    torch.testing.assert_close(block(x), layer(x, src_mask=mask, is_causal=True))
    layer.norm_first = False  # the post-norm layer is a different function
    assert not torch.allclose(block(x), layer(x, src_mask=mask, is_causal=True), atol=1e-3)


# --- the model's own properties --------------------------------------------------------------


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


def test_ids_are_checked_once_per_generate_not_per_token(monkeypatch):
    model = _pair()[0]
    calls = []
    original = GPT._check_ids
    monkeypatch.setattr(
        GPT, "_check_ids", lambda self, *a, **k: calls.append(1) or original(self, *a, **k)
    )
    model.generate(torch.zeros(1, 2, dtype=torch.long), 20, temperature=0)
    assert len(calls) == 1
    model(torch.zeros(1, 2, dtype=torch.long))  # a user's forward call is still checked
    assert len(calls) == 2


def test_attention_maps_run_in_eval_mode_and_restore_the_mode():
    cfg = GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8, dropout=0.5)
    torch.manual_seed(0)
    model = GPT(cfg).train()
    idx = torch.randint(0, 11, (1, 8))
    maps = model.attention_maps(idx)
    assert model.training  # restored
    model.eval()
    for a, b in zip(maps, model.attention_maps(idx), strict=True):
        torch.testing.assert_close(a, b)  # no dropout in the maps
    assert not model.training


def test_generate_refuses_a_one_dimensional_prompt_like_forward():
    model = _pair()[0]
    ids = CharTokenizer("abc").encode("abca")  # (T,), as the tokenizer returns it
    for call in (lambda: model(ids), lambda: model.generate(ids, 3)):
        with pytest.raises(ValueError, match=r"idx\[None\]"):
            call()


def test_scaled_residual_initialisation():
    L = 8
    cfg = GPTConfig(vocab_size=50, block_size=8, n_layer=L, n_head=4, n_embd=64)
    torch.manual_seed(0)
    model = GPT(cfg)
    residual = torch.cat([torch.cat((b.attn.proj.weight.flatten(), b.mlp.down.weight.flatten()))
                          for b in model.blocks])  # fmt: skip
    others = torch.cat([torch.cat((b.attn.qkv.weight.flatten(), b.mlp.up.weight.flatten()))
                        for b in model.blocks])  # fmt: skip
    want = 0.02 / math.sqrt(2 * L)
    assert abs(residual.std().item() / want - 1) < 0.02  # unscaled would be 0.02: 4x off
    assert abs(others.std().item() / 0.02 - 1) < 0.02
    assert all((b.attn.proj.bias == 0).all() for b in model.blocks)


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
    assert n - (V + T) * d - 2 * d == L * (12 * d * d + 13 * d)


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
    with pytest.raises(ValueError, match=r"\[0, vocab_size=23\)"):
        model(torch.full((1, 3), 23))
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, 16\)"):
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
    assert tok.decode(ids.tolist()) == text[:1000]  # a list is converted (documented)
    X, Y = language_model_windows(torch.arange(20), 4, stride=3)
    assert X.shape == (6, 4) and torch.equal(Y, X + 1) and X[1, 0] == 3
    with pytest.raises(ValueError, match=r"decode each row"):
        tok.decode(ids[None].repeat(2, 1))


# --- GPU (skipped without CUDA) ----------------------------------------------------------------


@pytest.mark.gpu
def test_gpt_training_step_on_cuda_matches_cpu():
    """One AdamW step in float64 on both devices: logits, loss and updated weights agree to
    1e-9 (only the order of reductions differs)."""
    results = {}
    idx = torch.randint(0, 23, (4, 12), generator=torch.Generator().manual_seed(0))
    for device in ("cpu", "cuda"):
        torch.manual_seed(0)
        model = GPT(TINY).double().to(device)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
        x = idx.to(device)
        loss = F.cross_entropy(model(x[:, :-1]).flatten(0, 1), x[:, 1:].flatten())
        loss.backward()
        opt.step()
        results[device] = (loss.item(), [p.detach().cpu() for p in model.parameters()])
    assert results["cuda"][0] == pytest.approx(results["cpu"][0], rel=1e-9)
    for a, b in zip(results["cpu"][1], results["cuda"][1], strict=True):
        torch.testing.assert_close(b, a, rtol=1e-9, atol=1e-9)


@pytest.mark.gpu
def test_generation_on_cuda_with_cache():
    model = _pair(dtype=torch.float64)[0].cuda()
    prompt = torch.randint(0, 23, (2, 3), device="cuda")
    a = model.generate(prompt, 20, temperature=0, use_cache=True)
    b = model.generate(prompt, 20, temperature=0, use_cache=False)
    assert torch.equal(a, b)
    assert torch.equal(model.cpu().generate(prompt.cpu(), 20, temperature=0), a.cpu())
