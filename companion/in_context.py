"""In-context learning at small scale: a Transformer that learns linear regression from its
prompt (Chapter 14b, §14b.3; after Garg et al. 2022).

Each training sequence is a fresh task: a weight vector :math:`w \\sim \\mathcal N(0, I_d)`
and points :math:`x_i \\sim \\mathcal N(0, I_d)`, :math:`y_i = w^\\top x_i`. The prompt
interleaves them, :math:`(x_1, y_1, x_2, y_2, \\dots)`, and at every :math:`x_k` token the
model predicts :math:`y_k` from the :math:`k-1` pairs before it. No weight is updated on a
new task: whatever "learning" happens, happens in the forward pass.

* :func:`sample_tasks`: a batch of tasks, xs (B, n, d) and ys (B, n);
* :func:`interleave`: (B, n, d), (B, n) -> tokens (B, 2n, d + 1); an x token is
  :math:`(0, x)`, a y token is :math:`(y, 0, \\dots, 0)`;
* :class:`InContextRegressor`: a linear read-in, the blocks of :mod:`companion.transformer`
  (causal, pre-norm), a linear read-out at the x tokens -> predictions (B, n);
* :func:`least_squares_predictions`: the baseline, the minimum-norm least-squares fit to the
  first :math:`k-1` pairs (the Bayes-optimal prediction for this noise-free Gaussian task);
  :func:`mean_predictions`: the weaker baseline that ignores :math:`x`, and
  :func:`nearest_neighbour_predictions`.

Inputs are validated with :mod:`companion.validation` (tensors are not converted; float64
inputs to the float32 model are refused, not cast).
"""

from __future__ import annotations

import torch
from torch import nn

from companion.transformer import Block, GPTConfig
from companion.validation import (
    check_floating,
    check_int,
    check_positive,
    check_positive_int,
    check_tensor,
    describe,
)

__all__ = [
    "sample_tasks",
    "interleave",
    "InContextRegressor",
    "train_in_context",
    "least_squares_predictions",
    "mean_predictions",
    "nearest_neighbour_predictions",
    "error_by_context_size",
]


def sample_tasks(
    batch: int, n_points: int, dim: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch`` random linear tasks -> xs (B, n, d), ys (B, n) float32, :math:`y = w^\\top x`."""
    B, n, d = (check_positive_int(v, k) for v, k in
               ((batch, "batch"), (n_points, "n_points"), (dim, "dim")))  # fmt: skip
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {describe(generator)}")
    w = torch.randn(B, d, 1, generator=generator)
    xs = torch.randn(B, n, d, generator=generator)
    return xs, (xs @ w)[..., 0]


def _check_pairs(xs, ys) -> tuple[int, int, int]:
    sizes: dict[str, int] = {}
    check_tensor(xs, "xs", ndim=3, dtype="float", shape=("B", "n", "d"), sizes=sizes)
    check_tensor(ys, "ys", ndim=2, dtype=xs.dtype, shape=("B", "n"), sizes=sizes)
    return sizes["B"], sizes["n"], sizes["d"]


def interleave(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """xs (B, n, d), ys (B, n) -> tokens (B, 2n, d + 1): (0, x_1), (y_1, 0), (0, x_2), ..."""
    B, n, d = _check_pairs(xs, ys)
    x_tok = torch.cat([xs.new_zeros(B, n, 1), xs], dim=-1)
    y_tok = torch.cat([ys[..., None], ys.new_zeros(B, n, d)], dim=-1)
    return torch.stack([x_tok, y_tok], dim=2).reshape(B, 2 * n, d + 1)


class InContextRegressor(nn.Module):
    """Read-in Linear(d + 1, C) + learned positions, ``n_layer`` causal pre-norm blocks,
    LayerNorm, read-out Linear(C, 1) at the x tokens: (B, n, d), (B, n) -> (B, n)."""

    def __init__(self, dim: int, max_points: int, n_layer: int = 2, n_head: int = 4,
                 n_embd: int = 64):  # fmt: skip
        super().__init__()
        self.dim = check_positive_int(dim, "dim")
        self.max_points = check_positive_int(max_points, "max_points")
        self.cfg = GPTConfig(vocab_size=1, block_size=2 * self.max_points, n_layer=n_layer,
                             n_head=n_head, n_embd=n_embd)  # fmt: skip
        self.read_in = nn.Linear(self.dim + 1, n_embd)
        self.pos = nn.Parameter(torch.randn(2 * self.max_points, n_embd) * 0.02)
        self.blocks = nn.ModuleList(Block(self.cfg) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd)
        self.read_out = nn.Linear(n_embd, 1)

    def forward(self, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        """Prediction of every y_k from (x_1, y_1, ..., x_{k-1}, y_{k-1}, x_k): (B, n).

        The causal mask guarantees that the prediction at x_k never sees y_k or later pairs.
        """
        check_floating(xs, "xs", like=self.read_in.weight)
        _, n, d = _check_pairs(xs, ys)
        if d != self.dim:
            raise ValueError(f"xs must have d={self.dim} features per point, got {d}")
        if n > self.max_points:
            raise ValueError(f"xs has {n} points but the model was built for max_points="
                             f"{self.max_points}")  # fmt: skip
        h = self.read_in(interleave(xs, ys)) + self.pos[: 2 * n]
        for block in self.blocks:
            h = block(h)
        return self.read_out(self.ln_f(h[:, 0::2]))[..., 0]  # the x tokens


def train_in_context(model: InContextRegressor, steps: int = 1000, batch: int = 64,
                     lr: float = 1e-3, seed: int = 0) -> list[float]:  # fmt: skip
    """Train on fresh random tasks every step (AdamW, cosine decay); return the loss per step.

    The loss is the mean squared error over every position, divided by d (the variance of y),
    so that predicting 0 scores about 1 whatever the dimension.
    """
    if not isinstance(model, InContextRegressor):
        raise TypeError(f"model must be an InContextRegressor, got {describe(model)}")
    steps, batch = check_positive_int(steps, "steps"), check_positive_int(batch, "batch")
    lr, seed = check_positive(lr, "lr"), check_int(seed, "seed", min=0)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps,
                                                pct_start=0.1)  # fmt: skip
    losses = []
    model.train()
    for _ in range(steps):
        xs, ys = sample_tasks(batch, model.max_points, model.dim, gen)
        loss = ((model(xs, ys) - ys) ** 2).mean() / model.dim
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    model.eval()
    return losses


def least_squares_predictions(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """(B, n, d), (B, n) -> (B, n): at position k, the minimum-norm least-squares fit to the
    k - 1 earlier pairs, evaluated at x_k (0 for k = 1, where there are no pairs)."""
    B, n, _ = _check_pairs(xs, ys)
    out = xs.new_zeros(B, n)
    for k in range(1, n):
        w = torch.linalg.pinv(xs[:, :k]) @ ys[:, :k, None]  # (B, d, 1), minimum norm if k < d
        out[:, k] = (xs[:, k : k + 1] @ w)[:, 0, 0]
    return out


def mean_predictions(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """(B, n): the mean of the earlier y's (0 at k = 1), a baseline that ignores x_k."""
    _check_pairs(xs, ys)
    csum = torch.cumsum(ys, dim=1)
    counts = torch.arange(1, ys.size(1) + 1, dtype=ys.dtype, device=ys.device)
    prev = torch.cat([ys.new_zeros(ys.size(0), 1), (csum / counts)[:, :-1]], dim=1)
    return prev


def nearest_neighbour_predictions(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """(B, n): the y of the closest earlier x (0 at k = 1)."""
    B, n, _ = _check_pairs(xs, ys)
    out = xs.new_zeros(B, n)
    for k in range(1, n):
        dist = torch.cdist(xs[:, k : k + 1], xs[:, :k])[:, 0]  # (B, k)
        out[:, k] = ys[:, :k].gather(1, dist.argmin(1, keepdim=True))[:, 0]
    return out


def error_by_context_size(predictions: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """(B, n) predictions and targets -> (n,) mean squared error at each position, over B."""
    check_tensor(predictions, "predictions", ndim=2, dtype="float")
    check_tensor(ys, "ys", ndim=2, dtype=predictions.dtype, shape=tuple(predictions.shape))
    return ((predictions - ys) ** 2).mean(0)
