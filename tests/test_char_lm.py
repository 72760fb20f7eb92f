"""companion.char_lm: truncated BPTT carries a detached state, held-out scoring equals one pass
over the whole text (and is comparable with the n-gram baselines), sampling stays on the device
and equals greedy decoding at a tiny temperature (Chapter 6)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from companion import char_lm
from companion.ngram import NGramLM

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: one thread is fastest


def _model(V=7, seed=0):
    torch.manual_seed(seed)
    return char_lm.CharLSTM(V, embed=4, hidden=8).double()


def _ids(n=200, V=7, seed=0):
    return torch.randint(0, V, (n,), generator=torch.Generator().manual_seed(seed))


def test_evaluate_loss_is_one_pass_over_the_text():
    model, ids = _model(), _ids()
    with torch.no_grad():
        out, _ = model.lstm(model.embed(ids[:-1])[None])  # nn.LSTM over the whole text
        want = F.cross_entropy(model.head(out)[0], ids[1:]).item()
    assert char_lm.evaluate_loss(model, ids, chunk=7) == pytest.approx(want, rel=1e-10)
    assert char_lm.evaluate_loss(model, ids, chunk=10_000) == pytest.approx(want, rel=1e-10)
    # wrong variant: restarting from a zero state in every chunk scores a different number
    with torch.no_grad():
        restarted = sum(
            F.cross_entropy(model(ids[j : j + 7][None])[0][0][: len(ids[j + 1 : j + 8])],
                            ids[j + 1 : j + 8], reduction="sum").item()
            for j in range(0, len(ids) - 1, 7)
        ) / (len(ids) - 1)  # fmt: skip
    assert abs(restarted - want) > 1e-4


def test_scores_the_same_tokens_as_the_ngram_baseline():
    """A model that ignores its input and predicts the unigram frequencies scores as a unigram."""
    V, ids = 7, _ids(500)
    unigram = NGramLM(1, V, alpha=1.0).fit(ids[:400])
    model = _model(V)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.head.bias.copy_(unigram.log_probs)  # logits = log p(c), whatever the input
    assert char_lm.evaluate_loss(model, ids[400:]) == pytest.approx(
        unigram.loss(ids[400:]), rel=1e-9
    )


class _Spy(char_lm.CharLSTM):
    """Records the state passed into every training call."""

    def forward(self, ids, state=None):
        self.seen.append(state)
        return super().forward(ids, state)


def test_tbptt_carries_a_detached_state_across_windows():
    torch.manual_seed(0)
    spy = _Spy(7, embed=4, hidden=8)
    spy.seen = []
    ids = _ids(4 * 30 + 4)
    history = char_lm.train_tbptt(spy, ids, batch_size=4, bptt=10, epochs=1, lr=1e-2)
    assert len(history) == 1 and math.isfinite(history[0])
    assert spy.seen[0] is None  # a fresh start in each epoch
    assert len(spy.seen) == 3  # 31 tokens per stream -> 30 targets -> 3 windows of 10
    for state in spy.seen[1:]:
        h, c = state
        assert h.shape == (1, 4, 8) and not h.requires_grad and h.grad_fn is None
        assert h.abs().sum() > 0  # carried values, not a reset to zeros


def test_tbptt_learns_a_periodic_text():
    ids = torch.arange(5).repeat(80)  # 0 1 2 3 4 0 1 2 ...: each character fixes the next
    model = char_lm.CharLSTM(5, embed=4, hidden=16)
    torch.manual_seed(0)
    history = char_lm.train_tbptt(model, ids, batch_size=4, bptt=20, epochs=15, lr=3e-2)
    assert history[-1] < 0.1 * history[0]
    assert char_lm.evaluate_loss(model, ids[:50]) < 0.1


def test_stream_batches_are_contiguous_pieces():
    ids = torch.arange(23)
    s = char_lm.stream_batches(ids, 4)
    assert s.shape == (4, 5) and s[1].tolist() == [5, 6, 7, 8, 9]


def test_sampling_at_tiny_temperature_is_greedy_decoding():
    model, prompt = _model(), torch.tensor([1, 2, 3])
    got, entropy = char_lm.sample(model, prompt, 12, temperature=1e-4)
    seq = prompt.clone()
    with torch.no_grad():
        for _ in range(12):  # re-read the whole prefix every step: no state carried
            nxt = model(seq[None])[0][0, -1].argmax()
            seq = torch.cat([seq, nxt[None]])
    assert got.tolist() == seq[3:].tolist() and got.device.type == "cpu"
    assert entropy < 1e-3
    _, hot = char_lm.sample(
        model, prompt, 50, temperature=2.0, generator=torch.Generator().manual_seed(0)
    )
    assert hot > 1.0  # close to ln 7 = 1.95 for a flat distribution
    a = char_lm.sample(model, prompt, 30, 1.0, torch.Generator().manual_seed(3))[0]
    b = char_lm.sample(model, prompt, 30, 1.0, torch.Generator().manual_seed(3))[0]
    assert torch.equal(a, b)


@pytest.fixture
def no_tf32(monkeypatch):
    """Full float32 on the GPU: TF32 (on by default in cuDNN) would dominate the tolerance."""
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        yield


@pytest.mark.gpu
def test_sampling_and_scoring_on_cuda_match_cpu(no_tf32):
    model, ids = _model().float(), _ids()
    cpu_loss = char_lm.evaluate_loss(model, ids)
    greedy_cpu = char_lm.sample(model, ids[:5], 20, temperature=1e-4)[0]
    model.cuda()
    assert char_lm.evaluate_loss(model, ids) == pytest.approx(cpu_loss, rel=1e-4)
    greedy_gpu = char_lm.sample(model, ids[:5], 20, temperature=1e-4)[0]
    assert torch.equal(greedy_gpu, greedy_cpu)
