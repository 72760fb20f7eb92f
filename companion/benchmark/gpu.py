"""Small-GPT training throughput and model-FLOPs utilisation (MFU) on a GPU.

MFU is the share of the hardware's peak arithmetic rate that the model's own FLOPs use:

    MFU = (tokens per second × FLOPs per token) / peak FLOP/s,

with the FLOPs per token of Chapter 7, eq. (ch07-flops): C_token ≈ 6N + 12·L·T·d, where N counts
the weights of every matrix product (the LM head included) and 12·L·T·d is attention's QKᵀ and
(weights)·V, forward and backward, for a context of T tokens
(:func:`companion.transformer.estimate_flops_per_token`; Kaplan et al. 2020 count only QKᵀ).
The attention term counts the whole T×T score matrix, as the chapter does (and nanoGPT's
``estimate_mfu``), although a causal kernel may skip the masked half; recomputed activations
are not model FLOPs and do not count (the definition of MFU in the PaLM paper, Chowdhery et
al. 2022).

The peak is the GPU's *dense* bf16 tensor-core rate from NVIDIA's datasheets, which print
twice it "with sparsity" (H100 SXM: 132 SMs × 4,096 dense bf16 FLOP per clock × 1.83 GHz =
989.4e12); :data:`PEAK_BF16_FLOPS` lists them with their source. On an unknown GPU,
or the CPU, the MFU is ``None``.

:func:`train_throughput` trains a :class:`companion.transformer.GPT` with bf16 autocast, the
fused attention path (``F.scaled_dot_product_attention``) and, optionally, ``torch.compile``; it
runs on the CPU too (compile off), which is how its code path is tested without a GPU.
"""

from __future__ import annotations

import time
from dataclasses import asdict

import torch
import torch.nn.functional as F

from companion.validation import (
    check_bool,
    check_int,
    check_nonnegative,
    check_positive,
    check_positive_int,
)

# (substring(s) that must all occur in torch.cuda.get_device_name(), dense bf16 FLOP/s, source)
PEAK_BF16_FLOPS: list[tuple[tuple[str, ...], float, str]] = [
    (("H100", "PCIe"), 756.5e12, "NVIDIA H100 datasheet: PCIe, 1,513 TFLOPS bf16 with sparsity"),
    (("H100", "NVL"), 835.5e12, "NVIDIA H100 datasheet: NVL, 1,671 TFLOPS bf16 with sparsity"),
    (("H100",), 989.4e12, "NVIDIA H100 datasheet: SXM5, 1,979 TFLOPS bf16 with sparsity"),
    (("H200",), 989.4e12, "NVIDIA H200 datasheet: SXM, 1,979 TFLOPS bf16 with sparsity"),
    (("A100",), 312e12, "NVIDIA A100 datasheet: 312 TFLOPS bf16 dense (624 with sparsity)"),
    (("L4",), 121e12, "NVIDIA L4 datasheet: 242 TFLOPS bf16 with sparsity"),
]

# Two small GPTs for the throughput runs: a character-level model like Chapter 7's (at GPU
# scale, as nanoGPT's Shakespeare configuration) and GPT-2 small (vocabulary padded to a
# multiple of 64, as nanoGPT does, so the LM head's matrix has friendly shapes).
MODEL_SIZES = {
    "char-6L-384": dict(vocab_size=128, block_size=256, n_layer=6, n_head=6, n_embd=384),
    "gpt2-small-124M": dict(vocab_size=50304, block_size=1024, n_layer=12, n_head=12, n_embd=768),
}
BATCH = {"char-6L-384": 64, "gpt2-small-124M": 16}


def peak_bf16_flops(device_name: str) -> tuple[float | None, str]:
    """(peak dense bf16 FLOP/s, source) for a GPU name; (None, reason) when unknown."""
    for needles, peak, source in PEAK_BF16_FLOPS:
        if all(n.lower() in device_name.lower() for n in needles):
            return peak, source
    return None, f"peak rate of {device_name!r} not in the table: MFU not computed"


def flops_per_token(cfg, seq_len: int) -> int:
    """Training FLOPs per token of a GPT, eq. (ch07-flops): 6N + 12·L·T·d."""
    from companion.transformer import estimate_flops_per_token

    return estimate_flops_per_token(cfg, seq_len=seq_len, training=True)


def mfu(tokens_per_s: float, flops_token: float, peak_flops: float | None) -> float | None:
    """Model-FLOPs utilisation: achieved model FLOP/s over the peak rate (None if unknown)."""
    tokens_per_s = check_nonnegative(tokens_per_s, "tokens_per_s")
    flops_token = check_positive(flops_token, "flops_token")
    if peak_flops is None:
        return None
    return tokens_per_s * flops_token / check_positive(peak_flops, "peak_flops")


def train_throughput(
    size: str | dict,
    device="cuda",
    batch: int | None = None,
    steps: int = 20,
    warmup: int = 5,
    compile: bool = True,
    autocast: bool = True,
) -> dict:
    """Train a GPT of the given size on random tokens; return tokens/s and what was run.

    bf16 autocast (``autocast``), the fused attention path, AdamW, and ``torch.compile``
    (``compile``) as a fast training loop would use them. Random tokens: the speed of a step
    does not depend on what the tokens say. ``warmup`` steps (compilation included) are not
    timed; the tokens of the ``steps`` timed steps are counted.
    """
    from companion.benchmark.timing import synchronize
    from companion.transformer import GPT, GPTConfig

    if isinstance(size, str) and size not in MODEL_SIZES:
        raise ValueError(f"size must be one of {sorted(MODEL_SIZES)} or a dict, got {size!r}")
    steps = check_positive_int(steps, "steps")
    warmup = check_int(warmup, "warmup", min=0)
    compile, autocast = check_bool(compile, "compile"), check_bool(autocast, "autocast")
    if batch is not None:
        batch = check_positive_int(batch, "batch")
    name = size if isinstance(size, str) else "custom"
    cfg = GPTConfig(**(MODEL_SIZES[size] if isinstance(size, str) else size))
    batch = batch or BATCH.get(name, 8)
    device = torch.device(device)
    torch.manual_seed(0)
    model = GPT(cfg, fused=True).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, fused=device.type == "cuda")
    step_model = torch.compile(model) if compile else model
    T = cfg.block_size
    data = torch.randint(0, cfg.vocab_size, (batch, T + 1), device=device)
    x, y = data[:, :-1], data[:, 1:]

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            logits = step_model(x)
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    for _ in range(warmup):
        step()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        loss = step()
    synchronize(device)
    seconds = time.perf_counter() - start
    tokens_per_s = steps * batch * T / seconds
    fpt = flops_per_token(cfg, T)
    if device.type == "cuda":
        peak, source = peak_bf16_flops(torch.cuda.get_device_name(device))
    else:
        peak, source = None, f"no peak rate for device type {device.type!r}: MFU not computed"
    return {
        "model": name,
        "config": asdict(cfg),
        "batch": batch,
        "seq_len": T,
        "device": str(device),
        "compile": compile,
        "autocast_bf16": autocast,
        "steps": steps,
        "seconds": seconds,
        "final_loss": float(loss.detach()),
        "tokens_per_s": tokens_per_s,
        "flops_per_token": fpt,
        "achieved_flops": tokens_per_s * fpt,
        "peak_bf16_flops": peak,
        "peak_source": source,
        "mfu": mfu(tokens_per_s, fpt, peak),
    }


def run_gpu(sizes=tuple(MODEL_SIZES), steps: int = 20) -> dict:
    """The GPU part of ``make bench``: throughput and MFU of each size (CUDA only)."""
    if not torch.cuda.is_available():
        return {"status": "not measured: no CUDA GPU on this machine", "runs": []}
    return {
        "status": "measured",
        "device_name": torch.cuda.get_device_name(),
        "runs": [train_throughput(s, "cuda", steps=steps) for s in sizes],
    }
