"""The errata rows of the appendices (errata_parts/appendix.md): every number recomputed.

The numbers come from 002 §4's network, rebuilt here in PyTorch with the same layer sizes,
and from the definition of the softmax. The Keras run that produced row A.4's error message is
repeated with Keras (a test-only extra; TensorFlow is not needed); without Keras it skips.
"""

from __future__ import annotations

import math
import os
import re

import pytest
import torch
from torch import nn

from companion.parameters import count_parameters
from tests.bookinfo import errata_fragment, errata_row
from tests.test_errata_references import seed


@pytest.fixture(scope="module")
def text() -> str:
    return errata_fragment("appendix")


def test_label_heading_and_rows(text):
    assert text.startswith("(errata-appendix)=\n## Appendices A and B")
    keys = re.findall(r"^\| (A\.\d+) \|", text, re.M)
    assert keys == [f"A.{k}" for k in range(1, len(keys) + 1)] and len(keys) == 7
    for key in keys:
        assert "{cite}`" in errata_row(text, key), key


def mlp_002() -> nn.Module:
    """002 §4: Dense(10, relu) then Dense(10, softmax) on 10 inputs."""
    return nn.Sequential(nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 10), nn.Softmax(-1))


def test_row_a5_double_softmax_bounds_the_loss(text):
    row = errata_row(text, "A.5")
    perfect = torch.zeros(10)
    perfect[3] = 1.0  # the best a softmax output can do: all mass on the right class
    p = torch.softmax(perfect, 0)[3]
    loss = nn.functional.cross_entropy(perfect[None], torch.tensor([3]))
    assert loss.item() == pytest.approx(-math.log(p.item()))
    assert f"{p.item():.3f}" == "0.232" and "at most 0.232" in row
    assert f"{loss.item():.3f}" == "1.461" and "at least 1.461 nats" in row
    # any other probability vector does no better on class 3
    q = torch.softmax(torch.randn(1000, 10, generator=torch.Generator().manual_seed(0)), -1)
    assert torch.softmax(q, -1)[:, 3].max() < p
    # a wrong reading (logits taken as logits: no second softmax) would reach loss 0
    assert (
        nn.functional.nll_loss(torch.log(perfect.clamp_min(1e-12))[None], torch.tensor([3])) < 1e-6
    )
    assert count_parameters(mlp_002()) == 220 and "220 parameters" in row
    assert "chance, 10%" in row


# what each row says the documents contain (exact strings of the documents)
QUOTED = {
    "A.1": ("001", "Keras:Keras是一个开源的深度学习框架"),
    "A.2": ("001", "OpenAI Gym:OpenAI Gym是一个开源的机器学习库"),
    "A.3": ("001", "Papers With Code:Papers With Code是一个开源的论文库"),
    "A.4": ("002", "tf.random.uniform([100, 10], minval=0, maxval=10, dtype=tf.int32)"),
    "A.5": ("002", "activation='softmax')"),
    "A.6": ("003", "Python（3.8及以上）、TensorFlow（2.0及以上）、CUDA（10.0及以上）"),
    "A.7": ("004", "验证和推理等步骤"),
}


@pytest.mark.parametrize("row", sorted(QUOTED, key=lambda k: int(k.split(".")[1])))
def test_each_row_describes_what_the_document_says(text, row):
    doc, quoted = QUOTED[row]
    assert quoted in seed(doc), f"{row}: {quoted!r} is not in document {doc}"
    where = errata_row(text, row).split("|")[2]
    assert doc in where, f"{row}: the Where column does not name document {doc}"


def test_row_a4_keras_refuses_the_label_shape(monkeypatch):
    """Keras 3 on its PyTorch backend (Keras is a test-only extra; TensorFlow is not needed)."""
    monkeypatch.setenv("KERAS_BACKEND", os.environ.get("KERAS_BACKEND", "torch"))
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip(f"Keras runs on {keras.backend.backend()}; this check uses its torch backend")
    model = keras.Sequential(
        [keras.Input((10,)), keras.layers.Dense(10, "relu"), keras.layers.Dense(10, "softmax")]
    )
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = keras.random.normal([100, 10], seed=0)
    bad = keras.random.randint([100, 10], 0, 10, dtype="int32", seed=1)  # 002's label shape
    with pytest.raises(ValueError, match="same shape up until the last dimension"):
        model.fit(x, bad, epochs=1, verbose=0)
    good = keras.random.randint([100], 0, 10, dtype="int32", seed=2)  # one class per example
    model.fit(x, good, epochs=1, verbose=0)
    assert model.count_params() == 220  # row A.5's count, from Keras itself
    mnist = keras.Sequential(
        [keras.Input((784,)), keras.layers.Dense(512, "relu"), keras.layers.Dense(10, "softmax")]
    )
    assert mnist.count_params() == 407_050  # 003 §5's model (row 13.3), from Keras itself
