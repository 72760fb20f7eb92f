"""Learning from human preferences: the reward-model and DPO losses (Chapter 14b, §14b.2).

RLHF (Christiano et al. 2017; Ouyang et al. 2022) turns pairs of answers ranked by people
into a training signal for a language model such as the GPT of :mod:`companion.transformer`:

* a **reward model** :math:`r_\\phi(x, y)` is fitted to the preferences with the
  Bradley-Terry loss :math:`-\\log\\sigma(r_\\phi(x, y_w) - r_\\phi(x, y_l))`
  (:func:`bradley_terry_loss`, eq. ch14b-bt), where :math:`y_w` is the preferred answer;
* the policy is then trained with PPO to maximise the reward minus
  :math:`\\beta\\,\\mathrm{KL}(\\pi_\\theta \\| \\pi_{\\text{ref}})` (eq. ch14b-rlhf);
* **DPO** (Rafailov et al. 2023) skips the reward model and the sampling: with the log-ratio
  :math:`h = \\log\\frac{\\pi_\\theta(y_w|x)}{\\pi_{\\text{ref}}(y_w|x)}
  - \\log\\frac{\\pi_\\theta(y_l|x)}{\\pi_{\\text{ref}}(y_l|x)}`, the loss is
  :math:`-\\log\\sigma(\\beta h)` (:func:`dpo_loss`, eq. ch14b-dpo).

:func:`sequence_log_probs` sums a language model's token log-probabilities over the answer
tokens only (a mask excludes the prompt and the padding): logits (B, T, V), targets (B, T),
mask (B, T) bool -> (B,). Inputs are validated with :mod:`companion.validation`; masks must
be boolean (a 0/1 float mask is refused: multiplying by it is easy to get wrong).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from companion.validation import check_index_tensor, check_positive, check_tensor

__all__ = ["sequence_log_probs", "dpo_loss", "bradley_terry_loss"]


def sequence_log_probs(logits: torch.Tensor, targets: torch.Tensor,
                       mask: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """:math:`\\sum_t m_t \\log p(\\text{targets}_t)`: logits (B, T, V), targets (B, T) ids,
    mask (B, T) bool (True on answer tokens) -> (B,) log-probability of each answer."""
    sizes: dict[str, int] = {}
    check_tensor(logits, "logits", ndim=3, dtype="float", shape=("B", "T", "V"), sizes=sizes)
    check_index_tensor(targets, "targets", sizes["V"], shape=("B", "T"), sizes=sizes)
    check_tensor(mask, "mask", dtype="bool", shape=("B", "T"), sizes=sizes)
    logp = torch.log_softmax(logits, dim=-1).gather(-1, targets[..., None])[..., 0]
    return (logp * mask).sum(-1)


def _check_logps(**tensors) -> None:
    sizes: dict[str, int] = {}
    first = None
    for name, t in tensors.items():
        check_tensor(t, name, ndim=1, dtype="float", shape=("B",), sizes=sizes)
        if first is not None and t.dtype != first.dtype:
            raise TypeError(f"{name} has dtype {t.dtype} but the others are {first.dtype}")
        first = t


def dpo_loss(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor,
             ref_chosen: torch.Tensor, ref_rejected: torch.Tensor,
             beta: float = 0.1) -> torch.Tensor:  # fmt: skip
    """Mean DPO loss (eq. ch14b-dpo) from four (B,) sequence log-probabilities.

    ``policy_*``: :math:`\\log\\pi_\\theta(y|x)` (with gradient); ``ref_*``: the frozen
    reference model's (no gradient flows into them). Uses ``F.logsigmoid`` (stable for
    large margins, where ``log(sigmoid(.))`` underflows to -inf).
    """
    _check_logps(policy_chosen=policy_chosen, policy_rejected=policy_rejected,
                 ref_chosen=ref_chosen, ref_rejected=ref_rejected)  # fmt: skip
    beta = check_positive(beta, "beta")
    h = (policy_chosen - ref_chosen.detach()) - (policy_rejected - ref_rejected.detach())
    return -F.logsigmoid(beta * h).mean()


def bradley_terry_loss(reward_chosen: torch.Tensor,
                       reward_rejected: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """Mean reward-model loss :math:`-\\log\\sigma(r_w - r_l)` (eq. ch14b-bt): (B,), (B,) -> ()."""
    _check_logps(reward_chosen=reward_chosen, reward_rejected=reward_rejected)
    return -F.logsigmoid(reward_chosen - reward_rejected).mean()
