"""Every number stated in the Chapter 3 rows of the errata appendix, recomputed with the
companion and found, formatted as printed, in book/appendix/errata_parts/ch03.md."""

from __future__ import annotations

import pytest
import torch

from companion import linear
from companion.data import load_breast_cancer
from tests.bookinfo import errata_fragment, errata_row

DT = torch.float64
X_TOY = torch.arange(1.0, 6.0, dtype=DT)


@pytest.fixture(scope="module")
def text() -> str:
    return errata_fragment("ch03")


def tex_int(value: float) -> str:
    """An integer as the fragment prints it: 13314 -> 13{,}314, -526 -> -526."""
    return f"{round(value):,}".replace(",", "{,}")


def pass_matrix(eta: float) -> torch.Tensor:
    M = torch.eye(2, dtype=DT)
    for xi in X_TOY:
        a = torch.stack([torch.ones((), dtype=DT), xi])
        M = (torch.eye(2, dtype=DT) - eta * torch.outer(a, a)) @ M
    return M


def spectral_radius(eta: float) -> float:
    return torch.linalg.eigvals(pass_matrix(eta)).abs().max().item()


def test_row_3_4_source_linear_rule(text):
    r = errata_row(text, "3.2")
    fit = linear.source_update_rule(X_TOY, 2 * X_TOY)  # lr = 1, one pass
    path = [(round(b), round(w)) for b, w in fit.path[1:].tolist()]
    printed = ",".join(f"({b},{w})" for b, w in path)  # as printed, spaces removed
    assert printed in r.replace(" ", "").replace("$", ""), printed
    preds = [fit.b.item() + fit.w.item() * x for x in (6, 10)]
    assert f"${tex_int(preds[0])}$–${tex_int(preds[1])}$" in r
    assert f"\\approx {tex_int(spectral_radius(1.0))}$" in r
    norm2 = torch.linalg.matrix_norm(pass_matrix(1.0), ord=2).item()
    assert norm2 > spectral_radius(1.0)  # the 2-norm, not the radius, bounds one pass
    assert f"\\approx {tex_int(norm2)}$" in r
    lo, hi = 0.05, 0.4  # bisection for rho(M(eta)) = 1
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if spectral_radius(mid) < 1 else (lo, mid)
    assert f"below about {lo:.2f}" in r
    fixed = linear.source_update_rule(X_TOY, 2 * X_TOY, lr=0.05, epochs=300)
    assert abs(fixed.b.item()) < 1e-4 and abs(fixed.w.item() - 2) < 1e-4
    assert "e.g. 0.05" in r


def test_row_3_5_source_logistic_rule(text):
    r = errata_row(text, "3.3")
    y = torch.tensor([0.0, 0, 0, 1, 1], dtype=DT)
    fit = linear.source_update_rule(X_TOY, y, link="sigmoid")
    assert f"$b \\approx {fit.b.item():.2f}$" in r
    assert f"$w \\approx {fit.w.item():.2f}$" in r
    pred = (fit.b + fit.w * X_TOY > 0).to(DT)
    assert bool((pred == 1).all())  # all five points in class 1
    assert f"({(pred == y).double().mean().item():.0%} training accuracy)" in r


def test_row_3_6_one_term_cross_entropy(text):
    """Training on -sum y log p only (the source's formula) calls this share of the
    malignant test tumours benign; the same computation as Chapter 3, Section 3.7."""
    r = errata_row(text, "3.4")
    cancer = load_breast_cancer().standardized()
    X, y = cancer.X_train.to(DT), cancer.y_train.to(DT)
    Xt, yt = cancer.X_test.to(DT), cancer.y_test
    w = torch.zeros(X.shape[1], dtype=DT, requires_grad=True)
    b = torch.zeros((), dtype=DT, requires_grad=True)
    for _ in range(200):
        loss = -(y * linear.log_sigmoid(X @ w + b)).mean()
        gw, gb = torch.autograd.grad(loss, (w, b))
        with torch.no_grad():
            w -= gw
            b -= gb
    pred = (Xt @ w.detach() + b.detach() > 0).long()
    share = (pred[yt == 0] == 1).double().mean().item()
    assert f"calling {share:.0%} of malignant tumours benign" in r
