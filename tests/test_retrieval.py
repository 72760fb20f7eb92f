"""companion.retrieval against rank_bm25 (BM25) and scikit-learn (TF-IDF), with wrong variants."""

from __future__ import annotations

import numpy as np
import pytest

from companion.retrieval import (
    NO_ANSWER,
    OFF_TOPIC_QUESTIONS,
    PYDOC_QUESTIONS,
    Passage,
    Retriever,
    build_prompt,
    extractive_answer,
    load_pydoc_passages,
    recall_at_k,
    reciprocal_rank,
    sentences,
    split_passages,
    tokenize,
)

rank_bm25 = pytest.importorskip("rank_bm25")

SMALL = [
    "the cat sat on the mat",
    "the dog sat on the log and the dog barked",
    "cats and dogs are pets on a mat",
    "the stock market fell sharply today",
    "the the the mat mat",
]


@pytest.fixture(scope="module")
def pydoc():
    return load_pydoc_passages()


def _bm25_ref(texts, **kw):
    return rank_bm25.BM25Okapi([tokenize(t) for t in texts], **kw)


def test_tokenize_drops_question_words_keeps_keywords():
    assert tokenize("How do I break out of a for loop?") == ["break", "for", "loop"]
    assert tokenize("What is IN?", drop_stop_words=False) == ["what", "is", "in"]


@pytest.mark.parametrize("query", ["sat mat", "dog dog dog", "the cat", "market", "unknown words"])
def test_bm25_equals_rank_bm25_small(query):
    # "the" occurs in more than half the passages: rank_bm25's epsilon floor is exercised
    ours = Retriever(SMALL).scores(query)
    ref = _bm25_ref(SMALL).get_scores(tokenize(query))
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)


def test_bm25_equals_rank_bm25_on_pydoc(pydoc):
    texts = [p.text for p in pydoc]
    ours, ref = Retriever(pydoc), _bm25_ref(texts)
    for q, _ in PYDOC_QUESTIONS[:8]:
        np.testing.assert_allclose(ours.scores(q), ref.get_scores(tokenize(q)), rtol=1e-10)
    other, ref2 = Retriever(pydoc, k1=0.9, b=0.4), _bm25_ref(texts, k1=0.9, b=0.4)
    q = PYDOC_QUESTIONS[0][0]
    np.testing.assert_allclose(other.scores(q), ref2.get_scores(tokenize(q)), rtol=1e-10)


@pytest.mark.parametrize(
    "wrong",
    [dict(b=0.0), dict(k1=100.0), dict(epsilon=0.0)],
    ids=["no-length-normalisation", "almost-raw-tf", "negative-idf-floored-to-zero"],
)
def test_wrong_bm25_variants_differ_from_rank_bm25(wrong):
    query = "dog sat mat"  # "mat" is in 3 of 5 passages: its idf is negative before the floor
    ref = _bm25_ref(SMALL).get_scores(tokenize(query))
    assert not np.allclose(Retriever(SMALL, **wrong).scores(query), ref)


def test_tfidf_equals_scikit_learn():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import linear_kernel

    vec = TfidfVectorizer(tokenizer=tokenize, lowercase=False, token_pattern=None)
    D = vec.fit_transform(SMALL)
    r = Retriever(SMALL, method="tfidf")
    for q in ("dog sat on mat", "cats pets pets", "market"):
        np.testing.assert_allclose(
            r.scores(q), linear_kernel(vec.transform([q]), D).ravel(), atol=1e-12
        )
    # a wrong variant: raw counts without idf rank differently
    raw = TfidfVectorizer(tokenizer=tokenize, lowercase=False, token_pattern=None, use_idf=False)
    R = raw.fit_transform(SMALL)
    assert not np.allclose(
        r.scores("dog sat on mat"), linear_kernel(raw.transform(["dog sat on mat"]), R).ravel()
    )


def test_search_orders_by_score_then_index():
    r = Retriever(["a cat", "a dog", "cat cat", "a cat", "fish", "bird", "cow", "hen"])
    hits = r.search("cat", k=10)
    assert [i for i, _ in hits][:3] == [2, 0, 3]
    assert len(hits) == 8 and all(a[1] >= b[1] for a, b in zip(hits, hits[1:], strict=False))
    assert r.search("cat", k=1) == hits[:1]


def test_recall_at_k_hand_examples():
    retrieved = [["a", "b", "a"], ["c", "c", "d"], ["e", "f", "g"]]
    relevant = [{"a"}, {"d", "x"}, {"g"}]
    assert recall_at_k(retrieved, relevant, 1) == pytest.approx((1 + 0 + 0) / 3)
    assert recall_at_k(retrieved, relevant, 3) == pytest.approx((1 + 0.5 + 1) / 3)
    # wrong variant: counting duplicate labels would give question 1 a recall of 2 at k=3
    dup = np.mean(
        [sum(x in w for x in got[:3]) / len(w) for got, w in zip(retrieved, relevant, strict=True)]
    )
    assert dup != pytest.approx(recall_at_k(retrieved, relevant, 3))


def test_reciprocal_rank():
    assert reciprocal_rank(["x", "y", "z"], {"z"}) == pytest.approx(1 / 3)
    assert reciprocal_rank(["x"], {"z"}) == 0.0


def test_split_passages_keeps_every_paragraph_in_order():
    docs = {"b": "one two\n\nthree four five\n\n\nsix", "a": "x " * 30}
    ps = split_passages(docs, max_words=4)
    # documents in sorted order; a paragraph longer than max_words stays whole
    assert [p.topic for p in ps] == ["a", "b", "b"]
    assert [p.text for p in ps[1:]] == ["one two", "three four five\n\nsix"]
    ps = split_passages(docs, max_words=5)
    assert [p.text for p in ps[1:]] == ["one two\n\nthree four five", "six"]
    ps = split_passages(docs, max_words=3)
    assert [p.text for p in ps[1:]] == ["one two", "three four five", "six"]


def test_question_labels_are_real_topics(pydoc):
    topics = {p.topic for p in pydoc}
    for q, labels in PYDOC_QUESTIONS:
        assert labels <= topics, (q, labels - topics)


def test_bm25_beats_chance_on_the_question_set(pydoc):
    r = Retriever(pydoc)
    retrieved = [[pydoc[i].topic for i, _ in r.search(q, 10)] for q, _ in PYDOC_QUESTIONS]
    relevant = [labels for _, labels in PYDOC_QUESTIONS]
    # chance: 10 random passages of ~1000 contain a given topic's passages rarely
    assert recall_at_k(retrieved, relevant, 10) > 0.5
    assert recall_at_k(retrieved, relevant, 1) <= recall_at_k(retrieved, relevant, 10)


def test_extractive_answer_quotes_and_cites_its_passages(pydoc):
    r = Retriever(pydoc)
    q = "What does the with statement do with a context manager?"
    ans = extractive_answer(r, pydoc, q, k=3)
    assert not ans.abstained and ans.citations
    top = {i for i, _ in r.search(q, 3)}
    assert set(ans.citations) <= top
    for i in ans.citations:
        assert f"[{i}]" in ans.text
    # every quoted sentence occurs (whitespace collapsed) in the passage it cites
    for part in ans.text.split("] ")[:-1] + [ans.text.rsplit("] ", 1)[-1]]:
        if "[" not in part:
            continue
        sentence, idx = part.rsplit(" [", 1)
        assert sentence in " ".join(pydoc[int(idx.rstrip("]"))].text.split())


def test_extractive_answer_abstains_when_nothing_matches(pydoc):
    r = Retriever(pydoc)
    ans = extractive_answer(r, pydoc, "sourdough bread baking time", min_relative_score=0.2)
    assert ans.abstained and ans.text == NO_ANSWER and ans.citations == ()
    assert all(isinstance(q, str) for q in OFF_TOPIC_QUESTIONS)


def test_max_score_counts_unknown_words():
    r = Retriever(SMALL)
    assert r.max_score("cat zebra") > r.max_score("cat")
    assert r.scores("cat").max() <= r.max_score("cat") + 1e-12


def test_build_prompt_numbers_passages_in_order():
    prompt = build_prompt("Why?", ["first passage", Passage("t", "second passage")])
    assert prompt.index("[1] first passage") < prompt.index("[2] second passage")
    assert prompt.rstrip().endswith("Question: Why?\nAnswer:")
    assert "only the numbered passages" in prompt


def test_sentences_split():
    assert sentences('One. Two "x" here.\n\nThree') == ["One.", 'Two "x" here.', "Three"]
