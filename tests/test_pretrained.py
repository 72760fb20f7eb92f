"""The pretrained-encoder path, run offline on a tiny random DistilBERT (no download ever)."""

from __future__ import annotations

import pytest
import torch

transformers = pytest.importorskip("transformers")

from companion.lora import LoRALinear, merge_lora  # noqa: E402
from companion.pretrained import (  # noqa: E402
    EncoderClassifier,
    load_encoder,
    lora_classifier,
    tiny_distilbert,
    train_steps,
)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_classifier_uses_first_position_of_the_encoder():
    enc = tiny_distilbert()
    assert isinstance(enc, transformers.DistilBertModel)
    model = EncoderClassifier(enc, 3)
    ids = torch.randint(0, 100, (4, 10))
    hidden = enc(input_ids=ids).last_hidden_state
    torch.testing.assert_close(model(ids), model.head(hidden[:, 0]))
    # a wrong variant: mean pooling is another function
    assert not torch.allclose(model(ids), model.head(hidden.mean(1)))


def test_lora_classifier_trains_only_lora_and_head_and_merges():
    torch.manual_seed(0)
    model = lora_classifier(tiny_distilbert(), 2, r=4, alpha=8)
    layers = [m for m in model.modules() if isinstance(m, LoRALinear)]
    assert len(layers) == 2 * 2  # q_lin and v_lin in each of 2 layers
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert all("lora_" in n or n.startswith("head.") for n in trainable)
    frozen = model.encoder.transformer.layer[0].ffn.lin1.weight.clone()
    ids = torch.randint(0, 100, (32, 8))
    labels = (ids == 7).any(1).long()
    losses = train_steps(model, ids, None, labels, steps=30, lr=1e-2)
    assert sum(losses[-5:]) < sum(losses[:5])
    assert torch.equal(model.encoder.transformer.layer[0].ffn.lin1.weight, frozen)
    mask = torch.ones_like(ids)
    before = model(ids, mask)
    merge_lora(model)
    torch.testing.assert_close(model(ids, mask), before, rtol=1e-4, atol=1e-5)


def test_offline_load_gives_a_clear_message():
    with pytest.raises(RuntimeError, match="downloads are off"):
        load_encoder("distilbert-base-uncased-not-cached")


class _ByteTokenizer:
    """A stand-in for a Hugging Face tokenizer (same call, same outputs), with no download."""

    def __call__(self, texts, padding, truncation, max_length, return_tensors):
        assert padding == "max_length" and truncation and return_tensors == "pt"
        ids = torch.zeros(len(texts), max_length, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, t in enumerate(texts):
            b = [min(c, 99) for c in t.encode()[:max_length]]
            ids[i, : len(b)], mask[i, : len(b)] = torch.tensor(b), 1
        return {"input_ids": ids, "attention_mask": mask}


def test_topic_task_is_split_by_topic_and_balanced_enough():
    from companion.pretrained import topic_task

    tr_x, tr_y, te_x, te_y = topic_task()
    assert len(tr_x) == len(tr_y) and len(te_x) == len(te_y) and len(te_x) > 10
    assert set(tr_y.tolist()) == set(te_y.tolist()) == {0, 1}
    assert not set(tr_x) & set(te_x)


def test_fine_tune_topics_runs_offline_on_the_tiny_model():
    from companion.pretrained import fine_tune_topics, topic_task

    tr_x, tr_y, te_x, te_y = topic_task()
    small = (tr_x[:40], tr_y[:40], te_x[:20], te_y[:20])
    out = fine_tune_topics(tiny_distilbert(), _ByteTokenizer(), small, r=2, steps=3,
                           max_length=16)  # fmt: skip
    assert 0 <= out["test accuracy"] <= 1 and out["trainable parameters"] < out["all parameters"]
