"""Every number and formula in the Chapter 6 errata fragment is recomputed here and found in
the text: row 6.3's corrected BPTT recursion is checked against autograd, and the size of the
error the source's version makes is computed and must be the one the row states."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from companion import rnn

ROOT = Path(__file__).resolve().parents[1]
FRAGMENT = (ROOT / "book" / "appendix" / "errata_parts" / "ch06.md").read_text(encoding="utf-8")


def bptt_gradients(T=30, I=3, H=8, seed=0):
    """dL/dW_hh of a tanh RNN with loss L = sum_t r_t . h_t: by autograd, by Eq. (ch06-bptt)
    with delta_t at the pre-activation, and by the source's local-only error term."""
    g = torch.Generator().manual_seed(seed)
    w_ih = torch.randn(H, I, generator=g, dtype=torch.float64) / I**0.5
    w_hh = (torch.randn(H, H, generator=g, dtype=torch.float64) / H**0.5).requires_grad_()
    b = torch.zeros(H, dtype=torch.float64)
    x = torch.randn(T, 1, I, generator=g, dtype=torch.float64)
    readout = torch.randn(T, 1, H, generator=g, dtype=torch.float64)  # dl_t/dh_t
    hs = [torch.zeros(1, H, dtype=torch.float64)]
    for t in range(T):
        hs.append(rnn.rnn_cell(x[t], hs[-1], w_ih, w_hh, b, b))
    loss = sum((readout[t] * hs[t + 1]).sum() for t in range(T))
    (true,) = torch.autograd.grad(loss, w_hh)
    h = torch.stack([s.detach() for s in hs])  # (T + 1, 1, H), h[0] = h_0
    W = w_hh.detach()
    full, local = torch.zeros_like(W), torch.zeros_like(W)
    delta_next = torch.zeros(1, H, dtype=torch.float64)  # delta_{T+1} = 0
    for t in range(T, 0, -1):
        delta = (1 - h[t] ** 2) * (readout[t - 1] + delta_next @ W)  # row form of W^T delta
        full += delta.T @ h[t - 1]
        local += ((1 - h[t] ** 2) * readout[t - 1]).T @ h[t - 1]  # no term from step t + 1
        delta_next = delta
    return true, full, local


def test_row_6_3_corrected_recursion_equals_autograd_and_the_error_is_as_stated():
    true, full, local = bptt_gradients()
    torch.testing.assert_close(full, true, rtol=1e-10, atol=1e-12)
    off = ((local - true).norm() / true.norm()).item()
    assert off > 0.1  # the source's version is really wrong, not a rounding difference
    assert f"off by {100 * off:.0f}% of the true gradient's norm" in FRAGMENT
    # the row uses delta at the pre-activation, as the Preface defines it
    assert r"\delta_t = \partial L/\partial a_t" in FRAGMENT


def test_rows_are_numbered_and_cite():
    rows = [line for line in FRAGMENT.splitlines() if re.match(r"\| 6\.\d+ \|", line)]
    assert [r.split("|")[1].strip() for r in rows] == [f"6.{i}" for i in range(1, len(rows) + 1)]
    assert all("{cite}" in r for r in rows)


def test_no_other_numbers_are_typed_in():
    """Apart from section numbers, equation subscripts and the computed 65%, no row states a
    number: a new number must come with a test here."""
    text = re.sub(r"\$[^$]*\$", "", FRAGMENT)  # maths: symbols, not measurements
    text = re.sub(r"§[\d.]+|\b\d{3}\b(?= §)|\| 6\.\d+ \||\{cite\}`[^`]*`|`[^`]*`", "", text)
    text = re.sub(r"ch06[-\w]*|Chapter 6", "", text)  # labels and the chapter's own name
    numbers = re.findall(r"\d+(?:\.\d+)?%?", text)
    assert sorted(set(numbers)) == sorted({"30", "8", "0", "65%"}), numbers
