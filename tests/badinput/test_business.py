"""Bad input to companion.business: each mistake gets a clear error naming the argument."""

import math

import pytest

from companion.business import (
    compute_optimal,
    decode_tokens_per_second,
    sensitivity,
    training_cost,
    training_flops,
)
from tests.badinput.harness import expect_clear_error


@pytest.mark.parametrize(
    "call, name, kind",
    [
        (lambda: training_flops(-1, 10), "n_params", ValueError),
        (lambda: training_flops(1e9, math.nan), "n_tokens", ValueError),
        (lambda: training_cost(1e9, 1e10, mfu=1.5), "mfu", ValueError),
        (lambda: training_cost(1e9, 1e10, mfu=0), "mfu", ValueError),
        (lambda: training_cost(1e9, 1e10, pue=0.9), "pue", ValueError),
        (lambda: training_cost(1e9, 1e10, n_accelerators=0), "n_accelerators", ValueError),
        (lambda: training_cost(1e9, 1e10, n_accelerators=2.5), "n_accelerators", TypeError),
        (lambda: training_cost(1e9, 1e10, accelerator="H100"), "accelerator", ValueError),
        (lambda: training_cost(1e9, 1e10, price_per_hour_usd=-2), "price_per_hour_usd", ValueError),
        (lambda: training_cost("7B", 1e10), "n_params", TypeError),
        (lambda: compute_optimal(0), "compute_flops", ValueError),
        (lambda: decode_tokens_per_second(7e9, batch=True), "batch", TypeError),
        (lambda: decode_tokens_per_second(7e9, bytes_per_param=0), "bytes_per_param", ValueError),
        (lambda: sensitivity(training_cost, {}, "mfu", []), "values", ValueError),
    ],
)
def test_bad_input_gets_a_clear_error(call, name, kind):
    expect_clear_error(call, name, kind=kind)
