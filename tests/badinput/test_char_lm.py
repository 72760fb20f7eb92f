"""Bad input to companion.char_lm and companion.seq2seq: token ids of the wrong kind or range,
non-positive counts and hyper-parameters, wrong models; each a clear error (issue 18)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from companion import char_lm, seq2seq
from tests.badinput.harness import expect_clear_error

LM = char_lm.CharLSTM(7, embed=4, hidden=8)
IDS = torch.randint(0, 7, (200,), generator=torch.Generator().manual_seed(0))
S2S = seq2seq.Seq2Seq(embed=4, hidden=8)
SRC, TGT = seq2seq.reverse_digits(6, 4, torch.Generator().manual_seed(0))


def tbptt(**kw):
    args = {"batch_size": 4, "bptt": 10, "epochs": 1, "lr": 1e-2} | kw
    ids = args.pop("ids", IDS)
    model = args.pop("model", LM)
    return lambda: char_lm.train_tbptt(model, ids, **args)


CASES = [
    (lambda: char_lm.CharLSTM(0), "vocab_size", ValueError),
    (lambda: char_lm.CharLSTM(7, hidden=1.5), "hidden", TypeError),
    (lambda: LM(IDS.float()[None]), "ids", TypeError),
    (lambda: LM(IDS), "ids", ValueError),
    (lambda: LM(IDS.numpy()[None]), "ids", TypeError),
    (tbptt(bptt=0), "bptt", ValueError),
    (tbptt(epochs=-1), "epochs", ValueError),
    (tbptt(lr=float("nan")), "lr", ValueError),
    (tbptt(lr=0.0), "lr", ValueError),
    (tbptt(max_grad_norm=-1.0), "max_grad_norm", ValueError),
    (tbptt(batch_size=1000), "batch_size", ValueError),
    (tbptt(ids=IDS + 7), "ids", ValueError),
    (tbptt(ids=IDS.numpy()), "ids", TypeError),
    (tbptt(ids=IDS.tolist()), "ids", TypeError),
    (tbptt(ids=IDS.view(20, 10)), "ids", ValueError),
    (tbptt(model=nn.LSTM(7, 8)), "model", TypeError),
    (tbptt(optimizer="adam"), "optimizer", TypeError),
    (lambda: char_lm.evaluate_loss(LM, IDS[:1]), "ids", ValueError),
    (lambda: char_lm.evaluate_loss(LM, IDS, chunk=0), "chunk", ValueError),
    (lambda: char_lm.evaluate_loss(LM, IDS.double()), "ids", TypeError),
    (lambda: char_lm.sample(LM, IDS[:3], 10, temperature=0.0), "temperature", ValueError),
    (lambda: char_lm.sample(LM, IDS[:3], 10, temperature=-1.0), "temperature", ValueError),
    (lambda: char_lm.sample(LM, IDS[:3], 10, temperature=float("inf")), "temperature", ValueError),
    (lambda: char_lm.sample(LM, IDS[:3], 0), "n", ValueError),
    (lambda: char_lm.sample(LM, IDS[:3], 10.0), "n", TypeError),
    (lambda: char_lm.sample(LM, IDS[:3][None], 10), "prompt", ValueError),
    (lambda: char_lm.sample(LM, IDS[:0], 10), "prompt", ValueError),
    (lambda: char_lm.sample(LM, torch.tensor([1, 9]), 10), "prompt", ValueError),
    (lambda: char_lm.sample(LM, "The ", 10), "prompt", TypeError),
    (lambda: char_lm.stream_batches(IDS, 0), "batch_size", ValueError),
    # sequence to sequence
    (lambda: seq2seq.reverse_digits(0, 4), "n", ValueError),
    (lambda: seq2seq.reverse_digits(5, np.float64(4)), "length", TypeError),
    (lambda: seq2seq.Seq2Seq(hidden=0), "hidden", ValueError),
    (lambda: S2S(SRC.float(), TGT), "src", TypeError),
    (lambda: S2S(SRC + 10, TGT), "src", ValueError),
    (lambda: S2S(SRC, TGT[:3]), "tgt", ValueError),
    (lambda: S2S(SRC, TGT[0]), "tgt", ValueError),
    (lambda: S2S.generate(SRC, length=0), "length", ValueError),
    (lambda: S2S.generate(SRC.numpy()), "src", TypeError),
    (lambda: seq2seq.train_seq2seq(S2S, SRC, TGT, steps=0), "steps", ValueError),
    (lambda: seq2seq.train_seq2seq(S2S, SRC, TGT, steps=5, lr=-1.0), "lr", ValueError),
    (lambda: seq2seq.train_seq2seq(S2S, SRC, TGT[:2], steps=5), "tgt", ValueError),
    (lambda: seq2seq.train_seq2seq(nn.GRU(3, 4), SRC, TGT, steps=5), "model", TypeError),
]


@pytest.mark.parametrize("case", CASES, ids=[f"char_lm-seq2seq-{i}" for i in range(len(CASES))])
def test_bad_input_gets_a_clear_error(case):
    call, name, kind = case
    expect_clear_error(call, name, kind=kind)


def test_int32_ids_are_accepted_and_score_like_int64():
    assert char_lm.evaluate_loss(LM, IDS.int()) == char_lm.evaluate_loss(LM, IDS)
