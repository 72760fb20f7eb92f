"""companion.business.roi: API vs self-hosting vs fine-tuning, and the ROI of a use case."""

import math

import pytest

from companion.business import decode_tokens_per_second, training_cost
from companion.business.roi import (
    HOURS_PER_MONTH,
    api_monthly_cost,
    fine_tune_cost,
    roi,
    self_host_monthly_cost,
    support_benefit,
)


def test_api_cost_by_hand():
    # 10M input and 2M output tokens at $0.15 / $0.60 per million.
    assert api_monthly_cost(10e6, 2e6, 0.15, 0.60) == pytest.approx(1.5 + 1.2)
    # Wrong variant: one price for both directions.
    assert api_monthly_cost(10e6, 2e6, 0.15, 0.60) != pytest.approx(12e6 * 0.15 / 1e6)


def test_self_host_needs_whole_accelerators_and_replicas():
    # 7B in bf16 = 14 GB fits one 80 GB A100; a small load still pays for a whole month.
    small = self_host_monthly_cost(7e9, 1e6, "A100-80GB", price_per_hour_usd=2.0)
    assert small.replicas == 1 and small.accelerators_per_replica == 1
    assert small.monthly_usd == pytest.approx(2.0 * HOURS_PER_MONTH)
    # 70B in bf16 = 140 GB: ceil(140 / 64) = 3 accelerators per replica.
    big = self_host_monthly_cost(70e9, 1e6, "A100-80GB", price_per_hour_usd=2.0)
    assert big.accelerators_per_replica == 3
    # Replicas grow with demand: capacity per replica at 50% utilisation.
    rate = decode_tokens_per_second(7e9, "A100-80GB", 16).tokens_per_s
    demand = 10.5 * rate * 0.5 * HOURS_PER_MONTH * 3600
    busy = self_host_monthly_cost(7e9, demand, "A100-80GB", price_per_hour_usd=2.0)
    assert busy.replicas == 11
    assert busy.monthly_usd == pytest.approx(11 * 2.0 * HOURS_PER_MONTH)


def test_fine_tune_cost_full_and_lora():
    full = fine_tune_cost(7e9, 1e8, epochs=3, mfu=0.3, price_per_hour_usd=2.0)
    ref = training_cost(7e9, 3e8, "A100-80GB", mfu=0.3, price_per_hour_usd=2.0).cost_usd
    assert full == pytest.approx(ref)
    # By hand: 6 * 7e9 * 3e8 FLOPs at 312e12 * 0.3 FLOP/s, $2 per hour.
    assert full == pytest.approx(6 * 7e9 * 3e8 / (312e12 * 0.3) / 3600 * 2.0)
    lora = fine_tune_cost(7e9, 1e8, epochs=3, lora=True, mfu=0.3, price_per_hour_usd=2.0)
    assert lora == pytest.approx(full * 4 / 6)


def _npv_by_hand(benefit, cost, upfront, months, rate):
    return -upfront + sum((benefit - cost) / (1 + rate) ** (t / 12) for t in range(1, months + 1))


@pytest.mark.parametrize("rate", [0.0, 0.08])
def test_roi_npv_and_payback(rate):
    result = roi(5000.0, 1000.0, upfront_cost=20000.0, months=24, annual_discount_rate=rate)
    assert result.npv_usd == pytest.approx(_npv_by_hand(5000, 1000, 20000, 24, rate))
    cost = 20000 + sum(1000 / (1 + rate) ** (t / 12) for t in range(1, 25))
    assert result.roi == pytest.approx(result.npv_usd / cost)
    # 4,000 a month net pays back 20,000 in month 5 without discounting, later with it.
    assert result.payback_month == (5 if rate == 0 else 6)
    assert result.cumulative_usd[-1] == pytest.approx(result.npv_usd)


def test_roi_never_pays_back():
    result = roi(500.0, 1000.0, months=12)
    assert result.payback_month is None and result.roi == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="both be 0"):
        roi(1.0, 0.0)


def test_support_benefit():
    # 2,000 tickets, 4 minutes saved on the 60% of drafts used, at $30 an hour.
    assert support_benefit(2000, 4, 30, 0.6) == pytest.approx(2000 * 0.6 * 4 / 60 * 30)
    assert math.isclose(support_benefit(0, 4, 30), 0.0)
