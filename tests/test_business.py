"""companion.business against published figures, and the wrong formulas it must not be."""

import pytest

from companion.business import (
    ACCELERATORS,
    accelerator,
    compute_optimal,
    decode_tokens_per_second,
    inference_cost_per_million_tokens,
    inference_flops_per_token,
    sensitivity,
    training_cost,
    training_flops,
)


def test_gpt3_training_flops_match_the_paper():
    # Brown et al. (2020), Table D.1: GPT-3 175B, 300B tokens, 3.14e23 training FLOPs.
    flops = training_flops(175e9, 300e9)
    assert flops == pytest.approx(3.14e23, rel=0.01)
    # Wrong variants: forward only (2ND) or forward+backward counted as 4ND.
    assert abs(2 * 175e9 * 300e9 - 3.14e23) / 3.14e23 > 0.5
    assert abs(4 * 175e9 * 300e9 - 3.14e23) / 3.14e23 > 0.3


def test_llama2_7b_gpu_hours_match_the_paper_at_the_implied_utilisation():
    # Touvron et al. (2023), Llama 2, Table 2: 7B model, 2.0T tokens, 184,320 A100-80GB GPU-hours
    # at 400 W. The model has 6.74e9 parameters (its Table 1 / released weights).
    n, d, published_hours = 6.74e9, 2.0e12, 184_320
    implied_mfu = 6 * n * d / (published_hours * 3600 * 312e12)
    assert 0.35 < implied_mfu < 0.45  # a plausible utilisation: the paper is consistent with 6ND
    cost = training_cost(n, d, "A100-80GB", mfu=implied_mfu, price_per_hour_usd=1.0)
    assert cost.accelerator_hours == pytest.approx(published_hours, rel=1e-9)
    assert cost.cost_usd == pytest.approx(published_hours)
    # Energy at 400 W and PUE 1.1; Touvron et al. report 400 W per GPU.
    assert cost.energy_kwh == pytest.approx(published_hours * 0.4 * 1.1)
    assert training_cost(n, d, "A100-80GB", mfu=0.2).accelerator_hours == pytest.approx(
        2 * training_cost(n, d, "A100-80GB", mfu=0.4).accelerator_hours
    )


def test_wall_days_divide_by_the_number_of_accelerators():
    one = training_cost(1e9, 2e10, "H100-SXM", mfu=0.4)
    many = training_cost(1e9, 2e10, "H100-SXM", mfu=0.4, n_accelerators=64)
    assert many.accelerator_hours == pytest.approx(one.accelerator_hours)
    assert many.wall_days == pytest.approx(one.wall_days / 64)
    assert many.cost_usd == pytest.approx(one.cost_usd)
    assert one.assumptions["mfu"] == 0.4 and one.assumptions["accelerator"] == "H100-SXM"


def test_compute_optimal_reproduces_chinchilla():
    # Hoffmann et al. (2022): Chinchilla, 70B parameters on 1.4T tokens (20 tokens/parameter).
    n, d = compute_optimal(training_flops(70e9, 1.4e12))
    assert n == pytest.approx(70e9, rel=1e-9) and d == pytest.approx(1.4e12, rel=1e-9)
    n2, d2 = compute_optimal(4 * training_flops(70e9, 1.4e12))
    assert n2 == pytest.approx(2 * n) and d2 == pytest.approx(2 * d)  # both grow as sqrt(C)


def test_decoding_one_stream_is_bandwidth_bound_and_batching_helps():
    # 7B parameters in bf16 on an A100-80GB: 14 GB read per step, 2,039 GB/s -> ~146 tokens/s.
    rate = decode_tokens_per_second(7e9, "A100-80GB", batch=1)
    assert rate.bound == "bandwidth"
    assert rate.tokens_per_s == pytest.approx(2039e9 / 14e9)
    assert rate.compute_bound_tokens_per_s == pytest.approx(312e12 * 0.5 / 14e9)
    big = decode_tokens_per_second(7e9, "A100-80GB", batch=1024)
    assert big.bound == "compute" and big.tokens_per_s == pytest.approx(312e12 * 0.5 / 14e9)
    # int8 weights halve the bytes read: twice the bandwidth-bound rate.
    int8 = decode_tokens_per_second(7e9, "A100-80GB", batch=1, bytes_per_param=1)
    assert int8.tokens_per_s == pytest.approx(2 * rate.tokens_per_s)


def test_inference_cost_per_million_tokens():
    cost = inference_cost_per_million_tokens(7e9, "A100-80GB", batch=1, price_per_hour_usd=2.0)
    assert cost == pytest.approx(2.0 / (2039e9 / 14e9 * 3600) * 1e6)
    assert inference_flops_per_token(7e9) == 14e9
    cheaper = inference_cost_per_million_tokens(7e9, "A100-80GB", batch=32, price_per_hour_usd=2.0)
    assert cheaper == pytest.approx(cost / 32)


def test_accelerator_table_is_consistent():
    for name, acc in ACCELERATORS.items():
        assert acc.name == name and accelerator(name) is acc and accelerator(acc) is acc
        assert acc.peak_flops > 1e13 and acc.bandwidth_bytes_per_s > 1e11 and acc.source
    # The dense rate is half the datasheet's "with sparsity" figure.
    assert ACCELERATORS["H100-SXM"].peak_flops == pytest.approx(1979e12 / 2, rel=1e-3)


def test_sensitivity_varies_one_argument():
    rows = sensitivity(training_cost, dict(n_params=1e9, n_tokens=2e10), "mfu", [0.2, 0.4])
    assert [v for v, _ in rows] == [0.2, 0.4]
    assert rows[0][1].cost_usd == pytest.approx(2 * rows[1][1].cost_usd)
    with pytest.raises(TypeError):
        sensitivity(training_cost, dict(n_params=1e9, n_tokens=2e10), "mfuu", [0.2])
