"""English prose that ships with CPython, as characters (Chapters 6 and 7, language models).

:func:`load_pydoc_topics` returns the text of ``pydoc_data.topics`` (the help pages of the
Python language reference, PSF licence); its exact content depends on the Python version.
:class:`CharTokenizer` maps each distinct character to a token id, and
:func:`language_model_windows` cuts a token sequence into (input, next-token target) pairs.
A sub-word tokenizer (byte-pair encoding) is :mod:`companion.bpe` (Chapter 7).

Inputs are validated with :mod:`companion.validation`. :meth:`CharTokenizer.decode` converts
a list, tuple or NumPy array of ids (documented); everything else expects tensors.
"""

from __future__ import annotations

import torch

from companion.validation import check_positive_int, check_tensor, describe


def load_pydoc_topics(max_chars: int | None = None, ascii_only: bool = False) -> str:
    """The help topics of CPython's ``pydoc_data`` joined in sorted order (~0.5 M chars).

    ``ascii_only`` drops the rare non-ASCII characters so the vocabulary stays small;
    ``max_chars`` keeps only the first characters (the same ones on every machine with the
    same Python version).
    """
    from pydoc_data import topics

    text = "\n\n".join(topics.topics[name] for name in sorted(topics.topics))
    if not isinstance(ascii_only, bool):
        raise TypeError(f"ascii_only must be True or False, got {describe(ascii_only)}")
    if ascii_only:
        text = text.encode("ascii", "ignore").decode("ascii")
    if max_chars is not None:
        text = text[: check_positive_int(max_chars, "max_chars")]
    return text


class CharTokenizer:
    """Character-level tokenizer: token (词元) ids 0..V-1 for the sorted distinct characters."""

    def __init__(self, text: str):
        if not isinstance(text, str):
            raise TypeError(f"text must be a str (the training text), got {describe(text)}")
        if not text:
            raise ValueError("text must be a non-empty string to learn the alphabet from")
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> torch.Tensor:
        """str of length n -> (n,) int64 token ids (a model needs ``[None]``: (1, n))."""
        check_text_in_alphabet(text, self.index)
        return torch.tensor([self.index[c] for c in text], dtype=torch.long)

    def decode(self, ids) -> str:
        """(n,) token ids (a tensor, or a list/tuple/NumPy array, converted) -> str.

        One sequence only: a (B, T) batch is refused with a ValueError (decode each row,
        ``[tok.decode(row) for row in ids]``), because joining the rows would glue unrelated
        texts together.
        """
        return "".join(self.chars[i] for i in ids_as_list(ids, self.vocab_size))


def check_text_in_alphabet(text, index) -> str:
    """``text`` must be a str whose characters are all keys of ``index`` (for ``encode``)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {describe(text)}")
    unknown = sorted(set(text) - index.keys())
    if unknown:
        raise ValueError(f"text has characters not in the tokenizer's alphabet: {unknown[:10]}")
    return text


def ids_as_list(ids, vocab_size: int) -> list[int]:
    """One sequence of token ids -> a list of ints in [0, vocab_size), for ``decode``.

    A tensor must hold integers; a list, tuple or NumPy array is converted. A (B, T) batch is
    refused with a ValueError that says to decode each row.
    """
    if isinstance(ids, (list, tuple)) or (hasattr(ids, "__array__") and not torch.is_tensor(ids)):
        ids = torch.as_tensor(ids, dtype=torch.long) if len(ids) == 0 else torch.as_tensor(ids)
    check_tensor(ids, "ids", dtype="int")
    if ids.ndim != 1:
        raise ValueError(
            f"ids must be one sequence of shape (n,), got shape {tuple(ids.shape)}; for a "
            "batch decode each row: [tokenizer.decode(row) for row in ids]"
        )
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
        raise ValueError(f"ids must lie in [0, {vocab_size - 1}], got values in "
                         f"[{int(ids.min())}, {int(ids.max())}]")  # fmt: skip
    return ids.tolist()


def language_model_windows(tokens: torch.Tensor, block_size: int, stride: int | None = None):
    """Cut (n,) tokens into windows: X (N, block_size) and targets Y = X shifted by one.

    Window j starts at j·stride (default: block_size, i.e. non-overlapping).
    """
    check_tensor(tokens, "tokens", dtype="int", ndim=1)
    block_size = check_positive_int(block_size, "block_size")
    stride = block_size if stride is None else check_positive_int(stride, "stride")
    if len(tokens) < block_size + 1:
        raise ValueError(
            f"tokens must hold at least block_size + 1 = {block_size + 1} ids, got {len(tokens)}"
        )
    starts = torch.arange(0, len(tokens) - block_size, stride)
    offsets = torch.arange(block_size)
    X = tokens[starts[:, None] + offsets]  # (N, block_size)
    Y = tokens[starts[:, None] + offsets + 1]
    return X, Y
