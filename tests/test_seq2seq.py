"""companion.seq2seq: teacher forcing equals step-by-step decoding on the true prefix, free
running feeds the model's own tokens, and a tiny model learns to reverse digit strings."""

from __future__ import annotations

import pytest  # noqa: E402
import torch
from torch.testing import assert_close

from companion import seq2seq

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: one thread is fastest


def _model(seed=0):
    torch.manual_seed(seed)
    return seq2seq.Seq2Seq(embed=6, hidden=12).double()


def test_teacher_forcing_equals_stepwise_decoding_on_the_true_prefix():
    m = _model()
    src, tgt = seq2seq.reverse_digits(5, 4, torch.Generator().manual_seed(0))
    logits = m(src, tgt)
    h = m.encode(src)
    prev = torch.full((5, 1), seq2seq.BOS)
    for t in range(4):
        o, h = m.decoder(m.tgt_embed(prev), h)
        assert_close(m.head(o)[:, 0], logits[:, t])
        prev = tgt[:, t : t + 1]  # the TRUE token, whatever the model predicted


def test_free_running_feeds_back_its_own_tokens():
    m = _model(1)
    src, tgt = seq2seq.reverse_digits(64, 5, torch.Generator().manual_seed(1))
    out = m.generate(src)
    h, prev, want = m.encode(src), torch.full((64, 1), seq2seq.BOS), []
    with torch.no_grad():
        for _ in range(5):
            o, h = m.decoder(m.tgt_embed(prev), h)
            prev = m.head(o).argmax(-1)
            want.append(prev)
    assert torch.equal(out, torch.cat(want, 1))
    # wrong variant: "generating" with the true prefix is teacher forcing; on an untrained
    # model the two differ
    assert not torch.equal(out, m(src, tgt).argmax(-1))


def test_a_tiny_model_learns_to_reverse():
    g = torch.Generator().manual_seed(0)
    src, tgt = seq2seq.reverse_digits(2000, 3, g)
    test_src, test_tgt = seq2seq.reverse_digits(500, 3, g)
    torch.manual_seed(0)
    m = seq2seq.Seq2Seq(embed=8, hidden=32)
    losses = seq2seq.train_seq2seq(m, src, tgt, steps=300, batch_size=64, lr=2e-2)
    assert losses[-1] < 0.2 * losses[0]
    exact = (m.generate(test_src) == test_tgt).all(1).float().mean().item()
    assert exact > 0.9, exact
    assert seq2seq.reverse_digits(2, 3, torch.Generator().manual_seed(0))[1].tolist() == [
        row[::-1]
        for row in seq2seq.reverse_digits(2, 3, torch.Generator().manual_seed(0))[0].tolist()
    ]
