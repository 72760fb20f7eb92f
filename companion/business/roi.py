"""Build, fine-tune or call an API? And does the use case pay? (Chapter 13, section 13.5).

Three ways to get a language model into a product, each priced per month from explicit,
adjustable assumptions:

* **API** (:func:`api_monthly_cost`): pay per token, ``price_in``/``price_out`` US dollars
  per million input/output tokens; nothing up front.
* **Self-hosted open weights** (:func:`self_host_monthly_cost`): rent accelerators around the
  clock. Replicas needed = ceil(demand / (capacity · utilisation)), where capacity is the
  decoding rate of :func:`companion.business.decode_tokens_per_second`; each replica needs
  enough accelerators to hold the weights (``n_params · bytes_per_param`` within
  ``memory_fraction`` of each one's memory; the rest is for the KV cache and activations).
* **Fine-tune, then self-host** (:func:`fine_tune_cost`): a one-off training cost of
  ``k · N · D`` FLOPs, ``k = 6`` for full fine-tuning and about ``k = 4`` for LoRA (the
  frozen weights need no weight gradients: forward 2ND plus the backward pass through the
  activations 2ND; the adapters' own cost is negligible), priced like
  :func:`companion.business.training_cost`.
* **Build from scratch** is :func:`companion.business.training_cost` for a pre-training run.

:func:`roi` then compares a use case's monthly benefit with these costs over a horizon:
net present value at an annual discount rate, return on investment (net gain / cost) and the
payback month. Prices are assumptions, not quotes: every function takes them as arguments.
Policy: every argument is validated with :mod:`companion.validation`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from companion.business.hardware import Accelerator
from companion.business.hardware import accelerator as _accelerator
from companion.business.inference import decode_tokens_per_second
from companion.business.training import training_cost
from companion.validation import (
    check_bool,
    check_nonnegative,
    check_positive,
    check_positive_int,
    check_real,
)

HOURS_PER_MONTH = 730.0  # 8,760 h / 12
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600.0


def api_monthly_cost(
    tokens_in: float, tokens_out: float, price_in: float, price_out: float
) -> float:
    """US dollars per month for ``tokens_in``/``tokens_out`` tokens at per-million prices."""
    tokens_in = check_nonnegative(tokens_in, "tokens_in")
    tokens_out = check_nonnegative(tokens_out, "tokens_out")
    price_in = check_nonnegative(price_in, "price_in")
    price_out = check_nonnegative(price_out, "price_out")
    return (tokens_in * price_in + tokens_out * price_out) / 1e6


@dataclass(frozen=True)
class SelfHostCost:
    monthly_usd: float
    replicas: int
    accelerators_per_replica: int
    tokens_per_s_per_replica: float
    assumptions: dict


def self_host_monthly_cost(
    n_params: float,
    tokens_out: float,
    accelerator: str | Accelerator = "A100-80GB",
    *,
    batch: int = 16,
    bytes_per_param: float = 2.0,
    mfu: float = 0.5,
    utilisation: float = 0.5,
    memory_fraction: float = 0.8,
    price_per_hour_usd: float | None = None,
) -> SelfHostCost:
    """Accelerators rented all month to generate ``tokens_out`` tokens (at least one replica).

    ``utilisation``: the average share of the capacity the traffic uses (traffic has peaks;
    a server sized for the mean is overloaded half the time).
    """
    acc = _accelerator(accelerator)
    n = check_positive(n_params, "n_params")
    tokens_out = check_nonnegative(tokens_out, "tokens_out")
    batch = check_positive_int(batch, "batch")
    bytes_per_param = check_positive(bytes_per_param, "bytes_per_param")
    utilisation = check_real(utilisation, "utilisation", low=0.0, high=1.0, low_open=True)
    memory_fraction = check_real(
        memory_fraction, "memory_fraction", low=0.0, high=1.0, low_open=True
    )
    price = acc.price_per_hour_usd if price_per_hour_usd is None else price_per_hour_usd
    price = check_positive(price, "price_per_hour_usd")
    per_replica = math.ceil(n * bytes_per_param / (memory_fraction * acc.memory_bytes))
    # Tensor parallelism over k accelerators: k times the bandwidth and compute (ideal).
    rate = per_replica * decode_tokens_per_second(n, acc, batch, bytes_per_param, mfu).tokens_per_s
    replicas = max(1, math.ceil(tokens_out / (rate * utilisation * SECONDS_PER_MONTH)))
    monthly = replicas * per_replica * price * HOURS_PER_MONTH
    assumptions = dict(n_params=n, tokens_out=tokens_out, accelerator=acc.name, batch=batch,
                       bytes_per_param=bytes_per_param, mfu=mfu, utilisation=utilisation,
                       memory_fraction=memory_fraction, price_per_hour_usd=price)  # fmt: skip
    return SelfHostCost(monthly, replicas, per_replica, rate, assumptions)


def fine_tune_cost(
    n_params: float,
    n_tokens: float,
    *,
    epochs: int = 1,
    lora: bool = False,
    accelerator: str | Accelerator = "A100-80GB",
    mfu: float = 0.3,
    price_per_hour_usd: float | None = None,
) -> float:
    """One-off US dollars to fine-tune on ``n_tokens`` tokens for ``epochs`` epochs."""
    epochs = check_positive_int(epochs, "epochs")
    lora = check_bool(lora, "lora")
    full = training_cost(n_params, n_tokens * epochs, accelerator, mfu=mfu,
                         price_per_hour_usd=price_per_hour_usd)  # fmt: skip
    return full.cost_usd * (4.0 / 6.0 if lora else 1.0)


@dataclass(frozen=True)
class ROI:
    npv_usd: float  # net present value of benefit - costs over the horizon
    roi: float  # (discounted benefit - discounted cost) / discounted cost
    payback_month: int | None  # first month whose cumulative net value is >= 0; None if never
    cumulative_usd: list[float]  # cumulative discounted net value at the end of each month


def roi(
    monthly_benefit: float,
    monthly_cost: float,
    *,
    upfront_cost: float = 0.0,
    months: int = 24,
    annual_discount_rate: float = 0.0,
) -> ROI:
    """Return on investment of a use case: benefit and cost each month, ``upfront_cost`` at 0.

    Month ``t`` (1..months) is discounted by ``(1 + r)^(-t/12)``.
    """
    benefit = check_nonnegative(monthly_benefit, "monthly_benefit")
    cost = check_nonnegative(monthly_cost, "monthly_cost")
    upfront = check_nonnegative(upfront_cost, "upfront_cost")
    months = check_positive_int(months, "months")
    rate = check_real(annual_discount_rate, "annual_discount_rate", low=0.0, high=1.0)
    if upfront + cost == 0:
        raise ValueError("monthly_cost and upfront_cost cannot both be 0: the ROI is undefined")
    factors = [(1.0 + rate) ** (-t / 12.0) for t in range(1, months + 1)]
    total_cost = upfront + cost * sum(factors)
    total_benefit = benefit * sum(factors)
    cumulative, running, payback = [], -upfront, None
    for t, f in enumerate(factors, start=1):
        running += (benefit - cost) * f
        cumulative.append(running)
        if payback is None and running >= 0:
            payback = t
    return ROI(total_benefit - total_cost, (total_benefit - total_cost) / total_cost, payback,
               cumulative)  # fmt: skip


def support_benefit(
    tickets_per_month: float,
    minutes_saved_per_ticket: float,
    staff_cost_per_hour: float,
    acceptance_rate: float = 1.0,
) -> float:
    """Monthly US dollars saved by an assistant that drafts answers to support tickets.

    Only the share ``acceptance_rate`` of its drafts is used; the rest saves nothing.
    """
    tickets = check_nonnegative(tickets_per_month, "tickets_per_month")
    minutes = check_nonnegative(minutes_saved_per_ticket, "minutes_saved_per_ticket")
    wage = check_nonnegative(staff_cost_per_hour, "staff_cost_per_hour")
    accept = check_real(acceptance_rate, "acceptance_rate", low=0.0, high=1.0)
    return tickets * accept * minutes / 60.0 * wage
