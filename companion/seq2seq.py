"""Sequence to sequence with teacher forcing: a tiny GRU encoder-decoder (Chapter 6, Section 6.9).

An **encoder** reads the source sequence and hands its final hidden state to a
**decoder**, which writes the target one token at a time, each step reading the token
before it (Sutskever et al., 2014;
Cho et al., 2014). Which token is "the token before":

* **teacher forcing** (training): the *true* previous target token. All steps are known
  in advance, so the decoder runs over the whole target in one call, and each step's
  loss does not suffer from the model's own earlier mistakes;
* **free running** (inference, :meth:`Seq2Seq.generate`): the model's *own* previous
  prediction. One early mistake feeds every later step, which never happened in
  training (exposure bias).

The toy task (:func:`reverse_digits`) is to write a string of digits backwards; it needs
no download. Tokens are the digits 0-9; the decoder starts from ``BOS`` = 10.

Input policy: token tensors are integer tensors (B, L) with digits in ``[0, 10)``; no
conversion of NumPy arrays or lists (``TypeError``). Counts are positive integers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from companion.validation import check_index_tensor, check_positive, check_positive_int, describe

DIGITS = 10
BOS = DIGITS  # the decoder's start token


def reverse_digits(n: int, length: int, generator: torch.Generator | None = None):
    """``n`` random digit strings (n, length) and their reversals (n, length), int64."""
    n, length = check_positive_int(n, "n"), check_positive_int(length, "length")
    src = torch.randint(0, DIGITS, (n, length), generator=generator)
    return src, src.flip(1)


class Seq2Seq(nn.Module):
    """GRU encoder-decoder without attention. ``forward(src, tgt)``: teacher-forced logits."""

    def __init__(self, embed: int = 16, hidden: int = 64):
        super().__init__()
        embed, hidden = check_positive_int(embed, "embed"), check_positive_int(hidden, "hidden")
        self.src_embed = nn.Embedding(DIGITS, embed)
        self.tgt_embed = nn.Embedding(DIGITS + 1, embed)  # + BOS
        self.encoder = nn.GRU(embed, hidden, batch_first=True)
        self.decoder = nn.GRU(embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, DIGITS)

    def encode(self, src):
        """src (B, L) -> the encoder's final state (1, B, H): the whole source in one vector."""
        src = check_index_tensor(src, "src", DIGITS, shape=("B", "L"))
        _, h = self.encoder(self.src_embed(src))
        return h

    def forward(self, src, tgt):
        """Teacher forcing: step t reads the true token t-1 (BOS at t=0). -> logits (B, L, 10)."""
        sizes = {}
        src = check_index_tensor(src, "src", DIGITS, shape=("B", None), sizes=sizes)
        tgt = check_index_tensor(tgt, "tgt", DIGITS, shape=("B", None), sizes=sizes)
        h = self.encode(src)
        bos = torch.full_like(tgt[:, :1], BOS)
        inputs = torch.cat([bos, tgt[:, :-1]], dim=1)  # (B, L): shifted right by one
        out, _ = self.decoder(self.tgt_embed(inputs), h)
        return self.head(out)

    @torch.no_grad()
    def generate(self, src, length: int | None = None):
        """Free running, greedy: step t reads the model's own token t-1. -> (B, length) ids."""
        h = self.encode(src)
        length = src.shape[1] if length is None else check_positive_int(length, "length")
        token = torch.full((src.shape[0], 1), BOS, dtype=torch.long, device=src.device)
        out = []
        for _ in range(length):
            o, h = self.decoder(self.tgt_embed(token), h)
            token = self.head(o).argmax(-1)  # (B, 1): fed back at the next step
            out.append(token)
        return torch.cat(out, dim=1)


def train_seq2seq(
    model: Seq2Seq,
    src: torch.Tensor,
    tgt: torch.Tensor,
    *,
    steps: int,
    batch_size: int = 64,
    lr: float = 1e-2,
    seed: int = 0,
) -> list[float]:
    """Train with teacher forcing and Adam; return the loss every 50 steps (read then only)."""
    if not isinstance(model, Seq2Seq):
        raise TypeError(f"model must be a Seq2Seq, got {describe(model)}")
    sizes = {}
    src = check_index_tensor(src, "src", DIGITS, shape=("N", "L"), sizes=sizes)
    tgt = check_index_tensor(tgt, "tgt", DIGITS, shape=("N", None), sizes=sizes)
    steps, batch_size = (
        check_positive_int(steps, "steps"),
        check_positive_int(batch_size, "batch_size"),
    )
    lr = check_positive(lr, "lr")
    device = next(model.parameters()).device
    src, tgt = src.to(device).long(), tgt.to(device).long()
    gen = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses, running = [], torch.zeros((), device=device)
    for step in range(1, steps + 1):
        idx = torch.randint(0, len(src), (batch_size,), generator=gen).to(device)
        logits = model(src[idx], tgt[idx])
        loss = F.cross_entropy(logits.reshape(-1, DIGITS), tgt[idx].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        running += loss.detach()
        if step % 50 == 0:
            losses.append(float(running) / 50)
            running.zero_()
    return losses
