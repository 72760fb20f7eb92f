"""Plausible mistakes with the Chapter 13 modules: export, serving, latency, drift and
business.roi. Each is a clear error naming the argument (the HTTP service's bad requests are
in tests/test_serving.py: they are 4xx answers, not exceptions)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from companion.business.roi import (
    api_monthly_cost,
    fine_tune_cost,
    roi,
    self_host_monthly_cost,
    support_benefit,
)
from companion.drift import drift_report, ks_statistic, psi
from companion.export import export_onnx, export_program, max_abs_difference, onnx_predict
from companion.latency import measure_latency, simulate_dynamic_batching, state_dict_bytes
from companion.serving import Classifier, load_checkpoint, load_test, save_checkpoint, serve
from companion.serving.app import create_app
from companion.serving.demo import train_digits
from companion.serving.ratelimit import TokenBucket
from companion.transformer import GPT, GPTConfig
from tests.badinput.harness import expect_clear_error

NAN, INF = float("nan"), float("inf")
MLP = nn.Sequential(nn.Linear(4, 3)).eval()
X4 = torch.randn(2, 4)
REF = np.random.default_rng(0).normal(size=50)


EXPORT_CASES = [
    ("model not a module", lambda: export_program(lambda x: x, X4), "model", TypeError),
    ("NumPy example", lambda: export_program(MLP, X4.numpy()), "example", TypeError),
    ("list example", lambda: export_program(MLP, [[0.0] * 4] * 2), "example", TypeError),
    (
        "int example",
        lambda: export_program(MLP, torch.ones(2, 4, dtype=torch.long)),
        "example",
        TypeError,
    ),
    ("float64 example", lambda: export_program(MLP, X4.double()), "example", TypeError),
    ("batch of one", lambda: export_program(MLP, X4[:1]), "example", ValueError),
    ("1-D example", lambda: export_program(MLP, torch.randn(4)), "example", ValueError),
    (
        "bool dynamic_batch",
        lambda: export_program(MLP, X4, dynamic_batch="yes"),
        "dynamic_batch",
        TypeError,
    ),
    ("max_batch 1", lambda: export_program(MLP, X4, max_batch=1), "max_batch", ValueError),
    ("path not .onnx", lambda: export_onnx(MLP, X4, "model.pt"), "path", ValueError),
    ("path an int", lambda: export_onnx(MLP, X4, 3), "path", TypeError),
    ("session not a session", lambda: onnx_predict("model.onnx", X4), "session", TypeError),
    ("diff shapes", lambda: max_abs_difference(X4, X4[:1]), "a", ValueError),
    ("diff of ints", lambda: max_abs_difference(X4.long(), X4), "a", TypeError),
]


@pytest.mark.parametrize("what, call, name, kind", EXPORT_CASES, ids=[c[0] for c in EXPORT_CASES])
def test_export_bad_input(what, call, name, kind):
    expect_clear_error(call, name, kind=kind)


@pytest.fixture(scope="module")
def onnx_session_4(tmp_path_factory):
    from companion.export import onnx_session

    return onnx_session(export_onnx(MLP, X4, tmp_path_factory.mktemp("o") / "m.onnx"))


@pytest.mark.parametrize(
    "x, kind",
    [(X4.double(), TypeError), (X4.long(), TypeError), (X4.numpy(), TypeError),
     (torch.randn(2, 5), ValueError), (torch.randn(4), ValueError)],
    ids=["float64", "int64", "numpy", "wrong width", "1-D"],
)  # fmt: skip
def test_onnx_predict_bad_input(onnx_session_4, x, kind):
    expect_clear_error(lambda: onnx_predict(onnx_session_4, x), "x", kind=kind)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return save_checkpoint(Classifier(4, [5], 3), tmp_path_factory.mktemp("c") / "c.pt")


def _gpt():
    return GPT(GPTConfig(vocab_size=3, block_size=4, n_layer=1, n_head=1, n_embd=4))


SERVING_CASES = [
    ("hidden an int", lambda p: Classifier(4, 5, 3), "hidden", TypeError),
    ("zero classes", lambda p: Classifier(4, [5], 0), "num_classes", ValueError),
    ("bool in_features", lambda p: Classifier(True, [5], 3), "in_features", TypeError),
    (
        "std of NumPy",
        lambda p: Classifier(4, [5], 3).set_standardisation(np.zeros((3, 4))),
        "X_train",
        TypeError,
    ),
    (
        "std wrong width",
        lambda p: Classifier(4, [5], 3).set_standardisation(torch.zeros(3, 5)),
        "X_train",
        ValueError,
    ),
    ("save a plain module", lambda p: save_checkpoint(MLP, p.parent / "x.pt"), "model", TypeError),
    (
        "save GPT without vocab",
        lambda p: save_checkpoint(_gpt(), p.parent / "g.pt"),
        "vocab",
        TypeError,
    ),
    (
        "save GPT short vocab",
        lambda p: save_checkpoint(_gpt(), p.parent / "g.pt", vocab="ab"),
        "vocab",
        ValueError,
    ),
    (
        "save GPT repeated vocab",
        lambda p: save_checkpoint(_gpt(), p.parent / "g.pt", vocab="aab"),
        "vocab",
        ValueError,
    ),
    (
        "save classifier with vocab",
        lambda p: save_checkpoint(Classifier(4, [5], 3), p.parent / "c2.pt", vocab="ab"),
        "vocab",
        ValueError,
    ),
    ("save path an int", lambda p: save_checkpoint(Classifier(4, [5], 3), 7), "path", TypeError),
    ("load missing file", lambda p: load_checkpoint(p.parent / "missing.pt"), "path", ValueError),
    ("app max_batch 0", lambda p: create_app(p, max_batch=0), "max_batch", ValueError),
    (
        "app max_body float",
        lambda p: create_app(p, max_body_bytes=1.5),
        "max_body_bytes",
        TypeError,
    ),
    ("rate 0 per minute", lambda p: create_app(p, requests_per_minute=0), "per_minute", ValueError),
    ("rate NaN", lambda p: create_app(p, requests_per_minute=NAN), "per_minute", ValueError),
    ("burst 0", lambda p: create_app(p, requests_per_minute=10, burst=0), "burst", ValueError),
    ("burst float", lambda p: TokenBucket(10, 2.5), "burst", TypeError),
    ("clock not callable", lambda p: TokenBucket(10, 2, clock=0.0), "clock", TypeError),
    ("demo epochs 0", lambda p: train_digits(p.parent / "d.pt", epochs=0), "epochs", ValueError),
    ("demo seed negative", lambda p: train_digits(p.parent / "d.pt", seed=-1), "seed", ValueError),
    (
        "serve missing file",
        lambda p: serve(p.parent / "missing.pt").__enter__(),
        "checkpoint",
        ValueError,
    ),
    ("serve port 0", lambda p: serve(p, port=0).__enter__(), "port", ValueError),
    ("serve port 70000", lambda p: serve(p, port=70000).__enter__(), "port", ValueError),
    ("serve port str", lambda p: serve(p, port="8000").__enter__(), "port", TypeError),
    (
        "serve negative timeout",
        lambda p: serve(p, start_timeout=-1).__enter__(),
        "start_timeout",
        ValueError,
    ),
    ("load url no scheme", lambda p: load_test("127.0.0.1:8000", [{}]), "url", TypeError),
    (
        "load payload dict",
        lambda p: load_test("http://127.0.0.1:1", {"inputs": []}),
        "payloads",
        TypeError,
    ),
    ("load payload empty", lambda p: load_test("http://127.0.0.1:1", []), "payloads", TypeError),
    (
        "load concurrency 0",
        lambda p: load_test("http://127.0.0.1:1", [{}], concurrency=0),
        "concurrency",
        ValueError,
    ),
    (
        "load n_requests float",
        lambda p: load_test("http://127.0.0.1:1", [{}], n_requests=2.5),
        "n_requests",
        TypeError,
    ),
    (
        "load path no slash",
        lambda p: load_test("http://127.0.0.1:1", [{}], path="predict"),
        "path",
        ValueError,
    ),
]


@pytest.mark.parametrize("what, call, name, kind", SERVING_CASES, ids=[c[0] for c in SERVING_CASES])
def test_serving_bad_input(ckpt, what, call, name, kind):
    expect_clear_error(lambda: call(ckpt), name, kind=kind)


def test_load_checkpoint_refuses_a_foreign_file(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    expect_clear_error(lambda: load_checkpoint(tmp_path / "other.pt"), "path", kind=ValueError)


LATENCY_CASES = [
    (
        "model a function",
        lambda: measure_latency(torch.relu, torch.randn(4), [1]),
        "model",
        TypeError,
    ),
    ("example NumPy", lambda: measure_latency(MLP, np.zeros(4), [1]), "example", TypeError),
    (
        "batch_sizes an int",
        lambda: measure_latency(MLP, torch.randn(4), 8),
        "batch_sizes",
        TypeError,
    ),
    (
        "batch size 0",
        lambda: measure_latency(MLP, torch.randn(4), [0, 8]),
        "batch_sizes",
        ValueError,
    ),
    (
        "batch size float",
        lambda: measure_latency(MLP, torch.randn(4), [1.5]),
        "batch_sizes",
        TypeError,
    ),
    ("no batch sizes", lambda: measure_latency(MLP, torch.randn(4), []), "batch_sizes", ValueError),
    (
        "one repeat",
        lambda: measure_latency(MLP, torch.randn(4), [1], repeats=1),
        "repeats",
        ValueError,
    ),
    ("size of a dict", lambda: state_dict_bytes({"w": torch.zeros(1)}), "model", TypeError),
    (
        "arrivals list",
        lambda: simulate_dynamic_batching([0.0, 1.0], lambda b: 0.1, max_batch=2, max_wait=0.1),
        "arrivals",
        TypeError,
    ),
    (
        "arrivals unsorted",
        lambda: simulate_dynamic_batching(
            np.array([1.0, 0.0]), lambda b: 0.1, max_batch=2, max_wait=0.1
        ),
        "arrivals",
        ValueError,
    ),
    (
        "arrivals NaN",
        lambda: simulate_dynamic_batching(
            np.array([0.0, NAN]), lambda b: 0.1, max_batch=2, max_wait=0.1
        ),
        "arrivals",
        ValueError,
    ),
    (
        "service a number",
        lambda: simulate_dynamic_batching(np.array([0.0]), 0.1, max_batch=2, max_wait=0.1),
        "service_time",
        TypeError,
    ),
    (
        "service negative",
        lambda: simulate_dynamic_batching(
            np.array([0.0]), lambda b: -1.0, max_batch=2, max_wait=0.1
        ),
        "service_time",
        ValueError,
    ),
    (
        "max_batch 0",
        lambda: simulate_dynamic_batching(
            np.array([0.0]), lambda b: 0.1, max_batch=0, max_wait=0.1
        ),
        "max_batch",
        ValueError,
    ),
    (
        "max_wait negative",
        lambda: simulate_dynamic_batching(
            np.array([0.0]), lambda b: 0.1, max_batch=2, max_wait=-0.1
        ),
        "max_wait",
        ValueError,
    ),
    (
        "max_wait inf",
        lambda: simulate_dynamic_batching(
            np.array([0.0]), lambda b: 0.1, max_batch=2, max_wait=INF
        ),
        "max_wait",
        ValueError,
    ),
]


@pytest.mark.parametrize("what, call, name, kind", LATENCY_CASES, ids=[c[0] for c in LATENCY_CASES])
def test_latency_bad_input(what, call, name, kind):
    expect_clear_error(call, name, kind=kind)


DRIFT_CASES = [
    ("list reference", lambda: psi(list(REF), REF), "reference", TypeError),
    ("2-D current", lambda: psi(REF, REF.reshape(5, 10)), "current", ValueError),
    ("NaN current", lambda: ks_statistic(REF, np.array([0.0, NAN])), "current", ValueError),
    ("inf reference", lambda: ks_statistic(np.array([INF, 0.0]), REF), "reference", ValueError),
    ("bool array", lambda: psi(REF, np.array([True, False])), "current", TypeError),
    ("string array", lambda: psi(np.array(["a", "b"]), REF), "reference", TypeError),
    ("one value", lambda: ks_statistic(REF, np.array([1.0])), "current", ValueError),
    ("bins 1", lambda: psi(REF, REF, bins=1), "bins", ValueError),
    ("bins float", lambda: psi(REF, REF, bins=10.5), "bins", TypeError),
    ("floor 0", lambda: psi(REF, REF, floor=0.0), "floor", ValueError),
    ("alpha 0", lambda: drift_report(REF, REF, alpha=0.0), "alpha", ValueError),
    ("alpha 5 (percent)", lambda: drift_report(REF, REF, alpha=5), "alpha", ValueError),
    (
        "threshold NaN",
        lambda: drift_report(REF, REF, psi_threshold=NAN),
        "psi_threshold",
        ValueError,
    ),
]


@pytest.mark.parametrize("what, call, name, kind", DRIFT_CASES, ids=[c[0] for c in DRIFT_CASES])
def test_drift_bad_input(what, call, name, kind):
    expect_clear_error(call, name, kind=kind)


def test_drift_accepts_tensors_and_int_arrays_with_the_same_answer():
    ints = np.arange(40) % 7
    assert psi(ints, ints[::-1].copy()) == psi(ints.astype(float), ints[::-1].astype(float))
    t = torch.from_numpy(REF)
    assert ks_statistic(t, t.float() + 1) == ks_statistic(REF, REF.astype(np.float32) + 1.0)


ROI_CASES = [
    ("negative tokens", lambda: api_monthly_cost(-1, 0, 0.1, 0.1), "tokens_in", ValueError),
    ("NaN price", lambda: api_monthly_cost(1, 0, NAN, 0.1), "price_in", ValueError),
    ("price a string", lambda: api_monthly_cost(1, 0, 0.1, "0.6"), "price_out", TypeError),
    (
        "unknown accelerator",
        lambda: self_host_monthly_cost(7e9, 1e6, "A100"),
        "accelerator",
        ValueError,
    ),
    (
        "utilisation 0",
        lambda: self_host_monthly_cost(7e9, 1e6, utilisation=0.0),
        "utilisation",
        ValueError,
    ),
    (
        "utilisation percent",
        lambda: self_host_monthly_cost(7e9, 1e6, utilisation=50),
        "utilisation",
        ValueError,
    ),
    ("batch float", lambda: self_host_monthly_cost(7e9, 1e6, batch=1.5), "batch", TypeError),
    ("zero params", lambda: self_host_monthly_cost(0, 1e6), "n_params", ValueError),
    ("epochs 0", lambda: fine_tune_cost(7e9, 1e6, epochs=0), "epochs", ValueError),
    ("lora a string", lambda: fine_tune_cost(7e9, 1e6, lora="yes"), "lora", TypeError),
    ("mfu above 1", lambda: fine_tune_cost(7e9, 1e6, mfu=40), "mfu", ValueError),
    ("negative benefit", lambda: roi(-1.0, 1.0), "monthly_benefit", ValueError),
    ("months 0", lambda: roi(1.0, 1.0, months=0), "months", ValueError),
    (
        "rate in percent",
        lambda: roi(1.0, 1.0, annual_discount_rate=8),
        "annual_discount_rate",
        ValueError,
    ),
    (
        "acceptance in percent",
        lambda: support_benefit(10, 1, 30, 60),
        "acceptance_rate",
        ValueError,
    ),
    ("tickets None", lambda: support_benefit(None, 1, 30), "tickets_per_month", TypeError),
]


@pytest.mark.parametrize("what, call, name, kind", ROI_CASES, ids=[c[0] for c in ROI_CASES])
def test_roi_bad_input(what, call, name, kind):
    expect_clear_error(call, name, kind=kind)
