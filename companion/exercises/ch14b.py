"""Checks for the exercises of Chapter 14b (learning from reward, context and data).

* ``ch14b-returns``: the discounted return G_t (eq. ch14b-return) written from scratch,
  compared with a reference this module computes itself on episodes it generates;
* ``ch14b-dpo``: the DPO loss (eq. ch14b-dpo) written from scratch, compared with the
  formula computed here in float64, including a batch with large margins;
* ``ch14b-lsh``: the probability that a pair with J = 0.6 becomes an LSH candidate with
  20 bands of 5 rows (eq. ch14b-lsh);
* ``ch14b-collapse``: the expected fraction of once-seen words that survive one generation of
  resampling, 1 - (1 - 1/n)^n ≈ 1 - 1/e (worked answer in the solution).

The references are computed with plain Python and torch primitives, never with
``companion.rl``, ``companion.rl_preference`` or ``companion.dedup``, which the chapter imports.
"""

from __future__ import annotations

import math

import torch

from companion.exercises import CheckFailed, Passed, _as_tensor, expect_close, passed

__all__ = ["check_returns", "check_dpo", "check_lsh_probability", "check_singleton_survival"]


def _reference_returns(rewards: list[float], gamma: float) -> list[float]:
    out, running = [], 0.0
    for r in reversed(rewards):
        running = r + gamma * running
        out.append(running)
    return out[::-1]


def check_returns(my_returns) -> Passed:
    """Exercise ch14b-returns: ``my_returns(rewards, gamma)`` -> returns of the same shape."""
    if not callable(my_returns):
        raise CheckFailed("my_returns must be a function my_returns(rewards, gamma)")
    gen = torch.Generator().manual_seed(14)
    cases = [(torch.ones(3), 0.5), (torch.tensor([0.0, 0.0, 1.0]), 0.9)]
    cases += [(torch.rand(n, generator=gen), g) for n, g in ((7, 0.99), (12, 0.0), (5, 1.0))]
    for rewards, gamma in cases:
        want = torch.tensor(_reference_returns(rewards.tolist(), gamma), dtype=torch.float64)
        got = my_returns(rewards.clone(), gamma)
        if got is None:
            raise CheckFailed("my_returns returned None: return the tensor of returns")
        got_t = _as_tensor(got, "my_returns(...)")
        if got_t.shape != want.shape:
            raise CheckFailed(f"my_returns should return shape {tuple(want.shape)} (one return "
                              f"per step), got {tuple(got_t.shape)}")  # fmt: skip
        forward = torch.tensor(_reference_returns(rewards.tolist()[::-1], gamma)[::-1])
        if (
            gamma not in (0.0,)
            and torch.allclose(got_t, forward.double(), atol=1e-6)
            and not (torch.allclose(forward.double(), want, atol=1e-6))
        ):
            raise CheckFailed("you accumulated from the start of the episode: G_t sums the "
                              "rewards from t to the END, so loop backwards")  # fmt: skip
        shifted = torch.cat([want[1:], want.new_zeros(1)])
        if torch.allclose(got_t, shifted, atol=1e-6) and not torch.allclose(shifted, want):
            raise CheckFailed("G_t must include r_t itself: G_t = r_t + gamma * G_{t+1}")
        expect_close(got_t, want, f"returns for rewards {rewards.tolist()} and gamma={gamma}",
                     rtol=1e-5, atol=1e-6, hint="G_t = r_t + gamma * G_{t+1}, G_T = 0")  # fmt: skip
    return passed("your returns match G_t = r_t + gamma G_{t+1} on five episodes")


def _reference_dpo(pc, pr, rc, rr, beta) -> float:
    total = 0.0
    for a, b, c, d in zip(pc, pr, rc, rr, strict=True):
        z = beta * ((a - c) - (b - d))
        total += math.log1p(math.exp(-z)) if z > -30 else -z + math.log1p(math.exp(z))
    return total / len(pc)


def check_dpo(my_dpo) -> Passed:
    """Exercise ch14b-dpo: ``my_dpo(pc, pr, rc, rr, beta)`` -> the mean loss of eq. ch14b-dpo."""
    if not callable(my_dpo):
        raise CheckFailed("my_dpo must be a function my_dpo(pc, pr, rc, rr, beta)")
    gen = torch.Generator().manual_seed(3)
    batches = [tuple(torch.randn(5, generator=gen, dtype=torch.float64) * 4 for _ in range(4))]
    big = torch.tensor([-3000.0, 2000.0], dtype=torch.float64)
    zeros = torch.zeros(2, dtype=torch.float64)
    batches.append((big, zeros, zeros, zeros))
    for i, (pc, pr, rc, rr) in enumerate(batches):
        for beta in (0.1, 0.5):
            want = _reference_dpo(pc.tolist(), pr.tolist(), rc.tolist(), rr.tolist(), beta)
            got = _as_tensor(my_dpo(pc, pr, rc, rr, beta), "my_dpo(...)")
            if got.numel() != 1:
                raise CheckFailed(f"my_dpo should return one number (the mean over the batch), "
                                  f"got shape {tuple(got.shape)}")  # fmt: skip
            if i == 1 and not torch.isfinite(got).all():
                raise CheckFailed("the loss is infinite for a large margin: log(sigmoid(x)) "
                                  "underflows; use torch.nn.functional.logsigmoid")  # fmt: skip
            no_ref = _reference_dpo(pc.tolist(), pr.tolist(), [0.0] * len(rc), [0.0] * len(rr),
                                    beta)  # fmt: skip
            if math.isclose(got.item(), no_ref, rel_tol=1e-6) and not math.isclose(no_ref, want):
                raise CheckFailed("the reference model is missing: use log(pi/pi_ref), i.e. "
                                  "policy minus reference log-probabilities")  # fmt: skip
            swapped = _reference_dpo(pr.tolist(), pc.tolist(), rr.tolist(), rc.tolist(), beta)
            if math.isclose(got.item(), swapped, rel_tol=1e-6) and not math.isclose(swapped, want):
                raise CheckFailed("chosen and rejected are swapped: the margin is preferred "
                                  "minus rejected")  # fmt: skip
            expect_close(got.reshape(()), want, f"the DPO loss (batch {i + 1}, beta={beta})",
                         rtol=1e-6, atol=1e-9,
                         hint="-mean(logsigmoid(beta * ((pc - rc) - (pr - rr))))")  # fmt: skip
    return passed("your DPO loss matches eq. (ch14b-dpo), large margins included")


def _one_number(value, what: str) -> float:
    got = _as_tensor(value, what)
    if got.numel() != 1:
        raise CheckFailed(f"{what} should be one number, got shape {tuple(got.shape)}")
    return got.item()


def check_lsh_probability(p_candidate) -> Passed:
    """Exercise ch14b-lsh: 1 - (1 - 0.6^5)^20 ≈ 0.802."""
    v = _one_number(p_candidate, "p_candidate")
    want = 1 - (1 - 0.6**5) ** 20
    hints = {
        0.6**5: "that is the chance that ONE band agrees; the pair is a candidate if ANY of the "
        "20 bands agrees",
        (1 - 0.6**5) ** 20: "that is the chance that NO band agrees; take 1 minus it",
        1 - (1 - 0.6**20) ** 5: "bands and rows are swapped: r = 5 rows per band, b = 20 bands",
        20 * 0.6**5: "adding the bands' probabilities counts overlaps twice; use 1 - (1 - J^r)^b",
    }
    for wrong, hint in hints.items():
        if math.isclose(v, wrong, rel_tol=1e-3):
            raise CheckFailed(f"p_candidate is {v:.4g}. Hint: {hint}")
    if v > 1 or v < 0:
        raise CheckFailed(f"p_candidate is {v:.4g}, but a probability lies between 0 and 1")
    expect_close(torch.tensor(v), want, "p_candidate", rtol=1e-3)
    return passed(f"P = 1 - (1 - 0.6^5)^20 = {want:.3f}")


def check_singleton_survival(singleton_survival) -> Passed:
    """Exercise ch14b-collapse: a once-seen word survives with probability ≈ 1 - 1/e ≈ 0.632."""
    v = _one_number(singleton_survival, "singleton_survival")
    want = 1 - math.exp(-1)
    hints = {
        math.exp(-1): "e^-1 is the chance that the word is NOT drawn; it survives with 1 - e^-1",
        0.5: "the number of draws is Binomial(n, 1/n), close to Poisson(1): P(0 draws) = e^-1",
        1.0: "a word drawn zero times disappears, and that happens with probability about e^-1",
        0.0: "the word has probability 1/n on each of the n draws, so it often survives",
    }
    for wrong, hint in hints.items():
        if math.isclose(v, wrong, rel_tol=1e-3, abs_tol=1e-9):
            raise CheckFailed(f"singleton_survival is {v:.4g}. Hint: {hint}")
    if v > 1 or v < 0:
        raise CheckFailed(f"singleton_survival is {v:.4g}, but a fraction lies between 0 and 1")
    # (1 - 1/n)^n for the corpus sizes of the chapter is within 1e-5 of e^-1: accept both
    expect_close(torch.tensor(v), want, "singleton_survival", rtol=2e-3)
    return passed(f"about 1 - 1/e = {want:.3f} of the once-seen words survive one generation")
