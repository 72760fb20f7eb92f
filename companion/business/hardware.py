"""Accelerators the cost model knows: peak rate, memory, bandwidth, power - and an assumed price.

The rates are the vendors' datasheet figures for *dense* matrix arithmetic in the precision
named (the datasheets also print twice the figure "with sparsity"; training does not get it).
Prices are not facts: cloud prices differ by provider, region, commitment and month. The
``price_per_hour_usd`` below are round **assumptions** for illustration, never quotes; every
cost function takes ``price_per_hour_usd=`` so a reader can put in the price they pay.
"""

from __future__ import annotations

from dataclasses import dataclass

from companion.validation import check_choice

GB = 1e9


@dataclass(frozen=True)
class Accelerator:
    """One accelerator (one GPU), as the cost model sees it.

    ``peak_flops`` is the dense tensor-core rate in ``peak_dtype`` (FLOP/s);
    ``bandwidth_bytes_per_s`` the memory bandwidth; ``power_w`` the board power limit (TDP);
    ``price_per_hour_usd`` an assumption (see the module docstring); ``source`` where the
    hardware figures come from.
    """

    name: str
    peak_flops: float
    peak_dtype: str
    memory_bytes: float
    bandwidth_bytes_per_s: float
    power_w: float
    price_per_hour_usd: float
    source: str


ACCELERATORS: dict[str, Accelerator] = {
    a.name: a
    for a in (
        Accelerator(
            "V100-SXM2-32GB",
            125e12,
            "fp16",
            32 * GB,
            900 * GB,
            300,
            1.0,
            "NVIDIA V100 datasheet (2020): 125 TFLOPS tensor, 900 GB/s, 300 W",
        ),
        Accelerator(
            "A100-80GB",
            312e12,
            "bf16",
            80 * GB,
            2039 * GB,
            400,
            1.5,
            "NVIDIA A100 datasheet (2021): SXM 80GB, 312 TFLOPS bf16 dense, 2,039 GB/s, 400 W",
        ),
        Accelerator(
            "H100-SXM",
            989.4e12,
            "bf16",
            80 * GB,
            3350 * GB,
            700,
            2.5,
            "NVIDIA H100 datasheet (2023): SXM5, 1,979 TFLOPS bf16 with sparsity "
            "(989.4 dense), 3.35 TB/s, up to 700 W",
        ),
        Accelerator(
            "H200-SXM",
            989.4e12,
            "bf16",
            141 * GB,
            4800 * GB,
            700,
            3.5,
            "NVIDIA H200 datasheet (2024): SXM, 1,979 TFLOPS bf16 with sparsity "
            "(989.4 dense), 141 GB, 4.8 TB/s, up to 700 W",
        ),
        Accelerator(
            "L4",
            121e12,
            "bf16",
            24 * GB,
            300 * GB,
            72,
            0.8,
            "NVIDIA L4 datasheet (2023): 242 TFLOPS bf16 with sparsity (121 dense), "
            "24 GB, 300 GB/s, 72 W",
        ),
    )
}


def accelerator(name: str | Accelerator) -> Accelerator:
    """The :class:`Accelerator` called ``name`` (an :class:`Accelerator` is passed through)."""
    if isinstance(name, Accelerator):
        return name
    return ACCELERATORS[check_choice(name, "accelerator", ACCELERATORS)]
