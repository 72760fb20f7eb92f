"""companion.rl_preference (Chapter 14b): sequence log-probabilities against a loop over
tokens, the DPO and Bradley-Terry losses against their formulas written with torch.log and
torch.sigmoid, the DPO gradient against its closed form, and the wrong variants."""

from __future__ import annotations

import math

import pytest
import torch

from companion.rl_preference import bradley_terry_loss, dpo_loss, sequence_log_probs

G = torch.Generator().manual_seed(0)
DT = torch.float64


def test_sequence_log_probs_against_a_loop():
    logits = torch.randn(2, 5, 7, generator=G, dtype=DT)
    targets = torch.randint(0, 7, (2, 5), generator=G)
    mask = torch.tensor([[False, False, True, True, True], [False, True, True, False, False]])
    ours = sequence_log_probs(logits, targets, mask)
    for b in range(2):
        total = 0.0
        for t in range(5):
            if mask[b, t]:
                p = torch.softmax(logits[b, t], 0)[targets[b, t]].item()
                total += math.log(p)
        assert math.isclose(ours[b].item(), total, rel_tol=1e-12)
    # wrong variants: counting the prompt/padding tokens, or averaging instead of summing
    everything = sequence_log_probs(logits, targets, torch.ones_like(mask))
    assert not torch.allclose(everything, ours)
    n = mask.sum(1)
    assert not torch.allclose(ours / n, ours)


def reference_dpo(pc, pr, rc, rr, beta):
    return -torch.log(torch.sigmoid(beta * ((pc - rc) - (pr - rr)))).mean()


def test_dpo_matches_its_formula():
    pc, pr, rc, rr = (torch.randn(6, generator=G, dtype=DT) * 3 for _ in range(4))
    for beta in (0.05, 0.1, 0.5, 2.0):
        torch.testing.assert_close(
            dpo_loss(pc, pr, rc, rr, beta), reference_dpo(pc, pr, rc, rr, beta)
        )
        # wrong variants: no reference model, swapped chosen/rejected, beta outside the sigmoid
        assert not torch.allclose(
            dpo_loss(pc, pr, rc, rr, beta), reference_dpo(pc, pr, 0 * rc, 0 * rr, beta)
        )
        assert not torch.allclose(
            dpo_loss(pc, pr, rc, rr, beta), reference_dpo(pr, pc, rr, rc, beta)
        )
        wrong_beta = -beta * torch.log(torch.sigmoid((pc - rc) - (pr - rr))).mean()
        assert not torch.allclose(dpo_loss(pc, pr, rc, rr, beta), wrong_beta)


def test_dpo_value_at_start_and_gradient():
    """With the policy equal to the reference the loss is log 2; the gradient with respect to
    the chosen log-probability is -beta * sigmoid(-beta h) / B (closed form)."""
    x = torch.randn(4, generator=G, dtype=DT)
    y = torch.randn(4, generator=G, dtype=DT)
    assert math.isclose(dpo_loss(x, y, x, y, 0.1).item(), math.log(2), rel_tol=1e-12)
    pc = torch.randn(4, generator=G, dtype=DT, requires_grad=True)
    pr, rc, rr = (torch.randn(4, generator=G, dtype=DT) for _ in range(3))
    beta = 0.3
    dpo_loss(pc, pr, rc, rr, beta).backward()
    h = (pc - rc) - (pr - rr)
    torch.testing.assert_close(pc.grad, (-beta * torch.sigmoid(-beta * h) / 4).detach())


def test_dpo_is_stable_for_large_margins():
    big = torch.tensor([-2000.0], dtype=torch.float32)
    zero = torch.zeros(1)
    loss = dpo_loss(big, zero, zero, zero, 1.0)
    assert torch.isfinite(loss) and math.isclose(loss.item(), 2000.0, rel_tol=1e-6)
    assert not torch.isfinite(reference_dpo(big, zero, zero, zero, 1.0))  # the naive formula


def test_reference_gets_no_gradient():
    pc, pr = torch.zeros(3, requires_grad=True), torch.zeros(3, requires_grad=True)
    rc, rr = torch.ones(3, requires_grad=True), torch.zeros(3, requires_grad=True)
    dpo_loss(pc, pr, rc, rr).backward()
    assert rc.grad is None and rr.grad is None and pc.grad is not None


def test_bradley_terry():
    rw, rl = torch.randn(5, generator=G, dtype=DT), torch.randn(5, generator=G, dtype=DT)
    torch.testing.assert_close(
        bradley_terry_loss(rw, rl), -torch.log(torch.sigmoid(rw - rl)).mean()
    )
    assert not torch.allclose(bradley_terry_loss(rw, rl), bradley_terry_loss(rl, rw))
    # DPO is Bradley-Terry on the implicit reward beta * log(pi / pi_ref)
    pc, pr, rc, rr = (torch.randn(5, generator=G, dtype=DT) for _ in range(4))
    torch.testing.assert_close(
        dpo_loss(pc, pr, rc, rr, 0.2), bradley_terry_loss(0.2 * (pc - rc), 0.2 * (pr - rr))
    )


@pytest.mark.gpu
def test_cuda_matches_cpu():
    """Sequence log-probabilities and the DPO loss agree on CUDA and CPU (float64: 1e-10)."""
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    logits = torch.randn(3, 5, 7, generator=G, dtype=DT)
    targets = torch.randint(0, 7, (3, 5), generator=G)
    mask = torch.rand(3, 5, generator=G) > 0.3
    cpu = sequence_log_probs(logits, targets, mask)
    gpu = sequence_log_probs(logits.cuda(), targets.cuda(), mask.cuda()).cpu()
    torch.testing.assert_close(gpu, cpu, rtol=1e-10, atol=1e-10)
    lp = [torch.randn(4, generator=G, dtype=DT) for _ in range(4)]
    torch.testing.assert_close(dpo_loss(*[t.cuda() for t in lp]).cpu(), dpo_loss(*lp),
                               rtol=1e-10, atol=1e-10)  # fmt: skip
