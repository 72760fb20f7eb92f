"""Bad input to the Chapter 14b modules (rl, rl_preference, in_context, dedup): every plausible
mistake gets a clear error naming the argument."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion import dedup as D
from companion import in_context as IC
from companion import rl as RL
from companion import rl_preference as P
from tests.badinput.harness import expect_clear_error

NAN, INF = float("nan"), float("inf")
R = torch.ones(5)
V = torch.zeros(5)
LOGITS = torch.randn(2, 4, 6)
TARGETS = torch.randint(0, 6, (2, 4))
MASK = torch.ones(2, 4, dtype=torch.bool)
LP = torch.zeros(3)
XS, YS = IC.sample_tasks(2, 4, 3)
MODEL = IC.InContextRegressor(3, 4, n_layer=1, n_head=2, n_embd=8)
NET = RL.PolicyValueNet(4, 2, 8)
ENVS = RL._make_envs("CartPole-v1", 1)
SETS = [D.shingles("a b c d e f"), D.shingles("a b c d e g")]
SIG = D.MinHasher(8).signatures(SETS)

CASES = [
    # companion.rl
    ("rewards list", lambda: RL.discounted_returns([1.0, 1.0], 0.9), "rewards", TypeError),
    ("rewards numpy", lambda: RL.discounted_returns(np.ones(3), 0.9), "rewards", TypeError),
    (
        "rewards int",
        lambda: RL.discounted_returns(torch.ones(3, dtype=torch.long), 0.9),
        "rewards",
        TypeError,
    ),
    ("rewards 2-D", lambda: RL.discounted_returns(torch.ones(2, 3), 0.9), "rewards", ValueError),
    ("gamma > 1", lambda: RL.discounted_returns(R, 1.5), "gamma", ValueError),
    ("gamma negative", lambda: RL.discounted_returns(R, -0.1), "gamma", ValueError),
    ("gamma NaN", lambda: RL.discounted_returns(R, NAN), "gamma", ValueError),
    ("gamma bool", lambda: RL.discounted_returns(R, True), "gamma", TypeError),
    ("gamma str", lambda: RL.discounted_returns(R, "0.9"), "gamma", TypeError),
    ("values short", lambda: RL.advantages(R, V[:4], 0.9), "values", ValueError),
    ("values float64", lambda: RL.advantages(R, V.double(), 0.9), "values", TypeError),
    ("values list", lambda: RL.advantages(R, [0.0] * 5, 0.9), "values", TypeError),
    ("lam > 1", lambda: RL.advantages(R, V, 0.9, 1.2), "lam", ValueError),
    ("lam inf", lambda: RL.advantages(R, V, 0.9, INF), "lam", ValueError),
    ("obs float64", lambda: NET(torch.zeros(3, 4, dtype=torch.float64)), "obs", TypeError),
    ("obs 1-D", lambda: NET(torch.zeros(4)), "obs", ValueError),
    ("obs wrong size", lambda: NET(torch.zeros(3, 5)), "obs", ValueError),
    ("obs numpy", lambda: NET(np.zeros((3, 4), dtype=np.float32)), "obs", TypeError),
    ("hidden 0", lambda: RL.PolicyValueNet(4, 2, 0), "hidden", ValueError),
    ("n_actions float", lambda: RL.PolicyValueNet(4, 2.0), "n_actions", TypeError),
    ("updates 0", lambda: RL.train_reinforce(updates=0), "updates", ValueError),
    ("updates bool", lambda: RL.train_reinforce(updates=True), "updates", TypeError),
    ("batch float", lambda: RL.train_reinforce(batch_episodes=8.0), "batch_episodes", TypeError),
    ("lr negative", lambda: RL.train_reinforce(lr=-0.01), "lr", ValueError),
    ("lr NaN", lambda: RL.train_reinforce(lr=NAN), "lr", ValueError),
    ("seed negative", lambda: RL.train_reinforce(seed=-1), "seed", ValueError),
    ("baseline str", lambda: RL.train_reinforce(baseline="yes"), "baseline", TypeError),
    ("env unknown", lambda: RL.random_returns("CartPole-v9", 2), "env_id", ValueError),
    ("env int", lambda: RL.random_returns(3, 2), "env_id", TypeError),
    ("n_episodes 0", lambda: RL.random_returns(n_episodes=0), "n_episodes", ValueError),
    ("evaluate model", lambda: RL.evaluate(torch.nn.Linear(4, 2)), "model", TypeError),
    ("evaluate greedy", lambda: RL.evaluate(NET, n_episodes=1, greedy=1), "greedy", TypeError),
    ("envs empty", lambda: RL.collect_episodes([], None, []), "envs", TypeError),
    ("envs one env", lambda: RL.collect_episodes(ENVS[0], None, [0]), "envs", TypeError),
    (
        "policy a tensor",
        lambda: RL.collect_episodes(ENVS, torch.zeros(2), [0]),
        "policy",
        TypeError,
    ),
    ("seeds an int", lambda: RL.collect_episodes(ENVS, None, 0), "seeds", TypeError),
    ("seeds too few", lambda: RL.collect_episodes(ENVS * 2, None, [0]), "seeds", ValueError),
    # companion.rl_preference
    ("logits int", lambda: P.sequence_log_probs(LOGITS.long(), TARGETS, MASK), "logits", TypeError),
    (
        "targets float",
        lambda: P.sequence_log_probs(LOGITS, TARGETS.float(), MASK),
        "targets",
        TypeError,
    ),
    (
        "targets out of range",
        lambda: P.sequence_log_probs(LOGITS, TARGETS + 6, MASK),
        "targets",
        ValueError,
    ),
    (
        "targets wrong T",
        lambda: P.sequence_log_probs(LOGITS, TARGETS[:, :3], MASK),
        "targets",
        ValueError,
    ),
    ("mask float", lambda: P.sequence_log_probs(LOGITS, TARGETS, MASK.float()), "mask", TypeError),
    ("mask int", lambda: P.sequence_log_probs(LOGITS, TARGETS, MASK.long()), "mask", TypeError),
    ("mask wrong B", lambda: P.sequence_log_probs(LOGITS, TARGETS, MASK[:1]), "mask", ValueError),
    ("dpo list", lambda: P.dpo_loss([0.0] * 3, LP, LP, LP), "policy_chosen", TypeError),
    ("dpo 2-D", lambda: P.dpo_loss(LP[None], LP, LP, LP), "policy_chosen", ValueError),
    ("dpo batch mismatch", lambda: P.dpo_loss(LP, LP, LP[:2], LP), "ref_chosen", ValueError),
    ("dpo float64 ref", lambda: P.dpo_loss(LP, LP, LP.double(), LP), "ref_chosen", TypeError),
    ("dpo beta 0", lambda: P.dpo_loss(LP, LP, LP, LP, 0.0), "beta", ValueError),
    ("dpo beta negative", lambda: P.dpo_loss(LP, LP, LP, LP, -0.1), "beta", ValueError),
    ("dpo beta inf", lambda: P.dpo_loss(LP, LP, LP, LP, INF), "beta", ValueError),
    ("bt int", lambda: P.bradley_terry_loss(LP.long(), LP), "reward_chosen", TypeError),
    ("bt mismatch", lambda: P.bradley_terry_loss(LP, LP[:1]), "reward_rejected", ValueError),
    # companion.in_context
    ("tasks batch 0", lambda: IC.sample_tasks(0, 4, 3), "batch", ValueError),
    ("tasks dim float", lambda: IC.sample_tasks(2, 4, 3.0), "dim", TypeError),
    ("tasks generator seed", lambda: IC.sample_tasks(2, 4, 3, 0), "generator", TypeError),
    ("xs 2-D", lambda: IC.interleave(XS[0], YS), "xs", ValueError),
    ("ys 3-D", lambda: IC.interleave(XS, YS[..., None]), "ys", ValueError),
    ("ys wrong n", lambda: IC.interleave(XS, YS[:, :3]), "ys", ValueError),
    ("ys int", lambda: IC.interleave(XS, YS.long()), "ys", TypeError),
    ("xs numpy", lambda: MODEL(XS.numpy(), YS), "xs", TypeError),
    ("xs float64", lambda: MODEL(XS.double(), YS.double()), "xs", TypeError),
    ("xs wrong d", lambda: MODEL(XS[..., :2], YS), "xs", ValueError),
    ("too many points", lambda: MODEL(*IC.sample_tasks(2, 5, 3)), "max_points", ValueError),
    ("train model", lambda: IC.train_in_context(torch.nn.Linear(2, 2)), "model", TypeError),
    ("train steps 0", lambda: IC.train_in_context(MODEL, steps=0), "steps", ValueError),
    ("train lr 0", lambda: IC.train_in_context(MODEL, lr=0.0), "lr", ValueError),
    ("ls batch mismatch", lambda: IC.least_squares_predictions(XS, YS[:1]), "ys", ValueError),
    ("error shape", lambda: IC.error_by_context_size(YS, YS[:, :2]), "ys", ValueError),
    ("max_points 0", lambda: IC.InContextRegressor(3, 0), "max_points", ValueError),
    (
        "n_embd not divisible",
        lambda: IC.InContextRegressor(3, 4, n_head=3, n_embd=8),
        "n_embd",
        ValueError,
    ),
    # companion.dedup
    ("normalise bytes", lambda: D.normalise(b"abc"), "text", TypeError),
    ("docs str", lambda: D.exact_duplicates("one document"), "docs", TypeError),
    ("docs with None", lambda: D.exact_duplicates(["a", None]), "docs[1]", TypeError),
    ("k 0", lambda: D.shingles("a b", 0), "k", ValueError),
    ("k float", lambda: D.shingles("a b", 2.0), "k", TypeError),
    ("unit unknown", lambda: D.shingles("a b", 2, "token"), "unit", ValueError),
    ("jaccard list", lambda: D.jaccard([1, 2], {1}), "a", TypeError),
    ("num_perm 0", lambda: D.MinHasher(0), "num_perm", ValueError),
    ("seed negative", lambda: D.MinHasher(8, -1), "seed", ValueError),
    ("signature list", lambda: D.MinHasher(8).signature([1, 2]), "shingle_set", TypeError),
    ("signature empty", lambda: D.MinHasher(8).signature(set()), "shingle_set", ValueError),
    ("signature 64-bit", lambda: D.MinHasher(8).signature({2**40}), "shingle_set", ValueError),
    ("signatures set", lambda: D.MinHasher(8).signatures({1, 2}), "sets", TypeError),
    (
        "estimate float",
        lambda: D.estimated_jaccard(SIG[0].astype(float), SIG[1]),
        "sig_a",
        TypeError,
    ),
    ("estimate lengths", lambda: D.estimated_jaccard(SIG[0], SIG[1][:4]), "sig_b", ValueError),
    ("lsh too many rows", lambda: D.lsh_candidate_pairs(SIG, 4, 4), "bands", ValueError),
    ("lsh 1-D", lambda: D.lsh_candidate_pairs(SIG[0], 2, 2), "signatures", ValueError),
    ("lsh list", lambda: D.lsh_candidate_pairs(SIG.tolist(), 2, 2), "signatures", TypeError),
    ("lsh prob > 1", lambda: D.lsh_probability(1.2, 4, 2), "similarity", ValueError),
    ("lsh prob bands 0", lambda: D.lsh_probability(0.5, 0, 2), "bands", ValueError),
    ("threshold 2", lambda: D.brute_force_pairs(SETS, 2.0), "threshold", ValueError),
    ("threshold NaN", lambda: D.near_duplicate_pairs(SETS, NAN), "threshold", ValueError),
    ("brute sets str", lambda: D.brute_force_pairs("ab", 0.5), "sets", TypeError),
]


@pytest.mark.parametrize("call,name,kind", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_clear_error(call, name, kind):
    expect_clear_error(call, name, kind=kind)


def test_accepted_inputs_are_correct():
    """Inputs that are accepted on purpose give the right answer."""
    # float64 rewards are fine (the caller's dtype is kept) and equal the float32 answer
    torch.testing.assert_close(RL.discounted_returns(R.double(), 0.5).float(),
                               RL.discounted_returns(R, 0.5))  # fmt: skip
    # NumPy integers are counts; a frozenset is a set
    assert D.shingles("a b c", np.int64(2)) == D.shingles("a b c", 2)
    assert D.jaccard(frozenset({1, 2}), {2, 3}) == 1 / 3
    # an empty document list has no duplicates and no pairs
    assert D.exact_duplicates([]) == [] and D.brute_force_pairs([], 0.5) == {}
