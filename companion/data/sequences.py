"""Offline sequences for Chapter 6: a monthly CO2 series and English text from CPython.

* :func:`load_co2_monthly` — atmospheric CO2 at Mauna Loa (ppm), weekly flask samples
  1958–2001 shipped with statsmodels (``statsmodels.datasets.co2``, public domain; Keeling
  and Whorf, Scripps Institution of Oceanography), averaged to months.
* :func:`load_sunspots` — yearly sunspot numbers 1700–2008 (``statsmodels.datasets.sunspots``,
  public domain).
* :func:`load_pydoc_text` — the English help topics that ship with CPython
  (``pydoc_data.topics``, Python Software Foundation Licence), for character-level models.
* :class:`CharVocab` and :func:`char_windows` turn text into ``(X, Y)`` next-character pairs.

Nothing here downloads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch


@dataclass(frozen=True)
class Series:
    """A univariate time series: ``values`` float64 ``(n,)``, ``index`` its dates/years."""

    values: np.ndarray
    index: pd.Index
    name: str
    unit: str
    season: int  # the seasonal period in steps (12 for monthly data, 11 for sunspot years)
    description: str

    def __len__(self) -> int:
        return len(self.values)


def load_co2_monthly() -> Series:
    """Monthly mean CO2 (ppm), March 1958 – December 2001, 526 months.

    The weekly samples are averaged per calendar month; the few months with no sample are
    filled by linear interpolation in time (so the series has no gaps).
    """
    from statsmodels.datasets import co2

    weekly = co2.load_pandas().data["co2"]
    monthly = weekly.resample("MS").mean().interpolate(method="time")
    return Series(
        values=monthly.to_numpy(dtype=np.float64),
        index=monthly.index,
        name="CO2 at Mauna Loa",
        unit="ppm",
        season=12,
        description="statsmodels co2 (Scripps/CDIAC flask samples, public domain), monthly means",
    )


def load_sunspots() -> Series:
    """Yearly mean sunspot numbers, 1700–2008 (309 years)."""
    from statsmodels.datasets import sunspots

    df = sunspots.load_pandas().data
    return Series(
        values=df["SUNACTIVITY"].to_numpy(dtype=np.float64),
        index=pd.Index(df["YEAR"].astype(int), name="year"),
        name="sunspot number",
        unit="count",
        season=11,
        description="statsmodels sunspots (public domain), yearly",
    )


def load_pydoc_text(max_chars: int | None = None, ascii_only: bool = True) -> str:
    """CPython's help topics (``pydoc_data.topics.topics``) joined in sorted-key order.

    ``ascii_only`` drops the rare non-ASCII characters so the vocabulary stays small;
    ``max_chars`` keeps only the first characters (the same ones on every machine with the
    same Python version).
    """
    from pydoc_data import topics

    text = "\n\n".join(topics.topics[k] for k in sorted(topics.topics))
    if ascii_only:
        text = text.encode("ascii", "ignore").decode("ascii")
    if max_chars is not None:
        if max_chars < 1:
            raise ValueError(f"max_chars must be positive, got {max_chars}")
        text = text[:max_chars]
    return text


class CharVocab:
    """A character vocabulary: ``encode`` str -> int64 tensor ``(n,)``, ``decode`` back."""

    def __init__(self, text: str):
        if not isinstance(text, str) or not text:
            raise ValueError("CharVocab needs a non-empty string")
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> torch.Tensor:
        unknown = sorted(set(text) - set(self.index))
        if unknown:
            raise ValueError(f"characters not in the vocabulary: {unknown[:10]}")
        return torch.tensor([self.index[c] for c in text], dtype=torch.int64)

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)


def char_windows(ids: torch.Tensor, seq_len: int, stride: int | None = None):
    """Cut ``ids`` (n,) into next-character pairs ``X, Y``, each ``(m, seq_len)`` int64.

    ``Y[j, t] = X[j, t + 1]`` within the text: the target is the input shifted by one.
    ``stride`` defaults to ``seq_len`` (non-overlapping windows).
    """
    if ids.ndim != 1:
        raise ValueError(f"ids should be 1-D (n,), got shape {tuple(ids.shape)}")
    stride = stride or seq_len
    if seq_len < 1 or len(ids) < seq_len + 1:
        raise ValueError(f"need 1 <= seq_len < len(ids); got seq_len={seq_len}, n={len(ids)}")
    starts = torch.arange(0, len(ids) - seq_len, stride)
    offsets = torch.arange(seq_len)
    X = ids[starts[:, None] + offsets]
    Y = ids[starts[:, None] + offsets + 1]
    return X, Y
