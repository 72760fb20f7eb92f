"""The errata rows of the appendices (errata_parts/appendix.md): every number recomputed.

The numbers come from the source documents' own code (002 §4, 003 §5), rebuilt here in
PyTorch with the same layer sizes, and from the definitions of softmax and F1 (checked against
scikit-learn). The Keras run that produced row A.5's error message is repeated where Keras is
installed (it is not a dependency of the book; the test skips without it).
"""

from __future__ import annotations

import math
import os
import re

import pytest
import torch
from sklearn.metrics import f1_score
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
    assert keys == [f"A.{k}" for k in range(1, len(keys) + 1)] and len(keys) == 12
    for key in keys:
        assert "{cite}`" in errata_row(text, key), key


def mlp_002() -> nn.Module:
    """002 §4: Dense(10, relu) then Dense(10, softmax) on 10 inputs."""
    return nn.Sequential(nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 10), nn.Softmax(-1))


def mlp_003() -> nn.Module:
    """003 §5: Dense(512, relu) on 784 inputs, then Dense(10, softmax)."""
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10), nn.Softmax(-1))


def test_row_a6_double_softmax_bounds_the_loss(text):
    row = errata_row(text, "A.6")
    perfect = torch.zeros(10)
    perfect[3] = 1.0  # the best a softmax output can do: all mass on the right class
    p = torch.softmax(perfect, 0)[3]
    loss = nn.functional.cross_entropy(perfect[None], torch.tensor([3]))
    assert loss.item() == pytest.approx(-math.log(p.item()))
    assert f"{p.item():.3f}" == "0.232" and "at most 0.232" in row
    assert f"{loss.item():.3f}" == "1.461" and "at least 1.461 nats" in row
    # any other probability vector does no better on class 3
    q = torch.softmax(torch.randn(1000, 10), -1)
    assert torch.softmax(q, -1)[:, 3].max() < p
    assert count_parameters(mlp_002()) == 220 and "220 parameters" in row
    assert "chance, 10%" in row


def test_row_a7_parameter_count_and_ratio(text):
    row = errata_row(text, "A.7")
    n = count_parameters(mlp_003())
    assert n == 407_050 == 784 * 512 + 512 + 512 * 10 + 10
    assert f"{n:,} parameters" in row and "784 → 512 → 10" in row
    ratio = 175e9 / n  # GPT-3's 175 billion (row 1.8)
    assert round(ratio, -4) == 430_000 and "about 430,000 times" in row


def test_row_a8_training_cost(text):
    row = errata_row(text, "A.8")
    n_train = round(60_000 * (1 - 0.2))  # MNIST's 60,000 training images, validation_split=0.2
    flops = 6 * count_parameters(mlp_003()) * n_train * 20
    assert n_train == 48_000 and "48,000 training images" in row
    mantissa, exponent = f"{flops:.1e}".split("e")
    assert (mantissa, int(exponent)) == ("2.3", 12) and "2.3 × 10¹²" in row


def test_row_a10_f1_is_the_harmonic_mean(text):
    row = errata_row(text, "A.10")
    # 10 positives, the classifier finds 1 of them and raises no false alarm
    y_true = [1] * 10 + [0] * 10
    y_pred = [1] + [0] * 19
    precision, recall = 1.0, 0.1
    f1 = f1_score(y_true, y_pred)
    assert f1 == pytest.approx(2 * precision * recall / (precision + recall))
    assert f"{f1:.2f}" == "0.18" and "F1 = 0.18" in row
    assert f"{(precision + recall) / 2:.2f}" == "0.55" and "0.55" in row
    # a weighted arithmetic average would lie between 0.1 and 1.0 for any weights: not 0.18's rule
    assert not any(w * precision + (1 - w) * recall == pytest.approx(f1) for w in (0.25, 0.5, 0.75))


# what each row says the documents contain (exact strings of the documents)
QUOTED = {
    "A.1": ("001", "Keras:Keras是一个开源的深度学习框架"),
    "A.2": ("001", "OpenAI Gym:OpenAI Gym是一个开源的机器学习库"),
    "A.3": ("001", "Papers With Code:Papers With Code是一个开源的论文库"),
    "A.4": ("004", "模型部署库：TensorFlow Serving、TorchServe、ONNX等"),
    "A.5": ("002", "tf.random.uniform([100, 10], minval=0, maxval=10, dtype=tf.int32)"),
    "A.6": ("002", "activation='softmax')"),
    "A.7": ("003", "包含一层全连接层（Dense）的简单模型"),
    "A.8": ("003", "GPU（NVIDIA Tesla V100 或以上）"),
    "A.9": ("003", "Python（3.8及以上）、TensorFlow（2.0及以上）、CUDA（10.0及以上）"),
    "A.10": ("003", "F1值（F1-score）**：精确率和召回率的加权平均"),
    "A.11": ("002", "对模型进行加密"),
    "A.12": ("004", "验证和推理等步骤"),
}


@pytest.mark.parametrize("row", sorted(QUOTED, key=lambda k: int(k.split(".")[1])))
def test_each_row_describes_what_the_document_says(text, row):
    doc, quoted = QUOTED[row]
    assert quoted in seed(doc), f"{row}: {quoted!r} is not in document {doc}"
    where = errata_row(text, row).split("|")[2]
    assert doc in where, f"{row}: the Where column does not name document {doc}"


def test_row_a5_keras_refuses_the_label_shape(monkeypatch):
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
    assert model.count_params() == 220  # row A.6's count, from Keras itself
    mnist = keras.Sequential(
        [keras.Input((784,)), keras.layers.Dense(512, "relu"), keras.layers.Dense(10, "softmax")]
    )
    assert mnist.count_params() == 407_050  # row A.7's count: 003's model, from Keras itself
