"""Every number in the Chapter 7 errata fragment is recomputed here and found in the text."""

from __future__ import annotations

import math
import re
from pathlib import Path

import nbformat
import torch

from companion.transformer import GPT2_SMALL

ROOT = Path(__file__).resolve().parents[1]
FRAGMENT = (ROOT / "book" / "appendix" / "errata_parts" / "ch07.md").read_text(encoding="utf-8")


def test_row_7_3_head_width_and_unscaled_spread():
    d_k = GPT2_SMALL.n_embd // GPT2_SMALL.n_head
    assert f"d_k = {GPT2_SMALL.n_embd}/{GPT2_SMALL.n_head} = {d_k}" in FRAGMENT
    assert f"a standard deviation of {math.sqrt(d_k):.0f}" in FRAGMENT
    g = torch.Generator().manual_seed(0)  # and the claim itself: unit-variance q, k
    q, k = torch.randn(20_000, d_k, generator=g), torch.randn(20_000, d_k, generator=g)
    assert abs((q * k).sum(-1).std().item() / math.sqrt(d_k) - 1) < 0.03


def test_rows_are_numbered_and_cite():
    rows = [line for line in FRAGMENT.splitlines() if re.match(r"\| 7\.\d+ \|", line)]
    assert [r.split("|")[1].strip() for r in rows] == [f"7.{i}" for i in range(1, len(rows) + 1)]
    assert all("{cite}" in r for r in rows)


def test_book_does_not_call_the_transformer_attention_alone():
    """The source calls it 'based on self-attention', which is fair; neither the errata nor
    Chapter 7 may claim that the Transformer is attention alone."""
    nb = nbformat.read(ROOT / "book" / "ch07_transformers.ipynb", as_version=4)
    text = FRAGMENT + "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert not re.search(r"attention alone|only attention|attention only", text, re.IGNORECASE)
