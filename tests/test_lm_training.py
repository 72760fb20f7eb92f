"""Tests of companion.lm_training (Chapter 7): the schedule against PyTorch's own schedulers,
weight decay only on matrices, and a training loop that learns."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from companion.data.text import language_model_windows
from companion.lm_training import (
    evaluate_lm,
    lm_loss,
    parameter_groups,
    random_windows,
    train_lm,
    warmup_cosine,
)
from companion.transformer import GPT, GPTConfig

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("warmup,total,min_ratio", [(10, 50, 0.1), (5, 20, 0.0), (1, 7, 0.5)])
def test_warmup_cosine_equals_torch_linear_then_cosine_schedulers(warmup, total, min_ratio):
    p = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    linear = torch.optim.lr_scheduler.LinearLR(
        opt, start_factor=1 / warmup, end_factor=1.0, total_iters=max(1, warmup - 1)
    )
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(
        opt, T_max=total - warmup, eta_min=min_ratio
    )
    seq = torch.optim.lr_scheduler.SequentialLR(opt, [linear, cosine], milestones=[warmup])
    theirs = []
    for _ in range(total):
        theirs.append(opt.param_groups[0]["lr"])
        opt.step()
        seq.step()
    ours = [warmup_cosine(s, warmup, total, min_ratio) for s in range(total)]
    assert ours == pytest.approx(theirs, abs=1e-12)
    assert warmup_cosine(total, warmup, total, min_ratio) == pytest.approx(min_ratio)
    assert warmup_cosine(total + 5, warmup, total, min_ratio) == pytest.approx(min_ratio)


def test_weight_decay_only_on_matrices():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8))
    decay, no_decay = parameter_groups(model, 0.1)
    names = {id(p): n for n, p in model.named_parameters()}
    assert {names[id(p)] for p in no_decay["params"]} == {
        n for n, p in model.named_parameters() if n.endswith("bias") or ".ln" in n or "ln_f" in n
    }
    assert all(p.ndim == 2 for p in decay["params"])
    n_all = sum(p.numel() for p in model.parameters())
    assert sum(p.numel() for g in (decay, no_decay) for p in g["params"]) == n_all  # tied once
    # with zero gradients, AdamW's decoupled decay shrinks the matrices only
    opt = torch.optim.AdamW(parameter_groups(model, 0.5), lr=0.1)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    for n, p in model.named_parameters():
        changed = not torch.equal(before[n], p.detach())
        assert changed == (p.ndim == 2), n  # a wrong variant decaying everything changes LN gains


def test_random_windows_are_shifted_pairs():
    tokens = torch.arange(100)
    X, Y = random_windows(tokens, 8, 5, torch.Generator().manual_seed(0))
    assert X.shape == Y.shape == (5, 8) and torch.equal(Y, X + 1)
    assert torch.equal(X[:, 1:] - X[:, :-1], torch.ones(5, 7, dtype=torch.long))


def test_train_lm_learns_a_repeating_text_and_reads_loss_rarely():
    tokens = torch.tensor([0, 1, 2, 3, 4, 2, 1] * 60)
    X, Y = language_model_windows(tokens[:100], 8)
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=5, block_size=8, n_layer=1, n_head=2, n_embd=16))
    start = evaluate_lm(model, X, Y)
    history = train_lm(model, tokens, (X, Y), steps=60, block_size=8, batch_size=8, lr=1e-2,
                       warmup=6, eval_every=20)  # fmt: skip
    assert history.step == [20, 40, 60] and len(history.val_loss) == 3
    assert history.val_loss[-1] < 0.3 < start  # the cycle is learnt (start ≈ ln 5 = 1.6)
    assert history.lr[-1] == pytest.approx(1e-2 * 0.1)  # the schedule reached its floor
    assert model.training


def test_lm_loss_is_mean_cross_entropy():
    logits = torch.randn(2, 3, 5, dtype=torch.float64)
    y = torch.randint(0, 5, (2, 3))
    want = -logits.log_softmax(-1).gather(-1, y[..., None]).mean()
    torch.testing.assert_close(lm_loss(logits, y), want)
