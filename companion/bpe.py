"""Byte-pair encoding (BPE), a sub-word tokenizer written out (Chapter 7, "Sub-word tokens").

Characters make long sequences; whole words make a huge vocabulary that still misses rare
words. BPE (Sennrich et al. 2016, after Gage 1994) starts from the characters and repeatedly
*merges the most frequent adjacent pair* of tokens into a new token, until the vocabulary has
the requested size. Frequent words end up as one token, rare ones as a few pieces, and any
text in the alphabet can still be encoded.

Training (:meth:`BPETokenizer.train`):

1. Cut the text into pieces with :data:`PIECE_PATTERN` (runs of word characters, runs of
   punctuation, runs of white space); merges never cross a piece boundary, and the pieces
   concatenate back to the text, so decoding is exact.
2. Start with one token per distinct character (sorted by code point, ids 0..A-1).
3. Count every adjacent pair of tokens inside the pieces, weighted by how often the piece
   occurs. Merge the most frequent pair everywhere (ties: the pair with the smallest
   (left id, right id)); the new token gets the next id. Repeat.

Encoding (:meth:`BPETokenizer.encode`) applies the learned merges to each piece in the order
they were learned (lowest rank first, leftmost first). The tie rule and the piece pattern are
those of Hugging Face ``tokenizers``' ``BpeTrainer`` with a ``Split(..., "isolated")``
pre-tokenizer, so the two learn the same merges (tested when ``tokenizers`` is installed).

Inputs are validated with :mod:`companion.validation`; :meth:`decode` converts a list or
NumPy array of ids (documented), everything else expects the types named.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import torch

from companion.data.text import check_text_in_alphabet, ids_as_list
from companion.validation import check_int, describe

__all__ = ["PIECE_PATTERN", "BPETokenizer"]

PIECE_PATTERN = r"\w+|[^\w\s]+|\s+"


def _pieces(text: str) -> list[str]:
    return re.findall(PIECE_PATTERN, text)


def _pairs(word: list[int]):
    """The adjacent pairs of a token list."""
    return zip(word[:-1], word[1:], strict=True)


def _merge_word(word: list[int], a: int, b: int, new: int) -> list[int]:
    """Replace each non-overlapping (a, b) in ``word``, left to right, by ``new``."""
    out, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and word[i] == a and word[i + 1] == b:
            out.append(new)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return out


class BPETokenizer:
    """A trained BPE vocabulary: ``vocab[i]`` is the string of token i; ``merges[r]`` is the
    pair of ids merged at rank r (the token ``A + r``, A = size of the alphabet)."""

    def __init__(self, alphabet: list[str], merges: list[tuple[int, int]]):
        if not isinstance(alphabet, list) or not all(
            isinstance(c, str) and len(c) == 1 for c in alphabet
        ):
            raise TypeError(
                f"alphabet must be a list of single characters, got {describe(alphabet)}"
            )
        if len(set(alphabet)) != len(alphabet) or not alphabet:
            raise ValueError("alphabet must hold distinct characters, at least one")
        self.vocab = list(alphabet)
        self.index = {c: i for i, c in enumerate(alphabet)}
        self.merges: list[tuple[int, int]] = []
        self.ranks: dict[tuple[int, int], int] = {}
        for a, b in merges:
            if not (0 <= a < len(self.vocab) and 0 <= b < len(self.vocab)):
                raise ValueError(f"merges: pair ({a}, {b}) refers to a token not yet defined")
            self.ranks[(a, b)] = len(self.merges)
            self.merges.append((a, b))
            self.vocab.append(self.vocab[a] + self.vocab[b])

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def __len__(self) -> int:
        return len(self.vocab)

    @classmethod
    def train(cls, text: str, vocab_size: int) -> BPETokenizer:
        """Learn merges on ``text`` until the vocabulary has ``vocab_size`` tokens (or no pair
        is left to merge). ``vocab_size`` counts the alphabet too."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {describe(text)}")
        if not text:
            raise ValueError("text must be a non-empty string")
        alphabet = sorted(set(text))
        vocab_size = check_int(vocab_size, "vocab_size", min=len(alphabet))
        index = {c: i for i, c in enumerate(alphabet)}
        counts = Counter(_pieces(text))
        words = [[index[c] for c in piece] for piece in counts]  # distinct pieces as ids
        freqs = list(counts.values())
        pair_counts: Counter[tuple[int, int]] = Counter()
        where: defaultdict[tuple[int, int], set[int]] = defaultdict(set)  # pair -> words
        for wi, (w, f) in enumerate(zip(words, freqs, strict=True)):
            for p in _pairs(w):
                pair_counts[p] += f
                where[p].add(wi)
        merges: list[tuple[int, int]] = []
        n_tokens = len(alphabet)
        while n_tokens < vocab_size and pair_counts:
            # most frequent pair; ties go to the smallest (left id, right id)
            (a, b), count = max(pair_counts.items(), key=lambda kv: (kv[1], -kv[0][0], -kv[0][1]))
            if count < 1:
                break
            new = n_tokens
            for wi in where.pop((a, b)):
                w, f = words[wi], freqs[wi]
                merged = _merge_word(w, a, b, new)
                if len(merged) == len(w):  # stale entry: the pair left this word earlier
                    continue
                for p in _pairs(w):
                    pair_counts[p] -= f
                for p in _pairs(merged):
                    pair_counts[p] += f
                    where[p].add(wi)
                words[wi] = merged
            for p in [p for p, c in pair_counts.items() if c <= 0]:
                del pair_counts[p]
            merges.append((a, b))
            n_tokens += 1
        return cls(alphabet, merges)

    def _encode_piece(self, piece: str) -> list[int]:
        word = [self.index[c] for c in piece]
        while len(word) > 1:
            ranked = [(self.ranks.get(p, len(self.ranks)), p) for p in _pairs(word)]
            rank, (a, b) = min(ranked)
            if rank == len(self.ranks):  # no learned merge applies
                break
            word = _merge_word(word, a, b, len(self.index) + rank)
        return word

    def encode(self, text: str) -> torch.Tensor:
        """str -> (n,) int64 token ids."""
        check_text_in_alphabet(text, self.index)
        ids: list[int] = []
        cache: dict[str, list[int]] = {}
        for piece in _pieces(text):
            if piece not in cache:
                cache[piece] = self._encode_piece(piece)
            ids.extend(cache[piece])
        return torch.tensor(ids, dtype=torch.long)

    def decode(self, ids) -> str:
        """(n,) token ids (a tensor, or a list/tuple/NumPy array, converted) -> str.

        One sequence only: decode a (B, T) batch row by row.
        """
        return "".join(self.vocab[i] for i in ids_as_list(ids, self.vocab_size))
