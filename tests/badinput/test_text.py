"""Bad input to companion.data.text (CharTokenizer, windows) and companion.bpe."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion.bpe import BPETokenizer
from companion.data.text import CharTokenizer, language_model_windows, load_pydoc_topics
from tests.badinput.harness import expect_clear_error

TOK = CharTokenizer("hello world")
BPE = BPETokenizer.train("low lower lowest newest widest", 20)

CASES = [
    (lambda: CharTokenizer(""), "text", ValueError),
    (lambda: CharTokenizer(["a", "b"]), "text", TypeError),
    (lambda: CharTokenizer(b"bytes"), "text", TypeError),
    (lambda: TOK.encode("hellz"), "text", ValueError),
    (lambda: TOK.encode(["h", "e"]), "text", TypeError),
    (lambda: TOK.decode(torch.zeros(2, 3, dtype=torch.long)), "ids", ValueError),
    (lambda: TOK.decode(torch.tensor([0.0, 1.0])), "ids", TypeError),
    (lambda: TOK.decode([0, 99]), "ids", ValueError),
    (lambda: TOK.decode([-1]), "ids", ValueError),
    (lambda: TOK.decode("hello"), "ids", TypeError),
    (lambda: language_model_windows(torch.arange(20).view(4, 5), 3), "tokens", ValueError),
    (lambda: language_model_windows(torch.arange(20.0), 3), "tokens", TypeError),
    (lambda: language_model_windows(np.arange(20), 3), "tokens", TypeError),
    (lambda: language_model_windows(torch.arange(20), 0), "block_size", ValueError),
    (lambda: language_model_windows(torch.arange(20), 3, stride=0), "stride", ValueError),
    (lambda: language_model_windows(torch.arange(3), 3), "tokens", ValueError),
    (lambda: load_pydoc_topics(max_chars=0), "max_chars", ValueError),
    (lambda: load_pydoc_topics(max_chars=10.5), "max_chars", TypeError),
    (lambda: load_pydoc_topics(ascii_only="yes"), "ascii_only", TypeError),
    (lambda: BPETokenizer.train("", 10), "text", ValueError),
    (lambda: BPETokenizer.train(123, 10), "text", TypeError),
    (lambda: BPETokenizer.train("abc abc", 2), "vocab_size", ValueError),
    (lambda: BPETokenizer.train("abc abc", 10.0), "vocab_size", TypeError),
    (lambda: BPE.encode("lowq"), "text", ValueError),
    (lambda: BPE.decode(torch.zeros(2, 2, dtype=torch.long)), "ids", ValueError),
    (lambda: BPE.decode([0, 999]), "ids", ValueError),
    (lambda: BPE.decode(torch.tensor([1.0])), "ids", TypeError),
    (lambda: BPETokenizer(["ab"], []), "alphabet", TypeError),
    (lambda: BPETokenizer(["a", "b"], [(0, 5)]), "merges", ValueError),
]


@pytest.mark.parametrize("call,name,kind", CASES)
def test_clear_error(call, name, kind):
    expect_clear_error(call, name, kind=kind)


def test_decode_converts_lists_and_arrays_on_purpose():
    ids = TOK.encode("hello")
    for form in (ids.tolist(), tuple(ids.tolist()), ids.numpy(), np.asarray(ids, dtype=np.int32)):
        assert TOK.decode(form) == "hello"
        assert BPE.decode(BPE.encode("lowest").numpy()) == "lowest"
    assert TOK.decode([]) == ""
