"""A character-level recurrent language model trained with truncated BPTT (Chapter 6, Section 6.8).

The text is one long stream of token ids. **Truncated backpropagation through time**
splits it into ``batch_size`` parallel streams (rows of a ``(B, N)`` matrix) and walks
along them in windows of ``bptt`` steps. The hidden state is *carried* from one window to
the next, so the model conditions on everything it has read, but it is *detached*
between windows, so gradients flow back at most ``bptt`` steps and the cost of a step
does not grow with the length of the text.

Held-out text is scored the same way (state carried, nothing detached because nothing
is differentiated): the mean negative log-likelihood of tokens ``1..n-1`` in nats, the
same tokens that :class:`companion.ngram.NGramLM` scores, so the two are comparable.
Sampling stays on the model's device and moves the generated ids to the host once.

Input policy: token ids are integer tensors (int64 or int32) with values in
``[0, vocab_size)``; a NumPy array or list is refused with a ``TypeError`` saying how to
convert it. Counts (``batch_size``, ``bptt``, ``epochs``, ``n``) are positive integers,
``lr``, ``temperature`` and ``max_grad_norm`` finite positive numbers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from companion.validation import (
    check_index_tensor,
    check_positive,
    check_positive_int,
    describe,
)


class CharLSTM(nn.Module):
    """Embedding -> ``nn.LSTM`` -> linear layer to the vocabulary.

    ``forward(ids, state)``: ids (B, T) int -> logits (B, T, V) and the final state
    ``(h, c)``, each (num_layers, B, H). ``forward`` checks the dtype and shape of ``ids``
    but not their range, which would read the values (a host synchronisation at every
    generated token); :func:`train_tbptt`, :func:`evaluate_loss` and :func:`sample` check
    the range once, before their loops.
    """

    def __init__(self, vocab_size: int, embed: int = 32, hidden: int = 128, num_layers: int = 1):
        super().__init__()
        self.vocab_size = check_positive_int(vocab_size, "vocab_size")
        self.embed = nn.Embedding(vocab_size, check_positive_int(embed, "embed"))
        hidden = check_positive_int(hidden, "hidden")
        num_layers = check_positive_int(num_layers, "num_layers")
        self.lstm = nn.LSTM(embed, hidden, num_layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, ids, state=None):
        ids = check_index_tensor(ids, "ids", self.vocab_size, shape=("B", "T"), check_range=False)
        out, state = self.lstm(self.embed(ids), state)  # (B, T, H)
        return self.head(out), state


def _device(model):
    return next(model.parameters()).device


def _check_model(model):
    if not isinstance(model, CharLSTM):
        raise TypeError(f"model must be a CharLSTM, got {describe(model)}")
    return model


def stream_batches(ids, batch_size: int) -> torch.Tensor:
    """(n,) ids -> (batch_size, n // batch_size): row b is the b-th contiguous piece of the text."""
    ids = check_index_tensor(ids, "ids", shape=(None,))
    batch_size = check_positive_int(batch_size, "batch_size")
    N = len(ids) // batch_size
    if N < 2:
        raise ValueError(
            f"ids holds {len(ids)} tokens, too few for batch_size={batch_size} streams"
        )
    return ids[: batch_size * N].long().view(batch_size, N)


def detach_state(state):
    """Cut the graph behind a carried state (truncation), keeping its values."""
    return tuple(s.detach() for s in state)


def train_tbptt(
    model: CharLSTM,
    ids: torch.Tensor,
    *,
    batch_size: int,
    bptt: int,
    epochs: int,
    lr: float = 1e-2,
    max_grad_norm: float = 1.0,
    optimizer: torch.optim.Optimizer | None = None,
) -> list[float]:
    """Train with truncated BPTT and a carried state; return the mean training loss per epoch.

    ``ids``: (n,) token ids of the training text. ``optimizer`` defaults to Adam with ``lr``;
    pass one to continue training across calls (e.g. one epoch at a time, validating in
    between). Losses are accumulated on the device and read once per epoch (no host
    synchronisation inside the loop).
    """
    model = _check_model(model)
    ids = check_index_tensor(ids, "ids", model.vocab_size, shape=(None,))
    bptt, epochs = check_positive_int(bptt, "bptt"), check_positive_int(epochs, "epochs")
    lr, max_grad_norm = check_positive(lr, "lr"), check_positive(max_grad_norm, "max_grad_norm")
    device = _device(model)
    streams = stream_batches(ids, batch_size).to(device)  # (B, N)
    if optimizer is None:
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    elif not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {describe(optimizer)}")
    history = []
    for _ in range(epochs):
        model.train()
        state, total, count = None, torch.zeros((), device=device), 0
        for j in range(0, streams.shape[1] - 1, bptt):
            x = streams[:, j : j + bptt]  # (B, k)
            y = streams[:, j + 1 : j + 1 + bptt]  # the next characters
            x = x[:, : y.shape[1]]
            logits, state = model(x, state)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # through this window only: the state came in detached
            nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            optimizer.step()
            state = detach_state(state)  # carry the values, cut the graph
            total += loss.detach() * y.numel()
            count += y.numel()
        history.append(float(total) / count)  # one host sync per epoch
    return history


@torch.no_grad()
def evaluate_loss(model: CharLSTM, ids: torch.Tensor, chunk: int = 512) -> float:
    """Mean NLL (nats) of tokens ``1..n-1`` of ``ids`` (n,), reading the text as one stream.

    The state is carried across chunks of ``chunk`` steps, so the result equals one pass
    over the whole text (chunks only bound the memory).
    """
    model = _check_model(model)
    ids = check_index_tensor(ids, "ids", model.vocab_size, shape=(None,))
    chunk = check_positive_int(chunk, "chunk")
    if len(ids) < 2:
        raise ValueError(f"ids must hold at least 2 tokens to score, got {len(ids)}")
    was_training = model.training
    model.eval()
    ids = ids.to(_device(model)).long()
    state, total = None, torch.zeros((), dtype=torch.float64, device=ids.device)
    for j in range(0, len(ids) - 1, chunk):
        x = ids[j : j + chunk]
        y = ids[j + 1 : j + 1 + chunk]
        logits, state = model(x[: len(y)][None], state)
        total += F.cross_entropy(logits[0], y, reduction="sum").double()
    model.train(was_training)
    return float(total) / (len(ids) - 1)


@torch.no_grad()
def sample(
    model: CharLSTM,
    prompt: torch.Tensor,
    n: int,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
):
    """Generate ``n`` tokens after ``prompt`` (k,) by sampling from ``softmax(logits / T)``.

    Returns ``(new_ids, mean_entropy)``: the (n,) generated ids on the CPU and the mean
    entropy (nats) of the sampling distributions. Everything stays on the model's device
    until the end (one transfer); ``generator`` must live on that device.
    """
    model = _check_model(model)
    prompt = check_index_tensor(prompt, "prompt", model.vocab_size, shape=(None,))
    if len(prompt) == 0:
        raise ValueError("prompt must hold at least one token")
    n = check_positive_int(n, "n")
    temperature = check_positive(temperature, "temperature")
    device = _device(model)
    if generator is not None and generator.device.type != device.type:
        raise ValueError(f"generator is on {generator.device} but the model on {device}")
    was_training = model.training
    model.eval()
    logits, state = model(prompt.to(device).long()[None], None)
    out = torch.empty(n, dtype=torch.long, device=device)
    entropy = torch.zeros((), device=device)
    for i in range(n):
        log_p = torch.log_softmax(logits[0, -1] / temperature, dim=-1)  # (V,)
        entropy -= (log_p.exp() * log_p).sum()
        nxt = torch.multinomial(log_p.exp(), 1, generator=generator)  # (1,), on the device
        out[i] = nxt[0]
        logits, state = model(nxt[None], state)
    model.train(was_training)
    return out.cpu(), float(entropy) / n
