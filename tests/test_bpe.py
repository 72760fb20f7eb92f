"""Tests of companion.bpe (Chapter 7): a hand-worked example, round trips, and Hugging Face
``tokenizers``' BPE trainer as the independent reference (test-only dependency)."""

from __future__ import annotations

import json

import pytest
import torch

from companion.bpe import PIECE_PATTERN, BPETokenizer
from companion.data.text import load_pydoc_topics

# Sennrich et al. (2016)'s toy corpus: low ×5, lower ×2, newest ×6, widest ×3.
TOY = "low " * 5 + "lower " * 2 + "newest " * 6 + "widest " * 3


def test_merges_of_the_hand_worked_example():
    """By hand: alphabet ' ' d e i l n o r s t w (ids 0..10). Pair counts: e-s 9 (newest 6 +
    widest 3), s-t 9, w-e 8, l-o 7, o-w 7, ... The tie e-s / s-t goes to the smaller pair
    (2, 8) < (8, 9): merge 1 is "es"; then es-t 9: "est"; then l-o and o-w tie at 7, (4, 6)
    < (6, 10): "lo"; then lo-w 7: "low"."""
    tok = BPETokenizer.train(TOY, 15)
    assert tok.vocab[:11] == [" ", "d", "e", "i", "l", "n", "o", "r", "s", "t", "w"]
    assert tok.vocab[11:] == ["es", "est", "lo", "low"]
    assert tok.merges == [(2, 8), (11, 9), (4, 6), (13, 10)]
    assert tok.decode(tok.encode("lowest")) == "lowest"
    assert [tok.vocab[i] for i in tok.encode("lowest")] == ["low", "est"]  # an unseen word
    # a wrong variant, breaking ties by the larger pair, would merge "st" first
    assert tok.vocab[11] != "st"


def test_training_stops_when_nothing_is_left_to_merge():
    tok = BPETokenizer.train("ab ab", 100)
    assert tok.vocab == [" ", "a", "b", "ab"]


def test_round_trip_on_the_chapter_text():
    text = load_pydoc_topics(max_chars=30_000)
    tok = BPETokenizer.train(text, tok_size := 300)
    assert tok.vocab_size == tok_size
    held = load_pydoc_topics()[100_000:110_000]
    held = "".join(c for c in held if c in tok.index)
    ids = tok.encode(held)
    assert ids.dtype == torch.long and tok.decode(ids) == held
    assert len(ids) < 0.7 * len(held)  # sub-words compress the text
    assert len(set(tok.vocab)) == tok.vocab_size  # no token learned twice


def test_same_merges_and_ids_as_huggingface_tokenizers():
    tokenizers = pytest.importorskip("tokenizers")
    text = load_pydoc_topics(max_chars=40_000, ascii_only=True)
    mine = BPETokenizer.train(text, 350)
    hf = tokenizers.Tokenizer(tokenizers.models.BPE())
    hf.pre_tokenizer = tokenizers.pre_tokenizers.Split(
        tokenizers.Regex(PIECE_PATTERN), behavior="isolated"
    )
    hf.train_from_iterator(
        [text], tokenizers.trainers.BpeTrainer(vocab_size=350, show_progress=False)
    )
    model = json.loads(hf.to_str())["model"]
    theirs = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
    ours = [(mine.vocab[a], mine.vocab[b]) for a, b in mine.merges]
    assert ours == theirs
    assert model["vocab"] == {s: i for i, s in enumerate(mine.vocab)}
    held = load_pydoc_topics(ascii_only=True)[150_000:156_000]
    held = "".join(c for c in held if c in mine.index)
    assert mine.encode(held).tolist() == hf.encode(held).ids


def test_clear_errors():
    tok = BPETokenizer.train(TOY, 13)
    with pytest.raises(ValueError, match="alphabet"):
        tok.encode("lowz")
    with pytest.raises(ValueError, match="vocab_size must be >= 11"):
        BPETokenizer.train(TOY, 5)
    with pytest.raises(ValueError, match="decode each row"):
        tok.decode(torch.zeros(2, 3, dtype=torch.long))
