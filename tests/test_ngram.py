"""The n-gram baselines equal the maximum-likelihood/Laplace formulas computed by hand."""

import math
from collections import Counter

import pytest
import torch

from companion.ngram import NGramLM, best_alpha, perplexity

TEXT = torch.tensor([0, 1, 2, 0, 1, 1, 2, 0, 2, 2, 1, 0])
V = 3


def _bigram_by_hand(tokens, held_out, alpha):
    """An independent count with Python's Counter (no tensors)."""
    pairs = Counter(zip(tokens[:-1], tokens[1:], strict=True))
    firsts = Counter(tokens[:-1])
    nll = [
        -math.log((pairs[(a, b)] + alpha) / (firsts[a] + alpha * V))
        for a, b in zip(held_out[:-1], held_out[1:], strict=True)
    ]
    return sum(nll) / len(nll)


@pytest.mark.parametrize("alpha", [0.01, 0.5, 1.0])
def test_bigram_loss_equals_the_count_formula(alpha):
    held_out = [2, 1, 1, 0, 2, 0]
    lm = NGramLM(2, V, alpha).fit(TEXT)
    assert lm.loss(torch.tensor(held_out)) == pytest.approx(
        _bigram_by_hand(TEXT.tolist(), held_out, alpha), rel=1e-12
    )
    # a model that forgets the previous token (a unigram) is not the same model
    uni = NGramLM(1, V, alpha).fit(TEXT)
    assert uni.loss(torch.tensor(held_out)) != pytest.approx(lm.loss(torch.tensor(held_out)))


def test_unigram_loss_is_the_cross_entropy_of_frequencies():
    counts = Counter(TEXT.tolist())
    held_out = [0, 2, 2, 1]
    probs = {k: (counts[k] + 1) / (len(TEXT) + V) for k in range(V)}
    expected = -sum(math.log(probs[b]) for b in held_out[1:]) / 3
    assert NGramLM(1, V).fit(TEXT).loss(torch.tensor(held_out)) == pytest.approx(expected)


def test_rows_are_distributions_and_perplexity_is_exp():
    lm = NGramLM(2, V, 0.1).fit(TEXT)
    torch.testing.assert_close(lm.log_probs.exp().sum(-1), torch.ones(V, dtype=torch.float64))
    assert perplexity(math.log(V)) == pytest.approx(V)


def test_best_alpha_picks_the_lowest_validation_loss():
    alpha, model = best_alpha(2, V, TEXT, torch.tensor([0, 1, 2, 0, 1, 2]), alphas=(0.01, 10.0))
    assert alpha == 0.01 and model.alpha == 0.01


@pytest.mark.parametrize(
    "make",
    [
        lambda: NGramLM(3, V),
        lambda: NGramLM(2, V, alpha=0.0),
        lambda: NGramLM(2, V, alpha=float("nan")),
        lambda: NGramLM(2, V).fit(TEXT.float()),
        lambda: NGramLM(2, V).fit(torch.tensor([0, 5])),
        lambda: NGramLM(2, V).fit(TEXT).loss(torch.tensor([1])),
        lambda: perplexity(-1.0),
    ],
)
def test_bad_arguments_raise_clear_errors(make):
    with pytest.raises((TypeError, ValueError)):
        make()
