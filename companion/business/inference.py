"""Inference cost: about 2·N FLOPs per generated token, and why decoding is bandwidth-bound.

Generating one token runs the model forward once: about 2 FLOPs per parameter (a multiply
and an add per weight; attention over the context adds a little more, ignored here). On one
accelerator two limits hold at once, and the smaller one wins:

* compute: ``peak_flops · mfu / (2N)`` tokens per second;
* memory bandwidth: each decoding step reads every weight once (``N · bytes_per_param``
  bytes) and produces one token for each of the ``batch`` sequences served together, so at
  most ``batch · bandwidth / (N · bytes_per_param)`` tokens per second.

At batch 1 the bandwidth limit is far below the compute limit for every GPU in the table:
decoding one stream is memory-bound, which is why servers batch requests. The KV cache's
reads grow with context and batch and are ignored here, so the bandwidth limit is an upper
bound on the rate.
"""

from __future__ import annotations

from dataclasses import dataclass

from companion.business.hardware import Accelerator
from companion.business.hardware import accelerator as _accelerator
from companion.validation import check_positive, check_positive_int, check_real


def inference_flops_per_token(n_params: float) -> float:
    """Forward FLOPs per generated token: about 2·N."""
    return 2.0 * check_positive(n_params, "n_params")


@dataclass(frozen=True)
class DecodeRate:
    """Tokens per second of one accelerator, with both limits and which one binds."""

    tokens_per_s: float
    compute_bound_tokens_per_s: float
    bandwidth_bound_tokens_per_s: float
    bound: str  # "compute" or "bandwidth"


def decode_tokens_per_second(
    n_params: float,
    accelerator: str | Accelerator = "A100-80GB",
    batch: int = 1,
    bytes_per_param: float = 2.0,
    mfu: float = 0.5,
) -> DecodeRate:
    """Upper bound on decoding throughput (all sequences together), and which limit binds."""
    acc = _accelerator(accelerator)
    n = check_positive(n_params, "n_params")
    batch = check_positive_int(batch, "batch")
    bytes_per_param = check_positive(bytes_per_param, "bytes_per_param")
    mfu = check_real(mfu, "mfu", low=0.0, high=1.0, low_open=True)
    compute = acc.peak_flops * mfu / inference_flops_per_token(n)
    bandwidth = batch * acc.bandwidth_bytes_per_s / (n * bytes_per_param)
    bound = "compute" if compute <= bandwidth else "bandwidth"
    return DecodeRate(min(compute, bandwidth), compute, bandwidth, bound)


def inference_cost_per_million_tokens(
    n_params: float,
    accelerator: str | Accelerator = "A100-80GB",
    batch: int = 1,
    bytes_per_param: float = 2.0,
    mfu: float = 0.5,
    price_per_hour_usd: float | None = None,
) -> float:
    """US dollars per million generated tokens at the rate of :func:`decode_tokens_per_second`."""
    acc = _accelerator(accelerator)
    price = acc.price_per_hour_usd if price_per_hour_usd is None else price_per_hour_usd
    price = check_positive(price, "price_per_hour_usd")
    rate = decode_tokens_per_second(n_params, acc, batch, bytes_per_param, mfu).tokens_per_s
    return price / (rate * 3600.0) * 1e6
