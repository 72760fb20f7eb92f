"""Finding duplicate and near-duplicate documents: shingles, MinHash and LSH (Chapter 14b, §14b.4).

Training corpora scraped from the web repeat themselves; duplicates waste compute, are
memorised, and leak test data into training (Lee et al. 2022). The standard tools:

* :func:`normalise` and :func:`exact_duplicates`: identical texts after normalisation share a
  cryptographic digest (SHA-1), found in one pass;
* :func:`shingles`: a document as the set of its k-word (or k-character) *shingles*, each
  hashed to 32 bits with CRC-32 (stable across runs, unlike Python's salted ``hash``);
* :func:`jaccard`: :math:`J(A, B) = |A \\cap B| / |A \\cup B|` (eq. ch14b-jaccard), exact;
* :class:`MinHasher`: ``num_perm`` hash functions :math:`h_i(x) = (a_i x + b_i) \\bmod p`
  with :math:`p = 2^{31} - 1`, random :math:`1 \\le a_i < p`, :math:`0 \\le b_i < p`,
  applied after a fixed bit mixer (MurmurHash3's finaliser) so that structured inputs
  (consecutive integers) look random; a document's signature is the minimum of each over its
  shingles, and :math:`P[\\min h_i(A) = \\min h_i(B)] = J(A, B)` (Broder 1997), so the
  fraction of equal entries estimates J with standard error
  :math:`\\sqrt{J(1-J)/\\text{num\\_perm}}` (eq. ch14b-minhash);
* :func:`lsh_candidate_pairs`: banding (Leskovec et al. 2020, ch. 3): cut each signature into
  ``bands`` bands of ``rows`` rows; two documents become candidates when one band agrees
  entirely, with probability :func:`lsh_probability` :math:`= 1 - (1 - J^r)^b`;
* :func:`near_duplicate_pairs`: candidates verified with the exact Jaccard, and
  :func:`brute_force_pairs`, the all-pairs reference.

Documents are ``str``; shingle sets are Python ``set`` of ints; signatures are NumPy
``uint64`` arrays of shape (num_perm,) or (N, num_perm). Wrong kinds are TypeErrors, wrong
values ValueErrors (:mod:`companion.validation`); nothing is converted silently.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections import defaultdict
from collections.abc import Sequence
from itertools import combinations

import numpy as np

from companion.validation import (
    check_choice,
    check_fraction,
    check_int,
    check_positive_int,
    check_real,
    describe,
)

__all__ = [
    "normalise",
    "exact_duplicates",
    "shingles",
    "jaccard",
    "MinHasher",
    "estimated_jaccard",
    "lsh_probability",
    "lsh_candidate_pairs",
    "near_duplicate_pairs",
    "brute_force_pairs",
]

MERSENNE_31 = (1 << 31) - 1  # a·x + b < 2^63 for x, a, b < p: exact in uint64
_WORD = re.compile(r"\w+")


def _check_text(text, name: str = "text") -> str:
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str, got {describe(text)}")
    return text


def _check_docs(docs, name: str = "docs") -> list[str]:
    if isinstance(docs, str) or not isinstance(docs, Sequence):
        raise TypeError(f"{name} must be a list of str (one document each), got "
                        f"{describe(docs)}")  # fmt: skip
    for i, d in enumerate(docs):
        _check_text(d, f"{name}[{i}]")
    return list(docs)


def normalise(text: str) -> str:
    """Lower case, runs of whitespace -> one space, stripped (what "the same text" means here)."""
    return " ".join(_check_text(text).lower().split())


def exact_duplicates(docs: Sequence[str]) -> list[list[int]]:
    """Groups (sorted lists of indices, at least two each) of documents equal after
    :func:`normalise`, found by their SHA-1 digests in one pass."""
    groups: dict[bytes, list[int]] = defaultdict(list)
    for i, d in enumerate(_check_docs(docs)):
        groups[hashlib.sha1(normalise(d).encode()).digest()].append(i)
    return sorted(g for g in groups.values() if len(g) > 1)


def shingles(text: str, k: int = 5, unit: str = "word") -> set[int]:
    """The set of k-shingles of ``text`` (after :func:`normalise`), each hashed with CRC-32.

    ``unit="word"``: runs of k consecutive words (\\w+); ``unit="char"``: k consecutive
    characters. A text shorter than k units is one shingle (itself), an empty text none.
    """
    text = normalise(text)
    k = check_positive_int(k, "k")
    unit = check_choice(unit, "unit", ("word", "char"))
    units = _WORD.findall(text) if unit == "word" else list(text)
    sep = " " if unit == "word" else ""
    if not units:
        return set()
    if len(units) < k:
        return {zlib.crc32(sep.join(units).encode())}
    return {zlib.crc32(sep.join(units[i : i + k]).encode()) for i in range(len(units) - k + 1)}


def _check_set(s, name: str) -> set:
    if not isinstance(s, (set, frozenset)):
        raise TypeError(f"{name} must be a set (e.g. from shingles()), got {describe(s)}")
    return s


def jaccard(a: set, b: set) -> float:
    """Exact Jaccard similarity |A ∩ B| / |A ∪ B| (eq. ch14b-jaccard); two empty sets give 1."""
    a, b = _check_set(a, "a"), _check_set(b, "b")
    union = len(a | b)
    return 1.0 if union == 0 else len(a & b) / union


def _fmix32(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser, a bijection on 32-bit ints that scrambles the bits.

    A linear hash mod p is only pairwise independent; on inputs with structure (runs of
    consecutive integers) its minimum is biased. Mixing first removes that structure.
    """
    m = np.uint64(0xFFFFFFFF)
    x = x & m
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x85EBCA6B)) & m
    x ^= x >> np.uint64(13)
    x = (x * np.uint64(0xC2B2AE35)) & m
    return x ^ (x >> np.uint64(16))


def _check_sets(sets, name: str = "sets") -> list:
    if isinstance(sets, (set, frozenset, str)) or not isinstance(sets, Sequence):
        raise TypeError(f"{name} must be a list of shingle sets, got {describe(sets)}")
    for i, s in enumerate(sets):
        _check_set(s, f"{name}[{i}]")
    return list(sets)


class MinHasher:
    """MinHash signatures with ``num_perm`` random hash functions (eq. ch14b-minhash)."""

    def __init__(self, num_perm: int = 128, seed: int = 0):
        self.num_perm = check_positive_int(num_perm, "num_perm")
        rng = np.random.default_rng(check_int(seed, "seed", min=0))
        # a, b spread over [0, p): the reduction mod p must actually happen. With small a and
        # b (a·x + b < p), h would be increasing in x and every "permutation" would pick the
        # same minimum: the estimate collapses to 0 or 1 (tests/test_dedup.py checks this).
        self.a = rng.integers(1, MERSENNE_31, size=self.num_perm, dtype=np.uint64)
        self.b = rng.integers(0, MERSENNE_31, size=self.num_perm, dtype=np.uint64)

    def signature(self, shingle_set: set[int]) -> np.ndarray:
        """A set of 32-bit shingle hashes -> (num_perm,) uint64 minima. An empty set is refused
        (its signature would be undefined; drop empty documents first)."""
        _check_set(shingle_set, "shingle_set")
        if not shingle_set:
            raise ValueError("shingle_set is empty: an empty document has no MinHash signature")
        x = np.fromiter(shingle_set, dtype=np.uint64, count=len(shingle_set))
        if int(x.max()) >= 1 << 32:
            raise ValueError("shingle_set must hold 32-bit hashes (from shingles()), got values "
                             f">= 2**32 (max {int(x.max())})")  # fmt: skip
        x = _fmix32(x) % np.uint64(MERSENNE_31)
        return ((x[:, None] * self.a + self.b) % np.uint64(MERSENNE_31)).min(axis=0)

    def signatures(self, sets: Sequence[set[int]]) -> np.ndarray:
        """A list of N shingle sets -> (N, num_perm) uint64."""
        sets = _check_sets(sets)
        return np.stack([self.signature(s) for s in sets]) if len(sets) else np.zeros(
            (0, self.num_perm), dtype=np.uint64)  # fmt: skip


def _check_signature(sig, name: str) -> np.ndarray:
    if not isinstance(sig, np.ndarray) or sig.dtype != np.uint64:
        raise TypeError(f"{name} must be a uint64 NumPy array from MinHasher, got {describe(sig)}")
    return sig


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """Fraction of equal signature entries: an unbiased estimate of J (eq. ch14b-minhash)."""
    a, b = _check_signature(sig_a, "sig_a"), _check_signature(sig_b, "sig_b")
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"sig_a and sig_b must be 1-D of equal length, got shapes {a.shape} "
                         f"and {b.shape}")  # fmt: skip
    return float(np.mean(a == b))


def lsh_probability(similarity: float, bands: int, rows: int) -> float:
    """Probability that two documents of Jaccard ``similarity`` share at least one of
    ``bands`` bands of ``rows`` rows: :math:`1 - (1 - s^r)^b` (eq. ch14b-lsh)."""
    s = check_real(similarity, "similarity", low=0.0, high=1.0)
    b, r = check_positive_int(bands, "bands"), check_positive_int(rows, "rows")
    return 1.0 - (1.0 - s**r) ** b


def lsh_candidate_pairs(signatures: np.ndarray, bands: int, rows: int) -> set[tuple[int, int]]:
    """Pairs (i < j) whose signatures agree on all ``rows`` entries of at least one band.

    ``signatures``: (N, num_perm) with num_perm >= bands·rows (extra columns are unused).
    """
    sig = _check_signature(signatures, "signatures")
    b, r = check_positive_int(bands, "bands"), check_positive_int(rows, "rows")
    if sig.ndim != 2:
        raise ValueError(f"signatures must be 2-D (N, num_perm), got shape {sig.shape}")
    if b * r > sig.shape[1]:
        raise ValueError(f"bands·rows = {b * r} exceeds the signature length {sig.shape[1]}")
    pairs: set[tuple[int, int]] = set()
    for band in range(b):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        for i, row in enumerate(sig[:, band * r : (band + 1) * r]):
            buckets[row.tobytes()].append(i)
        for members in buckets.values():
            pairs.update(combinations(members, 2))
    return pairs


def near_duplicate_pairs(sets: Sequence[set[int]], threshold: float, num_perm: int = 128,
                         bands: int = 32, rows: int = 4, seed: int = 0) -> dict:  # fmt: skip
    """Pairs with exact Jaccard >= ``threshold``, found by MinHash-LSH then verified exactly.

    Returns ``{"pairs": {(i, j): J}, "candidates": number of pairs verified}``. A true pair is
    missed with probability 1 - :func:`lsh_probability`; nothing below the threshold is kept.
    """
    threshold = check_fraction(threshold, "threshold", include_one=True)
    sets = _check_sets(sets)
    hasher = MinHasher(num_perm, seed)
    sig = hasher.signatures(sets)
    cands = lsh_candidate_pairs(sig, bands, rows)
    pairs = {}
    for i, j in sorted(cands):
        s = jaccard(sets[i], sets[j])
        if s >= threshold:
            pairs[(i, j)] = s
    return {"pairs": pairs, "candidates": len(cands)}


def brute_force_pairs(sets: Sequence[set[int]], threshold: float) -> dict[tuple[int, int], float]:
    """Every pair (i < j) with exact Jaccard >= ``threshold``: N(N-1)/2 comparisons."""
    threshold = check_fraction(threshold, "threshold", include_one=True)
    sets = _check_sets(sets)
    out = {}
    for i, j in combinations(range(len(sets)), 2):
        s = jaccard(sets[i], sets[j])
        if s >= threshold:
            out[(i, j)] = s
    return out
