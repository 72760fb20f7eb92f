"""Train and save the digits classifier that Chapter 13 serves (section 13.1).

``python -m companion.serving.demo digits.pt`` writes a checkpoint that
``python -m companion.serving --checkpoint digits.pt`` serves: a ``64-128-10`` perceptron on
scikit-learn's 8x8 digits (pixels scaled to [0, 1]), standardising its inputs with the
training statistics, trained with Adam for ``epochs`` epochs (a few seconds on a CPU).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch
import torch.nn.functional as F

from ..data import load_digits
from ..validation import check_int, check_positive_int
from .checkpoint import Classifier, save_checkpoint


def train_digits(path: str | os.PathLike, *, epochs: int = 10, seed: int = 0) -> tuple[Path, float]:
    """Train the classifier, save it at ``path``; return ``(path, test accuracy)``."""
    epochs = check_positive_int(epochs, "epochs")
    seed = check_int(seed, "seed", min=0)
    digits = load_digits()
    torch.manual_seed(seed)
    model = Classifier(64, [128], 10).set_standardisation(digits.X_train)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(digits.X_train), generator=gen).split(64):
            loss = F.cross_entropy(model(digits.X_train[idx]), digits.y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(digits.X_test).argmax(1) == digits.y_test).float().mean().item()
    return save_checkpoint(model, path), acc


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m companion.serving.demo",
                                     description=__doc__.split("\n")[0])  # fmt: skip
    parser.add_argument("path", help="where to write the checkpoint, e.g. digits.pt")
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args(argv)
    path, acc = train_digits(args.path, epochs=args.epochs)
    print(f"wrote {path} (test accuracy {100 * acc:.1f}%)")


if __name__ == "__main__":
    main()
