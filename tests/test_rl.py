"""companion.rl (Chapter 14b): returns, advantages and the policy gradient, checked against
independent computations (SciPy's linear filter, a brute-force double sum, the exact
gradient of a bandit's expected reward), and a REINFORCE agent that beats the random policy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.signal import lfilter

from companion.rl import (
    PolicyValueNet,
    advantages,
    discounted_returns,
    evaluate,
    random_returns,
    train_reinforce,
)

pytest.importorskip("gymnasium")


def scipy_returns(r: np.ndarray, gamma: float) -> np.ndarray:
    """G = r filtered backwards with 1 / (1 - γ z⁻¹): the standard independent recipe."""
    return lfilter([1.0], [1.0, -gamma], r[::-1])[::-1]


def brute_force_gae(r, v, gamma, lam):
    """A_t = Σ_k (γλ)^k δ_{t+k} written as the double sum, with V(s_T) = 0."""
    T = len(r)
    v_next = list(v[1:]) + [0.0]
    delta = [r[t] + gamma * v_next[t] - v[t] for t in range(T)]
    return np.array([sum((gamma * lam) ** k * delta[t + k] for k in range(T - t))
                     for t in range(T)])  # fmt: skip


def test_returns_hand_checked():
    r = torch.tensor([1.0, 1.0, 1.0])
    torch.testing.assert_close(discounted_returns(r, 0.5), torch.tensor([1.75, 1.5, 1.0]))
    torch.testing.assert_close(discounted_returns(r, 1.0), torch.tensor([3.0, 2.0, 1.0]))
    torch.testing.assert_close(discounted_returns(r, 0.0), r)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.9, 0.99, 1.0])
def test_returns_match_scipy(gamma):
    r = torch.randn(40, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ours = discounted_returns(r, gamma)
    np.testing.assert_allclose(ours.numpy(), scipy_returns(r.numpy(), gamma), rtol=1e-10)
    # wrong variants the comparison rejects: accumulating forwards, dropping r_t itself
    wrong_forward = lfilter([1.0], [1.0, -gamma], r.numpy())
    wrong_next_only = np.append(scipy_returns(r.numpy(), gamma)[1:], 0.0)
    if gamma not in (0.0,):
        assert not np.allclose(ours.numpy(), wrong_forward)
    assert not np.allclose(ours.numpy(), wrong_next_only)


@pytest.mark.parametrize("lam", [0.0, 0.3, 0.95, 1.0])
@pytest.mark.parametrize("gamma", [0.9, 0.99])
def test_advantages_match_brute_force(gamma, lam):
    g = torch.Generator().manual_seed(2)
    r = torch.rand(25, generator=g, dtype=torch.float64)
    v = torch.randn(25, generator=g, dtype=torch.float64)
    ours = advantages(r, v, gamma, lam)
    ref = brute_force_gae(r.tolist(), v.tolist(), gamma, lam)
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-10, atol=1e-12)
    # wrong variant: forgetting γ in the bootstrap term of δ
    wrong = brute_force_gae(r.tolist(), v.tolist(), 1.0, lam)
    assert not np.allclose(ours.numpy(), wrong)


def test_advantage_special_cases():
    g = torch.Generator().manual_seed(3)
    r, v = torch.rand(12, generator=g), torch.randn(12, generator=g)
    # λ = 1: REINFORCE with a baseline, G_t - V(s_t)
    torch.testing.assert_close(advantages(r, v, 0.9, 1.0), discounted_returns(r, 0.9) - v)
    # λ = 0: the one-step TD error
    td = r + 0.9 * torch.cat([v[1:], torch.zeros(1)]) - v
    torch.testing.assert_close(advantages(r, v, 0.9, 0.0), td)
    # zero baseline: the plain returns
    torch.testing.assert_close(advantages(r, torch.zeros(12), 0.9), discounted_returns(r, 0.9))


def test_policy_gradient_estimator_is_unbiased_on_a_bandit():
    """The loss -mean(log π(a) A) that train_reinforce minimises has, in expectation, the
    gradient of -E[reward]: checked on a 3-armed bandit against the exact gradient."""
    rewards = torch.tensor([1.0, 0.2, -0.5], dtype=torch.float64)
    logits = torch.tensor([0.3, -0.1, 0.5], dtype=torch.float64, requires_grad=True)
    exact = torch.autograd.grad(-(torch.softmax(logits, 0) * rewards).sum(), logits)[0]
    gen = torch.Generator().manual_seed(0)
    acts = torch.multinomial(torch.softmax(logits, 0).detach(), 200_000, True, generator=gen)
    adv = rewards[acts] - rewards[acts].mean()  # a constant baseline keeps it unbiased
    logp = torch.log_softmax(logits, 0)[acts]
    est = torch.autograd.grad(-(logp * adv).mean(), logits, retain_graph=True)[0]
    torch.testing.assert_close(est, exact, atol=5e-3, rtol=0)
    wrong_sign = torch.autograd.grad((logp * adv).mean(), logits)[0]
    assert not torch.allclose(wrong_sign, exact, atol=5e-3)


def test_policy_value_net_shapes():
    net = PolicyValueNet(4, 2, 16)
    logits, values = net(torch.zeros(7, 4))
    assert logits.shape == (7, 2) and values.shape == (7,)


def test_random_policy_baseline_is_short():
    r = random_returns(n_episodes=50, seed=0)
    assert r.shape == (50,)
    assert 10 < r.mean() < 40  # the random policy on CartPole lasts about 22 steps
    assert np.array_equal(r, random_returns(n_episodes=50, seed=0))  # reproducible


@pytest.mark.slow
def test_reinforce_beats_random_on_a_fixed_seed():
    torch.set_num_threads(1)
    res = train_reinforce(updates=15, batch_episodes=8, seed=0)
    rand = random_returns(n_episodes=50, seed=1)
    assert len(res.batch_returns) == 15 and res.episodes_seen[-1] == 120
    late = np.mean(res.batch_returns[-3:])
    assert late > 2 * rand.mean(), (late, rand.mean())
    ev = evaluate(res.model, n_episodes=20)
    assert ev.mean() > rand.mean() + 4 * rand.std() / np.sqrt(len(rand)), (ev.mean(), rand.mean())


def test_reinforce_is_reproducible():
    a = train_reinforce(updates=2, batch_episodes=4, seed=3)
    b = train_reinforce(updates=2, batch_episodes=4, seed=3)
    assert a.batch_returns == b.batch_returns
