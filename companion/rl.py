"""Learning from reward: REINFORCE with a learned baseline on CartPole (Chapter 14b, §14b.1).

An agent sees a state :math:`s_t`, picks an action :math:`a_t \\sim \\pi_\\theta(\\cdot|s_t)`
and receives a reward :math:`r_t`. The policy-gradient theorem (Williams 1992; Sutton and
Barto 2018, ch. 13) turns "more reward" into a gradient:

* :func:`discounted_returns`: :math:`G_t = r_t + \\gamma G_{t+1}` (eq. ch14b-return);
* :func:`advantages`: :math:`A_t = G_t - V(s_t)` with a learned value baseline, or the
  generalised advantage estimate with ``lam < 1`` (Schulman et al. 2016; eq. ch14b-gae);
* :func:`train_reinforce`: batches of whole episodes, loss
  :math:`-\\frac1N\\sum_t \\log\\pi_\\theta(a_t|s_t)\\,A_t` plus the value regression.

Environments are Gymnasium's (``CartPole-v1``: 4 observations, 2 actions, reward 1 per
step, at most 500 steps), stepped one episode per environment copy so that the policy runs
on a batch of states. Shapes: T = episode length, S = observation size, K = actions.

Inputs are validated with :mod:`companion.validation` (tensors are not converted: a list
or NumPy array of rewards is refused with a TypeError saying how to convert it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from companion.validation import (
    check_fraction,
    check_int,
    check_positive,
    check_positive_int,
    check_tensor,
    describe,
)

__all__ = [
    "discounted_returns",
    "advantages",
    "PolicyValueNet",
    "Episode",
    "collect_episodes",
    "random_returns",
    "evaluate",
    "train_reinforce",
    "ReinforceResult",
]


def _check_gamma(gamma) -> float:
    return check_fraction(gamma, "gamma", include_one=True)


def discounted_returns(rewards: torch.Tensor, gamma: float) -> torch.Tensor:
    """(T,) rewards of one episode -> (T,) returns :math:`G_t = \\sum_k \\gamma^k r_{t+k}`.

    Computed backwards, :math:`G_t = r_t + \\gamma G_{t+1}` with :math:`G_T = 0`
    (eq. ch14b-return): the episode ended, nothing follows its last reward.
    """
    check_tensor(rewards, "rewards", ndim=1, dtype="float")
    gamma = _check_gamma(gamma)
    out, running = [], 0.0
    for r in reversed(rewards.tolist()):  # plain floats: a training target, no gradient
        running = r + gamma * running
        out.append(running)
    return torch.tensor(out[::-1], dtype=rewards.dtype, device=rewards.device)


def advantages(
    rewards: torch.Tensor, values: torch.Tensor, gamma: float, lam: float = 1.0
) -> torch.Tensor:
    """(T,) rewards and (T,) baseline values :math:`V(s_t)` of one finished episode -> (T,).

    Generalised advantage estimation (eq. ch14b-gae): with the TD errors
    :math:`\\delta_t = r_t + \\gamma V(s_{t+1}) - V(s_t)` (and :math:`V(s_T) = 0`),
    :math:`A_t = \\sum_k (\\gamma\\lambda)^k \\delta_{t+k}`. ``lam=1`` gives exactly
    :math:`G_t - V(s_t)` (REINFORCE with a baseline); ``lam=0`` the one-step TD error.
    """
    check_tensor(rewards, "rewards", ndim=1, dtype="float")
    check_tensor(values, "values", ndim=1, dtype=rewards.dtype, shape=(rewards.numel(),))
    gamma = _check_gamma(gamma)
    lam = check_fraction(lam, "lam", include_one=True)
    next_values = torch.cat([values[1:], values.new_zeros(1)])
    deltas = (rewards + gamma * next_values - values).tolist()
    out, running = [], 0.0
    for d in reversed(deltas):  # plain floats: a training signal, no gradient
        running = d + gamma * lam * running
        out.append(running)
    return torch.tensor(out[::-1], dtype=rewards.dtype, device=rewards.device)


class PolicyValueNet(nn.Module):
    """Two small MLPs: policy logits (.., K) and state value (..,) from observations (.., S)."""

    def __init__(self, obs_dim: int = 4, n_actions: int = 2, hidden: int = 32):
        super().__init__()
        obs_dim, n_actions = (
            check_positive_int(obs_dim, "obs_dim"),
            check_positive_int(n_actions, "n_actions"),
        )
        hidden = check_positive_int(hidden, "hidden")
        self.obs_dim = obs_dim
        self.policy = nn.Sequential(
            nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, n_actions)
        )
        self.value = nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """obs (N, S) float32 -> (logits (N, K), values (N,))."""
        check_tensor(obs, "obs", ndim=2, dtype=self.policy[0].weight.dtype,
                     shape=(None, self.obs_dim))  # fmt: skip
        return self.policy(obs), self.value(obs).squeeze(-1)


@dataclass
class Episode:
    """One finished episode: observations (T, S), actions (T,), rewards (T,) float32."""

    obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor

    @property
    def total(self) -> float:
        return float(self.rewards.sum())


def _make_envs(env_id: str, n: int):
    import gymnasium as gym

    if not isinstance(env_id, str):
        raise TypeError(f"env_id must be a Gymnasium id such as 'CartPole-v1', got "
                        f"{describe(env_id)}")  # fmt: skip
    try:
        return [gym.make(env_id, disable_env_checker=True) for _ in range(n)]
    except gym.error.Error as err:
        raise ValueError(f"env_id {env_id!r} is not a Gymnasium environment here: {err}") from None


def collect_episodes(envs, policy, seeds, generator: torch.Generator | None = None,
                     greedy: bool = False) -> list[Episode]:  # fmt: skip
    """Run one episode in each environment, all at once; ``policy`` maps (N, S) -> (N, K)
    logits, or is ``None`` for the uniformly random policy. ``seeds``: one reset seed each."""
    if isinstance(envs, (str, bytes)) or not isinstance(envs, (list, tuple)) or not envs:
        raise TypeError(f"envs must be a non-empty list of Gymnasium environments, got "
                        f"{describe(envs)}")  # fmt: skip
    if policy is not None and not callable(policy):
        raise TypeError(f"policy must map observations to logits, or be None, got "
                        f"{describe(policy)}")  # fmt: skip
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, (list, tuple)):
        raise TypeError(f"seeds must be a list of ints, one per environment, got "
                        f"{describe(seeds)}")  # fmt: skip
    if len(seeds) != len(envs):
        raise ValueError(f"seeds must have one entry per environment ({len(envs)}), got "
                         f"{len(seeds)}")  # fmt: skip
    obs = [env.reset(seed=int(s))[0] for env, s in zip(envs, seeds, strict=True)]
    buffers = [([], [], []) for _ in envs]
    active = list(range(len(envs)))
    while active:
        states = torch.as_tensor(np.stack([obs[i] for i in active]), dtype=torch.float32)
        if policy is None:
            acts = torch.randint(0, envs[0].action_space.n, (len(active),), generator=generator)
        else:
            with torch.no_grad():
                logits = policy(states)
            if greedy:
                acts = logits.argmax(-1)
            else:
                acts = torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)[:, 0]
        still = []
        for j, i in enumerate(active):
            o, r, term, trunc, _ = envs[i].step(int(acts[j]))
            buffers[i][0].append(states[j])
            buffers[i][1].append(int(acts[j]))
            buffers[i][2].append(float(r))
            obs[i] = o
            if not (term or trunc):
                still.append(i)
        active = still
    return [
        Episode(torch.stack(o), torch.tensor(a), torch.tensor(r, dtype=torch.float32))
        for o, a, r in buffers
    ]


def random_returns(env_id: str = "CartPole-v1", n_episodes: int = 100, seed: int = 0) -> np.ndarray:
    """Returns (n_episodes,) of the uniformly random policy: the baseline every agent must beat."""
    n = check_positive_int(n_episodes, "n_episodes")
    seed = check_int(seed, "seed", min=0)
    envs = _make_envs(env_id, n)
    gen = torch.Generator().manual_seed(seed)
    eps = collect_episodes(envs, None, [seed * 100_003 + i for i in range(n)], gen)
    return np.array([e.total for e in eps])


@dataclass
class ReinforceResult:
    """The trained network and its learning curve: the mean return of each update's batch."""

    model: PolicyValueNet
    batch_returns: list[float] = field(default_factory=list)
    episodes_seen: list[int] = field(default_factory=list)


def train_reinforce(
    env_id: str = "CartPole-v1",
    updates: int = 40,
    batch_episodes: int = 8,
    lr: float = 0.02,
    gamma: float = 0.99,
    lam: float = 1.0,
    hidden: int = 32,
    seed: int = 0,
    baseline: bool = True,
) -> ReinforceResult:
    """REINFORCE with a learned value baseline (eq. ch14b-pg); one Adam step per batch.

    Each update plays ``batch_episodes`` episodes with the current stochastic policy, computes
    :func:`advantages` (``baseline=False``: the plain returns :math:`G_t`), standardises them
    over the batch (subtracting the batch mean is itself a constant baseline, so
    ``baseline=False`` is REINFORCE with that simpler baseline), and minimises
    :math:`-\\text{mean}(\\log\\pi(a_t|s_t) A_t)` plus the mean squared error of
    :math:`V(s_t)` against :math:`G_t`.
    """
    updates = check_positive_int(updates, "updates")
    batch_episodes = check_positive_int(batch_episodes, "batch_episodes")
    lr = check_positive(lr, "lr")
    gamma = _check_gamma(gamma)
    lam = check_fraction(lam, "lam", include_one=True)
    seed = check_int(seed, "seed", min=0)
    if not isinstance(baseline, bool):
        raise TypeError(f"baseline must be True or False, got {describe(baseline)}")
    envs = _make_envs(env_id, batch_episodes)
    obs_dim = envs[0].observation_space.shape[0]
    torch.manual_seed(seed)
    model = PolicyValueNet(obs_dim, envs[0].action_space.n, hidden)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    result = ReinforceResult(model)
    for u in range(updates):
        seeds = [seed * 1_000_003 + u * batch_episodes + i for i in range(batch_episodes)]
        eps = collect_episodes(envs, lambda s: model(s)[0], seeds, gen)
        obs = torch.cat([e.obs for e in eps])
        acts = torch.cat([e.actions for e in eps])
        logits, values = model(obs)
        rets, advs = [], []
        start = 0
        for e in eps:
            v = values[start : start + len(e.rewards)].detach()
            start += len(e.rewards)
            rets.append(discounted_returns(e.rewards, gamma))
            advs.append(advantages(e.rewards, v if baseline else torch.zeros_like(v), gamma, lam))
        ret, adv = torch.cat(rets), torch.cat(advs)
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        logp = torch.log_softmax(logits, -1).gather(1, acts[:, None])[:, 0]
        # separate networks and Adam: the value loss scale does not affect the policy step
        loss = -(logp * adv).mean() + 0.5 * ((values - ret) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        result.batch_returns.append(float(np.mean([e.total for e in eps])))
        result.episodes_seen.append((u + 1) * batch_episodes)
    return result


def evaluate(model: PolicyValueNet, env_id: str = "CartPole-v1", n_episodes: int = 20,
             seed: int = 10_000, greedy: bool = False) -> np.ndarray:  # fmt: skip
    """Returns (n_episodes,) of a trained policy on fresh episodes (seeds not used in training)."""
    if not isinstance(model, PolicyValueNet):
        raise TypeError(f"model must be a PolicyValueNet, got {describe(model)}")
    n = check_positive_int(n_episodes, "n_episodes")
    seed = check_int(seed, "seed", min=0)
    if not isinstance(greedy, bool):
        raise TypeError(f"greedy must be True or False, got {describe(greedy)}")
    envs = _make_envs(env_id, n)
    gen = torch.Generator().manual_seed(seed)
    eps = collect_episodes(envs, lambda s: model(s)[0], [seed + i for i in range(n)], gen, greedy)
    return np.array([e.total for e in eps])
