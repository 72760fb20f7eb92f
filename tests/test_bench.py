"""``make bench`` (companion.benchmark): its JSON format, ratios, calibration units and MFU.

No test here asserts a wall time: a fake clock drives the timing code, and the arithmetic is
checked against hand computations, each with a wrong variant that must fail.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

from companion.benchmark import gpu, kernels, notebooks, report, timing
from companion.parameters import count_parameters
from companion.transformer import GPT, GPTConfig

# ------------------------------------------------------------------------------ helpers


class FakeClock:
    """Stands in for time.perf_counter: the timed functions advance it by a known amount."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


def summary(median, q25=None, q75=None, n=3):
    return {"median": median, "q25": median if q25 is None else q25,
            "q75": median if q75 is None else q75, "n": n}  # fmt: skip


def valid_result() -> dict:
    """A small, complete bench result written by hand."""
    cal = 0.5
    return {
        "schema": report.SCHEMA_VERSION,
        "created": "2026-11-23T17:00:00+00:00",
        "machine": {"cpu": "Test CPU", "cores": 2, "torch": "2.13.0", "gpu": None},
        "calibration": {"seconds": cal, "runs": [0.5, 0.5], "workload": "test"},
        "notebooks": [
            {
                "notebook": "book/a.ipynb",
                "wall_s": 10.0,
                "cpu_s": 9.0,
                "calibration_units": 20.0,
                "budget_s": 60.0,
                "within_budget": True,
                "within_target": True,
                "error": None,
            },
            {
                "notebook": "book/b.ipynb",
                "wall_s": 70.0,
                "cpu_s": 60.0,
                "calibration_units": 140.0,
                "budget_s": 60.0,
                "within_budget": False,
                "within_target": False,
                "error": None,
            },
        ],  # fmt: skip
        "book": {
            "wall_s": 80.0,
            "cpu_s": 69.0,
            "calibration_units": 160.0,
            "budget_s": 300.0,
            "within_budget": True,
            "notebooks": 2,
        },  # fmt: skip
        "ratios": [
            {
                "name": "conv",
                "pass": "forward",
                "shape": "",
                "device": "cpu",
                "max_abs_diff": 0.0,
                "scratch_s": summary(2.0),
                "fused_s": summary(1.0),
                "ratio": summary(2.0, 1.5, 2.5),
            },
        ],  # fmt: skip
        "pending": [{"name": "future", "status": "pending", "note": "not measured yet"}],
        "gpu": {"status": "not measured: no CUDA GPU on this machine", "runs": []},
    }


# ---------------------------------------------------------------------------- JSON schema


def test_a_valid_result_passes_and_round_trips(tmp_path):
    result = valid_result()
    path = report.save(result, tmp_path / "bench.json")
    assert report.load(path) == json.loads(json.dumps(result))
    assert "b.ipynb" in report.format_table(result) and "OVER" in report.format_table(result)


@pytest.mark.parametrize(
    "break_it, field",
    [
        (lambda r: r.pop("calibration"), "calibration"),
        (lambda r: r.update(schema=2), "schema"),
        (lambda r: r["machine"].pop("cpu"), "machine.cpu"),
        (lambda r: r["calibration"].update(seconds=0), "calibration.seconds"),
        # units computed the wrong way round (calibration / wall) must be caught
        (lambda r: r["notebooks"][0].update(calibration_units=0.05), "calibration_units"),
        (lambda r: r["notebooks"][1].update(within_budget=True), "within_budget"),
        (lambda r: r["ratios"][0].update({"pass": "both"}), "pass"),
        (lambda r: r["ratios"][0]["ratio"].update(q25=3.0), "ratios[0].ratio"),
        (lambda r: r["ratios"][0].pop("fused_s"), "fused_s"),
        # a pending comparison must not carry a (fake) number
        (lambda r: r["pending"][0].update(ratio=1.0), "pending[0]"),
        (lambda r: r["gpu"].pop("runs"), "gpu"),
    ],
)
def test_a_broken_result_is_refused_naming_the_field(break_it, field):
    result = valid_result()
    break_it(result)
    with pytest.raises(ValueError, match=field.replace("[", r"\[").replace("]", r"\]")):
        report.check_result(result)


def test_measured_kernel_rows_fit_the_schema():
    """Real rows from kernels.measure (tiny shapes, one repeat) pass the check."""
    result = valid_result()
    result["ratios"] = kernels.measure(
        kernels.conv_case("cpu", batch=2, channels=2, size=6, out_channels=3), "cpu", 1, 0
    )
    result["ratios"] += kernels.measure(
        kernels.attention_case("cpu", batch=1, heads=2, seq=5, width=4), "cpu", 1, 0
    )
    report.check_result(copy.deepcopy(result))
    assert [r["pass"] for r in result["ratios"]] == ["forward", "backward"] * 2


def test_adam_rows_check_agreement_and_fit_the_schema(monkeypatch):
    rows = kernels.adam_rows("cpu", repeats=1, warmup=0, sizes=(5, 4, 3))
    result = valid_result()
    result["ratios"] = rows
    report.check_result(copy.deepcopy(result))
    assert [r["pass"] for r in rows] == ["step"] and rows[0]["max_abs_diff"] < 1e-6
    assert "39 parameters" in rows[0]["shape"]  # 5*4 + 4 + 4*3 + 3

    # a companion Adam without bias correction must be caught before anything is timed
    from companion.adaptive_optim import Adam

    monkeypatch.setattr(
        kernels, "_companion_adam", lambda params, lr: Adam(params, lr=lr, bias_correction=False)
    )
    with pytest.raises(AssertionError):
        kernels.adam_rows("cpu", repeats=1, warmup=0, sizes=(5, 4, 3))


def test_every_case_builds_and_agrees_on_small_inputs():
    small = {
        kernels.conv_case: dict(batch=2, channels=2, size=6, out_channels=3),
        kernels.lstm_case: dict(seq=3, batch=2, inputs=3, hidden=4),
        kernels.attention_case: dict(batch=1, heads=2, seq=5, width=4),
        kernels.attention_fused_case: dict(batch=1, heads=2, seq=5, width=4),
    }
    assert set(small) == set(kernels.CASES)
    for make, sizes in small.items():
        assert kernels.check_agreement(make("cpu", **sizes)) < 1e-4


def test_a_disagreeing_pair_is_refused_before_timing():
    case = kernels.conv_case("cpu", batch=2, channels=2, size=6, out_channels=3)
    right = case.fused
    case.scratch = lambda: right() * 1.01  # a wrong "from-scratch" result
    with pytest.raises(AssertionError):
        kernels.measure(case, "cpu", 1, 0)


# ------------------------------------------------------------------------------- ratios


def test_quantile_matches_numpy():
    values = [3.0, 1.0, 4.0, 1.5, 9.0, 2.6]
    for q in (0.0, 0.25, 0.5, 0.75, 1.0):
        assert timing.quantile(values, q) == pytest.approx(np.quantile(values, q))


def test_ratio_is_the_median_of_per_pair_ratios():
    # pairs: 2/1, 4/1, 6/2 -> ratios 2, 4, 3: median 3, quartiles 2.5 and 3.5
    out = timing.ratio_summary([2.0, 4.0, 6.0], [1.0, 1.0, 2.0])
    assert out["ratio"] == {"median": 3.0, "q25": 2.5, "q75": 3.5, "n": 3}
    assert out["scratch_s"]["median"] == 4.0 and out["fused_s"]["median"] == 1.0
    # wrong variants: the ratio of the medians (4.0), or fused / scratch (1/3)
    assert out["ratio"]["median"] != 4.0 / 1.0
    assert out["ratio"]["median"] != pytest.approx(1 / 3)


def test_paired_ratio_times_scratch_over_fused_on_a_fake_clock(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(timing.time, "perf_counter", clock)
    order = []

    def scratch(_):
        order.append("s")
        clock.advance(3.0)

    def fused(_):
        order.append("f")
        clock.advance(1.0)

    def prepare():  # untimed work (a forward pass before a backward pass)
        clock.advance(100.0)

    out = timing.paired_ratio((scratch, prepare), (fused, None), repeats=4, warmup=1)
    assert out["ratio"]["median"] == 3.0 and out["ratio"]["q25"] == out["ratio"]["q75"] == 3.0
    assert out["scratch_s"]["median"] == 3.0  # the 100 s of prepare() are not timed
    assert order == ["s", "f", "s", "f", "f", "s", "s", "f", "f", "s"]  # warm-up, alternating
    with pytest.raises(ValueError):
        timing.paired_ratio((scratch, None), (fused, None), repeats=0)


# ----------------------------------------------------------------------- calibration units


def test_calibration_units_are_seconds_over_the_calibration_time():
    assert timing.in_calibration_units(12.0, 0.5) == 24.0
    assert timing.in_calibration_units(12.0, 0.5) != 0.5 / 12.0  # the wrong way round
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="calibration"):
            timing.in_calibration_units(1.0, bad)


def test_budget_rows_and_book_total():
    times = {
        "book/a.ipynb": {"wall_s": 10.0, "cpu_s": 8.0, "error": None},
        "book/b.ipynb": {"wall_s": 61.0, "cpu_s": 50.0, "error": None},
    }
    rows, book = notebooks.budget_rows(times, calibration_s=2.0)
    assert [r["calibration_units"] for r in rows] == [5.0, 30.5]
    assert [r["within_budget"] for r in rows] == [True, False]
    assert [r["within_target"] for r in rows] == [True, False]
    assert book["wall_s"] == 71.0 and book["cpu_s"] == 58.0 and book["calibration_units"] == 35.5
    # a slower machine (everything twice as long, calibration too) gives the same units
    slow = {k: {**v, "wall_s": 2 * v["wall_s"]} for k, v in times.items()}
    rows2, _ = notebooks.budget_rows(slow, calibration_s=4.0)
    assert [r["calibration_units"] for r in rows2] == [r["calibration_units"] for r in rows]
    result = valid_result()
    result["calibration"]["seconds"] = 2.0
    result["notebooks"], result["book"] = rows, book
    report.check_result(result)


def test_calibration_reports_one_thread_unit_and_contention(monkeypatch):
    clock = iter([0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.8, 0.8, 0.8])
    monkeypatch.setattr(timing, "calibration_workload", lambda: next(clock))
    cal = timing.calibrate(repeats=5, threaded_repeats=3)
    assert cal["seconds"] == 0.2 and cal["contention"] == pytest.approx(4.0)
    assert len(cal["runs"]) == 5 and len(cal["threaded_runs"]) == 3


def test_the_calibration_workload_runs():
    assert timing.calibration_workload() > 0


# ------------------------------------------------------------------------------------ MFU


def hand_flops_per_token(V, T, L, d):
    """Eq. (ch07-flops) by hand: 6N + 12·L·T·d with N = 12·L·d² + V·d (matrix weights)."""
    N = 12 * L * d * d + V * d
    return 6 * N + 12 * L * T * d


def test_flops_per_token_is_the_chapter_formula():
    cfg = GPTConfig(vocab_size=100, block_size=64, n_layer=2, n_head=2, n_embd=32)
    # N = 12·2·32² + 100·32 = 24,576 + 3,200 = 27,776; 6N = 166,656; 12·L·T·d = 49,152
    assert gpu.flops_per_token(cfg, 64) == 215_808 == hand_flops_per_token(100, 64, 2, 32)
    N = 27_776
    wrong = {
        "2N (forward only)": 2 * N + 12 * 2 * 64 * 32,
        "6N without attention": 6 * N,
        "attention QK^T only (6·L·T·d)": 6 * N + 6 * 2 * 64 * 32,
        "6 × every parameter": 6 * count_parameters(GPT(cfg)) + 12 * 2 * 64 * 32,
    }
    for name, value in wrong.items():
        assert gpu.flops_per_token(cfg, 64) != value, name


def test_mfu_against_a_hand_computation():
    # GPT-2 small at T = 1024, vocabulary 50,304: N = 12·12·768² + 50304·768 = 123,568,128
    cfg = GPTConfig(**gpu.MODEL_SIZES["gpt2-small-124M"])
    fpt = gpu.flops_per_token(cfg, 1024)
    assert fpt == 6 * 123_568_128 + 12 * 12 * 1024 * 768 == 854_654_976
    # 400,000 tokens/s on an H100 SXM: 400e3 · 854,654,976 / 989.4e12 = 0.345525 by hand
    expected = 400_000 * 854_654_976 / 989.4e12
    peak, source = gpu.peak_bf16_flops("NVIDIA H100 80GB HBM3")
    assert peak == 989.4e12 and "H100" in source
    assert gpu.mfu(400_000, fpt, peak) == pytest.approx(expected, rel=1e-12)
    assert gpu.mfu(400_000, fpt, peak) == pytest.approx(0.345525, abs=1e-6)
    # wrong variants: 2N instead of 6N, or the sparse peak (twice the dense one)
    two_n = 400_000 * (2 * 123_568_128 + 12 * 12 * 1024 * 768) / 989.4e12
    sparse = 400_000 * fpt / 1979e12
    for wrong in (two_n, sparse):
        assert gpu.mfu(400_000, fpt, peak) != pytest.approx(wrong, rel=1e-3)
    assert gpu.mfu(400_000, fpt, None) is None
    for bad in [(-1.0, fpt, peak), (1.0, 0, peak), (1.0, fpt, 0.0)]:
        with pytest.raises(ValueError):
            gpu.mfu(*bad)


@pytest.mark.parametrize(
    "name, peak",
    [
        ("NVIDIA H100 80GB HBM3", 989.4e12),
        ("NVIDIA H100 PCIe", 756.5e12),
        ("NVIDIA H100 NVL", 835.5e12),
        ("NVIDIA H200", 989.4e12),
        ("NVIDIA A100-SXM4-80GB", 312e12),
        ("NVIDIA A100-PCIE-40GB", 312e12),
        ("NVIDIA L4", 121e12),
        ("Tesla T4", None),  # no bf16 tensor cores: not in the table
        ("NVIDIA GeForce RTX 4090", None),
    ],
)
def test_peak_table(name, peak):
    assert gpu.peak_bf16_flops(name)[0] == peak


def test_train_throughput_code_path_on_the_cpu():
    """The GPU code path (autocast, fused attention, AdamW, timing, MFU fields) on the CPU."""
    size = dict(vocab_size=32, block_size=8, n_layer=1, n_head=2, n_embd=16)
    run = gpu.train_throughput(size, device="cpu", batch=2, steps=2, warmup=1, compile=False)
    assert run["tokens_per_s"] > 0 and np.isfinite(run["final_loss"])
    assert run["flops_per_token"] == hand_flops_per_token(32, 8, 1, 16)
    assert run["achieved_flops"] == pytest.approx(run["tokens_per_s"] * run["flops_per_token"])
    assert run["mfu"] is None and run["peak_bf16_flops"] is None  # no peak rate for a CPU
    result = valid_result()
    result["gpu"] = {"status": "measured", "runs": [run]}
    report.check_result(result)
    assert "n/a" in report.format_table(result)


def test_run_gpu_without_cuda_says_so(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = gpu.run_gpu()
    assert out["runs"] == [] and "not measured" in out["status"]


# ----------------------------------------------------------------------------------- GPU


@pytest.mark.gpu
def test_kernels_agree_on_cuda_and_ratios_are_measured():
    rows = kernels.run_all("cuda", repeats=3, warmup=1)
    assert {r["device"] for r in rows} == {"cuda"} and len(rows) == 2 * len(kernels.CASES)


@pytest.mark.gpu
def test_gpt_loss_on_cuda_matches_cpu():
    """First-step loss of the throughput model: CUDA float32 vs CPU float32 within 1e-4."""
    cfg = GPTConfig(vocab_size=64, block_size=32, n_layer=2, n_head=2, n_embd=32)
    x = torch.randint(0, 64, (4, 32), generator=torch.Generator().manual_seed(0))
    losses = {}
    for device in ("cpu", "cuda"):
        torch.manual_seed(0)
        model = GPT(cfg).to(device)
        logits = model(x.to(device))
        losses[device] = torch.nn.functional.cross_entropy(
            logits[:, :-1].reshape(-1, 64), x[:, 1:].reshape(-1).to(device)
        ).item()
    assert losses["cuda"] == pytest.approx(losses["cpu"], abs=1e-4)


@pytest.mark.gpu
def test_throughput_and_mfu_on_cuda():
    run = gpu.train_throughput("char-6L-384", device="cuda", steps=5, warmup=3)
    assert run["tokens_per_s"] > 0
    if run["peak_bf16_flops"] is not None:
        assert 0 < run["mfu"] < 1


# ------------------------------------------------------------------------------- the CLI


def test_the_command_writes_a_valid_json_and_a_table(tmp_path, monkeypatch, capsys):
    """python -m companion.benchmark, with fast stand-ins for the timed work."""
    from companion.benchmark import __main__ as cli

    book = tmp_path / "book"
    book.mkdir()
    for name in ("ch01_a.ipynb", "ch02_b.ipynb"):
        (book / name).write_text("{}")
    cals = iter([
        {"seconds": 1.0, "runs": [1.0, 1.0], "threaded_runs": [3.0], "threads": 2,
         "contention": 3.0, "workload": "w"},
        {"seconds": 3.0, "runs": [3.0, 3.0], "threaded_runs": [3.0], "threads": 2,
         "contention": 1.0, "workload": "w"},
    ])  # fmt: skip
    monkeypatch.setattr(timing, "calibrate", lambda: next(cals))
    monkeypatch.setattr(
        notebooks, "time_notebook", lambda p: {"wall_s": 8.0, "cpu_s": 4.0, "error": None}
    )
    rows = kernels.measure(
        kernels.conv_case("cpu", batch=1, channels=1, size=4, out_channels=1), "cpu", 1, 0
    )
    monkeypatch.setattr(kernels, "run_all", lambda device, repeats: rows)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "bench.json"
    assert cli.main(["--out", str(out), "--root", str(tmp_path), "--only", "ch02*"]) == 0
    result = report.load(out)
    assert [r["notebook"] for r in result["notebooks"]] == ["book/ch02_b.ipynb"]
    # runs before and after pooled: median of [1, 1, 3, 3] = 2 s; 8 s = 4 units
    assert result["calibration"]["seconds"] == 2.0
    assert result["notebooks"][0]["calibration_units"] == 4.0
    assert result["pending"] == kernels.PENDING and result["gpu"]["runs"] == []
    assert "whole book" in capsys.readouterr().out
