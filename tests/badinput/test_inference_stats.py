"""Bad input to companion.inference_stats: rates outside (0, 1), counts larger than the
sample, power below alpha, a metric that is not a function."""

from __future__ import annotations

import numpy as np
import pytest

from companion import inference_stats as st
from companion.metrics import accuracy
from tests.badinput.harness import expect_clear_error

Y = np.array([0, 1, 1, 0, 1, 0, 1, 0])
P = np.array([0, 1, 0, 0, 1, 1, 1, 0])

CASES = [
    (lambda: st.ab_sample_size(10, 12), "p_a", ValueError),  # percentages, not rates
    (lambda: st.ab_sample_size(0.1, 1.0), "p_b", ValueError),
    (lambda: st.ab_sample_size(0.1, 0.1), "p_a", ValueError),
    (lambda: st.ab_sample_size(0.1, 0.12, alpha=0), "alpha", ValueError),
    (lambda: st.ab_sample_size(0.1, 0.12, power=80), "power", ValueError),
    (lambda: st.ab_sample_size(0.1, 0.12, power=0.04), "power", ValueError),
    (lambda: st.ab_sample_size(0.1, 0.12, alternative="greater"), "alternative", ValueError),
    (lambda: st.ab_sample_size(0.1, 0.12, alternative="smaller"), "alternative", ValueError),
    (lambda: st.ab_sample_size("0.1", 0.12), "p_a", TypeError),
    (lambda: st.ab_power(0.1, 0.12, 0), "n_per_group", ValueError),
    (lambda: st.ab_power(0.1, 0.12, 100.5), "n_per_group", TypeError),
    (lambda: st.ab_test(120, 100, 150, 1000), "successes_a", ValueError),
    (lambda: st.ab_test(-1, 100, 15, 100), "successes_a", ValueError),
    (lambda: st.ab_test(12, 100, 15.0, 100), "successes_b", TypeError),
    (lambda: st.ab_test(12, 0, 15, 100), "n_a", ValueError),
    (lambda: st.ab_test(0, 100, 0, 100), "successes_a", ValueError),
    (lambda: st.ab_test(12, 100, 15, 100, alpha=1.5), "alpha", ValueError),
    (lambda: st.mcnemar_exact(Y, P, P[:4]), "pred_b", ValueError),
    (lambda: st.mcnemar_exact(Y, P.astype(float) * 0.7, P), "pred_a", TypeError),
    (lambda: st.bootstrap_ci("accuracy", Y, P), "metric", TypeError),
    (lambda: st.bootstrap_ci(accuracy, Y, P[:3]), "y_score", ValueError),
    (lambda: st.bootstrap_ci(accuracy, Y, P, n_boot=10), "n_boot", ValueError),
    (lambda: st.bootstrap_ci(accuracy, Y, P, level=95), "level", ValueError),
    (lambda: st.bootstrap_ci(accuracy, Y, P, level=1.0), "level", ValueError),
    (lambda: st.bootstrap_ci(accuracy, Y, P, seed=-2), "seed", ValueError),
    (lambda: st.bootstrap_ci(accuracy, Y.astype(float), P), "y_true", TypeError),
]


@pytest.mark.parametrize(("call", "name", "kind"), CASES)
def test_bad_input_is_a_clear_error(call, name, kind):
    expect_clear_error(call, name, kind=kind)


def test_numpy_counts_are_accepted():
    assert st.ab_test(np.int64(120), 1000, 150, np.int32(1000)) == st.ab_test(120, 1000, 150, 1000)
