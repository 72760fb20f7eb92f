"""Every number in the Chapter 2 errata rows (book/appendix/errata_parts/ch02.md) is
recomputed here and must appear, formatted, in its row: the digits experiment of §2.6 is
rerun with the chapter's settings, the model sizes are counted, and the compute is 6ND.
Published sizes and token counts (GPT-3's 300 billion tokens, Llama 3's 405 billion
parameters) are cited facts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from companion.baselines import compare_models
from companion.cnn import LeNet
from companion.data import load_digits
from companion.history import training_flops
from companion.mlp import mlp_parameter_count
from companion.parameters import count_on_meta
from companion.transformer import GPT3_175B, gpt_parameter_formula

ROOT = Path(__file__).resolve().parents[1]
FRAGMENT = ROOT / "book" / "appendix" / "errata_parts" / "ch02.md"


def rows() -> dict[str, str]:
    return {
        m.group(1): line
        for line in FRAGMENT.read_text().splitlines()
        if (m := re.match(r"\| (2\.\d+) \|", line))
    }


def test_rows_are_numbered_consecutively_and_cite():
    numbers = list(rows())
    assert numbers == [f"2.{k}" for k in range(1, len(numbers) + 1)]
    assert all("{cite}" in line for line in rows().values())


@pytest.fixture(scope="module")
def digits():
    # exactly the call of Chapter 2, §2.6 (small profile)
    split = load_digits()
    table = compare_models(split, hidden=(64,), epochs=30, seed=0)
    correct = dict(
        zip(table["model"], (table["test_accuracy"] * len(split.y_test)).round(), strict=True)
    )
    return split, {k: int(v) for k, v in correct.items()}


def test_row_2_4_digits_numbers(digits):
    split, correct = digits
    row = rows()["2.4"]
    n_test = len(split.y_test)
    mlp, svm, lr = (
        correct["neural network (MLP)"],
        correct["SVM (RBF kernel)"],
        correct["logistic regression"],
    )
    assert f"Trained on {len(split.X_train):,} digit images" in row
    assert f"a {mlp_parameter_count((64, 64, 10)):,}-parameter MLP" in row
    assert mlp == svm, "the row says the MLP and the SVM tie"
    assert f"tie at {mlp} of {n_test} test images" in row
    assert f"within {mlp - lr} images of them" in row


def test_row_2_12_digits_numbers(digits):
    split, correct = digits
    row = rows()["2.12"]
    n_test = len(split.y_test)
    assert correct["neural network (MLP)"] == correct["SVM (RBF kernel)"]
    assert f"both classify {correct['SVM (RBF kernel)']} of {n_test} test digits" in row
    assert f"logistic regression {correct['logistic regression']})" in row


def test_row_2_3_lenet_count():
    assert f"{count_on_meta(LeNet):,} parameters" in rows()["2.3"]


def test_row_2_7_compute():
    row = rows()["2.7"]
    n_gpt3 = gpt_parameter_formula(GPT3_175B)
    for flops in (training_flops(n_gpt3, 300e9), training_flops(405e9, 15.6e12)):
        mantissa, exponent = f"{flops:.1e}".split("e+")
        superscript = str(int(exponent)).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
        assert (
            f"{mantissa}×10{superscript} FLOPs" in row or f"{mantissa}×10{superscript} for" in row
        )
    assert f"GPT-3 {round(n_gpt3 / 1e9)} billion" in row  # 174.6 billion, the paper's 175
