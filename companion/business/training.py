"""Training cost: C = 6·N·D FLOPs, then accelerator-hours, days, energy and money.

Chapter 7 derives about 6 FLOPs per parameter per training token (2 forward, 4 backward);
Kaplan et al. (2020) use C ≈ 6ND. At a model-FLOPs utilisation ``mfu`` (the share of the
peak rate the model's arithmetic actually gets; 30-50% is typical of large runs), one
accelerator does ``peak_flops · mfu`` useful FLOP/s, so

    accelerator-hours = 6ND / (peak · mfu) / 3600,
    energy (kWh)     = accelerator-hours · power (kW) · PUE,
    cost             = accelerator-hours · price per hour.

PUE (power usage effectiveness) multiplies the chips' energy by the data centre's overhead
(cooling, power conversion); 1.1 is typical of large modern data centres. The energy uses the
board power limit, an upper bound on what the chips draw on average.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from companion.business.hardware import Accelerator
from companion.business.hardware import accelerator as _accelerator
from companion.validation import check_positive, check_positive_int, check_real


def training_flops(n_params: float, n_tokens: float) -> float:
    """Training FLOPs of a dense Transformer: 6·N·D (Chapter 7; Kaplan et al. 2020)."""
    return 6.0 * check_positive(n_params, "n_params") * check_positive(n_tokens, "n_tokens")


@dataclass(frozen=True)
class TrainingCost:
    """The result of :func:`training_cost`; ``assumptions`` lists every input used."""

    flops: float
    accelerator_hours: float
    wall_days: float
    energy_kwh: float
    cost_usd: float
    assumptions: dict = field(default_factory=dict)


def training_cost(
    n_params: float,
    n_tokens: float,
    accelerator: str | Accelerator = "A100-80GB",
    mfu: float = 0.4,
    price_per_hour_usd: float | None = None,
    pue: float = 1.1,
    n_accelerators: int = 1,
) -> TrainingCost:
    """FLOPs, accelerator-hours, wall-clock days on ``n_accelerators``, energy and cost.

    ``price_per_hour_usd`` (per accelerator) defaults to the table's assumed price.
    """
    acc = _accelerator(accelerator)
    mfu = check_real(mfu, "mfu", low=0.0, high=1.0, low_open=True)
    pue = check_real(pue, "pue", low=1.0)
    n_accelerators = check_positive_int(n_accelerators, "n_accelerators")
    price = acc.price_per_hour_usd if price_per_hour_usd is None else price_per_hour_usd
    price = check_positive(price, "price_per_hour_usd")
    flops = training_flops(n_params, n_tokens)
    hours = flops / (acc.peak_flops * mfu) / 3600.0
    return TrainingCost(
        flops=flops,
        accelerator_hours=hours,
        wall_days=hours / n_accelerators / 24.0,
        energy_kwh=hours * acc.power_w / 1000.0 * pue,
        cost_usd=hours * price,
        assumptions=dict(
            n_params=float(n_params),
            n_tokens=float(n_tokens),
            accelerator=acc.name,
            peak_flops=acc.peak_flops,
            mfu=mfu,
            price_per_hour_usd=price,
            power_w=acc.power_w,
            pue=pue,
            n_accelerators=n_accelerators,
        ),
    )


def compute_optimal(compute_flops: float, tokens_per_param: float = 20.0) -> tuple[float, float]:
    """(N, D) that spend ``compute_flops`` = 6·N·D with D = r·N tokens per parameter.

    r ≈ 20 is the rule of thumb read from Hoffmann et al. (2022) (Chinchilla: 70B parameters,
    1.4T tokens). Solving 6·N·(r·N) = C gives N = sqrt(C / (6r)).
    """
    c = check_positive(compute_flops, "compute_flops")
    r = check_positive(tokens_per_param, "tokens_per_param")
    n = math.sqrt(c / (6.0 * r))
    return n, r * n
