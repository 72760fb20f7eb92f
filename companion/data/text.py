"""English prose that ships with CPython, as characters (Chapters 6 and 7, language models).

:func:`load_pydoc_topics` returns the text of ``pydoc_data.topics`` (the help pages of the
Python language reference, PSF licence); its exact content depends on the Python version.
:class:`CharTokenizer` maps each distinct character to a token id, and
:func:`language_model_windows` cuts a token sequence into (input, next-token target) pairs.
"""

from __future__ import annotations

import torch


def load_pydoc_topics(max_chars: int | None = None, ascii_only: bool = False) -> str:
    """The help topics of CPython's ``pydoc_data`` joined in sorted order (~0.5 M chars).

    ``ascii_only`` drops the rare non-ASCII characters so the vocabulary stays small;
    ``max_chars`` keeps only the first characters (the same ones on every machine with the
    same Python version).
    """
    from pydoc_data import topics

    text = "\n\n".join(topics.topics[name] for name in sorted(topics.topics))
    if ascii_only:
        text = text.encode("ascii", "ignore").decode("ascii")
    if max_chars is not None:
        if max_chars < 1:
            raise ValueError(f"max_chars must be >= 1, got {max_chars}")
        text = text[:max_chars]
    return text


class CharTokenizer:
    """Character-level tokenizer: token (词元) ids 0..V-1 for the sorted distinct characters."""

    def __init__(self, text: str):
        if not isinstance(text, str) or not text:
            raise ValueError("CharTokenizer needs a non-empty string to learn its alphabet")
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> torch.Tensor:
        """str of length n -> (n,) int64 token ids."""
        unknown = sorted(set(text) - self.index.keys())
        if unknown:
            raise ValueError(f"characters not in the tokenizer's alphabet: {unknown[:10]}")
        return torch.tensor([self.index[c] for c in text], dtype=torch.long)

    def decode(self, ids) -> str:
        """(n,) token ids -> str."""
        ids = torch.as_tensor(ids).tolist()
        if any(not 0 <= i < self.vocab_size for i in ids):
            raise ValueError(f"token ids must lie in [0, {self.vocab_size})")
        return "".join(self.chars[i] for i in ids)


def language_model_windows(tokens: torch.Tensor, block_size: int, stride: int | None = None):
    """Cut (n,) tokens into windows: X (N, block_size) and targets Y = X shifted by one.

    Window j starts at j·stride (default: block_size, i.e. non-overlapping).
    """
    if tokens.ndim != 1:
        raise ValueError(f"tokens must be a 1-D tensor (n,), got {tuple(tokens.shape)}")
    stride = block_size if stride is None else stride
    if block_size < 1 or stride < 1 or len(tokens) < block_size + 1:
        raise ValueError(
            f"need block_size, stride >= 1 and at least block_size + 1 = "
            f"{block_size + 1} tokens, got {block_size}, {stride}, {len(tokens)}"
        )
    starts = torch.arange(0, len(tokens) - block_size, stride)
    offsets = torch.arange(block_size)
    X = tokens[starts[:, None] + offsets]  # (N, block_size)
    Y = tokens[starts[:, None] + offsets + 1]
    return X, Y
