"""companion.dedup (Chapter 14b): exact Jaccard against SciPy, MinHash estimates against the
exact similarity and against datasketch's independent MinHash, LSH recall against brute force
on CPython's help topics (real text)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy.spatial.distance import jaccard as scipy_jaccard_distance

from companion.data.text import load_pydoc_topics
from companion.dedup import (
    MinHasher,
    brute_force_pairs,
    estimated_jaccard,
    exact_duplicates,
    jaccard,
    lsh_candidate_pairs,
    lsh_probability,
    near_duplicate_pairs,
    normalise,
    shingles,
)


def paragraphs(min_words=30):
    text = load_pydoc_topics()
    return [p.strip() for p in text.split("\n\n") if len(p.split()) >= min_words]


def test_normalise_and_exact_duplicates():
    assert normalise("  Hello\n  World ") == "hello world"
    docs = ["A  b c", "x", "a b\nC", "y", "x "]
    assert exact_duplicates(docs) == [[0, 2], [1, 4]]


def test_shingles_hand_checked():
    s = shingles("the cat sat on the mat", k=2)
    assert len(s) == 5  # the cat, cat sat, sat on, on the, the mat
    assert shingles("The  CAT sat", k=2) == shingles("the cat sat", k=2)
    assert len(shingles("abcd", k=2, unit="char")) == 3
    assert len(shingles("one two", k=5)) == 1 and shingles("", k=3) == set()
    # shingle hashes are stable across processes (CRC-32, not Python's salted hash)
    import zlib

    assert shingles("a b", k=2) == {zlib.crc32(b"a b")}


def test_jaccard_matches_scipy():
    rng = np.random.default_rng(0)
    for _ in range(20):
        a, b = rng.random(50) < 0.4, rng.random(50) < 0.5
        ours = jaccard(set(np.flatnonzero(a)), set(np.flatnonzero(b)))
        assert math.isclose(ours, 1 - scipy_jaccard_distance(a, b))
    assert jaccard(set(), set()) == 1.0 and jaccard({1}, set()) == 0.0


def pairs_with_range_of_similarity():
    """Pairs of sets with Jaccard from 0.05 to 0.95 (overlapping ranges of integers)."""
    out = []
    for overlap in range(5, 100, 10):
        a = set(range(0, 100))
        b = set(range(100 - overlap, 200 - overlap))
        out.append((a, b, jaccard(a, b)))
    return out


def test_minhash_estimates_are_unbiased_and_within_standard_error():
    num_perm = 256
    errors, wrong_errors = [], []
    for seed in range(5):
        h = MinHasher(num_perm, seed)
        for a, b, j in pairs_with_range_of_similarity():
            sa, sb = h.signature(a), h.signature(b)
            est = estimated_jaccard(sa, sb)
            assert abs(est - j) < 4 * math.sqrt(j * (1 - j) / num_perm) + 1e-9, (est, j)
            errors.append(est - j)
            # wrong variant: the Jaccard of the two signatures taken as sets
            wrong_errors.append(jaccard(set(sa.tolist()), set(sb.tolist())) - j)
    assert abs(np.mean(errors)) < 0.01
    assert np.mean(wrong_errors) < -0.05  # biased low: the variant fails the same check


def test_a_hash_that_never_wraps_fails():
    """Wrong variant: h(x) = a·x + b with a·x + b < p is increasing in x, so every hash
    function picks the same minimum and the estimate is 0 or 1 whatever J is."""
    rng = np.random.default_rng(0)
    a = rng.integers(1, 1 << 20, 256, dtype=np.uint64)
    b = rng.integers(0, 1 << 20, 256, dtype=np.uint64)
    for x_a, x_b, _ in pairs_with_range_of_similarity():
        sig = [(np.array(sorted(s), dtype=np.uint64)[:, None] * a + b).min(0) for s in (x_a, x_b)]
        assert np.mean(sig[0] == sig[1]) in (0.0, 1.0)  # never near j (0.05 ... 0.9)


def test_identical_sets_have_identical_signatures():
    h = MinHasher(64, 1)
    s = shingles("a b c d e f g h", k=2)
    assert np.array_equal(h.signature(s), h.signature(set(s)))
    assert estimated_jaccard(h.signature(s), h.signature(s)) == 1.0


def test_agrees_with_datasketch():
    datasketch = pytest.importorskip("datasketch")
    docs = paragraphs()[:60]
    sets = [shingles(d, 5) for d in docs]
    ours = MinHasher(256, 0).signatures(sets)
    theirs = []
    for d in docs:
        m = datasketch.MinHash(num_perm=256, seed=1)
        words = re.findall(r"\w+", normalise(d))  # the same 5-word shingles, hashed its way
        for i in range(len(words) - 4):
            m.update(" ".join(words[i : i + 5]).encode())
        theirs.append(m)
    diffs = []
    for i in range(0, 60, 3):
        for j in range(i + 1, min(i + 8, 60)):
            exact = jaccard(sets[i], sets[j])
            a = estimated_jaccard(ours[i], ours[j])
            b = theirs[i].jaccard(theirs[j])
            diffs.append(a - b)
            tol = 4 * math.sqrt(2 * max(exact * (1 - exact), 1 / 256) / 256)
            assert abs(a - b) < tol + 0.02, (a, b, exact)
    assert abs(np.mean(diffs)) < 0.02


def test_lsh_probability_formula():
    assert lsh_probability(1.0, 20, 5) == 1.0 and lsh_probability(0.0, 20, 5) == 0.0
    assert math.isclose(lsh_probability(0.5, 2, 2), 1 - 0.75**2)
    # the S-curve: steep around (1/b)^(1/r)
    b, r = 32, 4
    mid = (1 / b) ** (1 / r)
    assert lsh_probability(mid - 0.2, b, r) < 0.4 < 0.6 < lsh_probability(mid + 0.2, b, r)


def test_lsh_candidates_are_exactly_banded_matches():
    sig = np.array([[1, 2, 3, 4], [1, 2, 9, 9], [7, 7, 3, 4], [0, 0, 0, 0]], dtype=np.uint64)
    assert lsh_candidate_pairs(sig, bands=2, rows=2) == {(0, 1), (0, 2)}
    assert lsh_candidate_pairs(sig, bands=1, rows=4) == set()
    assert lsh_candidate_pairs(sig, bands=4, rows=1) == {(0, 1), (0, 2)}


def test_lsh_recall_on_real_text_against_brute_force():
    docs = paragraphs()
    sets = [shingles(d, 5) for d in docs]
    truth = brute_force_pairs(sets, 0.5)
    found = near_duplicate_pairs(sets, 0.5, num_perm=128, bands=32, rows=4, seed=0)
    assert set(found["pairs"]) <= set(truth)  # verified: no false positive survives
    recall = len(found["pairs"]) / len(truth)
    expected = min(lsh_probability(s, 32, 4) for s in truth.values())
    assert recall >= min(0.95, expected), (recall, expected)
    n = len(docs)
    assert found["candidates"] < 0.01 * n * (n - 1) / 2  # far fewer comparisons
    for (i, j), s in found["pairs"].items():
        assert s == truth[(i, j)]
