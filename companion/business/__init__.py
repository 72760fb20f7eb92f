"""What training and serving a model costs: FLOPs -> accelerator-hours -> energy -> money.

Shared by Chapter 9 (what the famous training runs cost), Chapter 13 (inference cost,
build vs buy, return on investment) and Chapter 14 (compute and energy limits). Every
assumption is an explicit, adjustable argument; the defaults are stated where they are
defined, with their source, or marked as assumptions where no source can fix them (prices).
"""

from companion.business.hardware import ACCELERATORS, Accelerator, accelerator
from companion.business.inference import (
    DecodeRate,
    decode_tokens_per_second,
    inference_cost_per_million_tokens,
    inference_flops_per_token,
)
from companion.business.roi import (
    ROI,
    SelfHostCost,
    api_monthly_cost,
    fine_tune_cost,
    roi,
    self_host_monthly_cost,
    support_benefit,
)
from companion.business.sensitivity import sensitivity
from companion.business.training import (
    TrainingCost,
    compute_optimal,
    training_cost,
    training_flops,
)

__all__ = [
    "ACCELERATORS",
    "Accelerator",
    "accelerator",
    "DecodeRate",
    "decode_tokens_per_second",
    "inference_cost_per_million_tokens",
    "inference_flops_per_token",
    "ROI",
    "SelfHostCost",
    "api_monthly_cost",
    "fine_tune_cost",
    "roi",
    "self_host_monthly_cost",
    "support_benefit",
    "sensitivity",
    "TrainingCost",
    "compute_optimal",
    "training_cost",
    "training_flops",
]
