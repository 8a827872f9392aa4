"""GRPO for the detector: group-relative advantages over sampled decisions, clipped policy-ratio objective.

Why GRPO and not plain supervised learning: the detector is paid by the protocol's score, which is
asymmetric (TP +10, FN -5, FP on genuine news -15, ...; marl_detector/outcome.py), and the co-evolving
manipulators change the episode distribution every round. GRPO optimises that reward directly without a
value network: for each episode we sample a *group* of G decisions from the current policy, score each with
the realised label, and use `(r - mean_group) / (std_group + eps)` as the advantage of each decision; the
update is PPO's clipped surrogate on the ratio `pi_new(a|x) / pi_old(a|x)`, with an optional KL penalty to
a frozen reference policy (used when fine-tuning in later co-evolution rounds, so the detector does not
forget the base distribution). The greedy decision is `P(flag) >= 0.5`; `P(flag)` is the confidence.
Advantages, clipped surrogate and KL are echo_sync/grpo.py's (a decision is a one-token sequence), so Echo and
the detector cannot drift apart; this module adds only what is specific to a Bernoulli decision.

A small L2 penalty on the logit is not cosmetic: without it the policy saturates (|logit| > 13), every
decision in a group is the same, all group-relative advantages are zero and the detector can no longer
learn from anything new — which is exactly what happened when adapted manipulators appeared in the first
co-evolution experiment (F1 on them stayed at 0 after fine-tuning).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import ConfigDict, Field

from echo_sync.grpo import LossParts, group_advantages, grpo_loss
from echo_sync.settings import GRPOSettings
from marl_detector.model import DetectorNet
from marl_detector.outcome import (
    SCORE_FN,
    SCORE_FP_DISCOVERY,
    SCORE_FP_NONE,
    SCORE_TN,
    SCORE_TP,
    Label,
)


class DetectorGRPOSettings(GRPOSettings):
    """Echo's GRPO recipe with the detector's defaults and the fields only the detector has.

    A training iteration draws `groups_per_step` episodes (each episode is one group of `group_size` sampled
    decisions) and takes `inner_epochs` full-batch Adam steps on them; `micro_batch_size` is not used (the
    detector is a small MLP, one batch fits), and gradients are not clipped unless `max_grad_norm` is set.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")  # a misspelt or retired name fails instead of being ignored

    group_size: int = Field(16, ge=2, description="decisions sampled per episode (G)")
    groups_per_step: int = Field(512, ge=1, description="episodes per training iteration")
    learning_rate: float = Field(3e-3, gt=0)
    max_grad_norm: float | None = Field(None, gt=0, description="clip the gradient norm to this; None: no clipping")
    iterations: int = Field(300, ge=1)
    inner_epochs: int = Field(2, ge=1, description="Adam steps on each iteration's batch (the clip bounds how far they go)")
    entropy_coef: float = Field(0.0, ge=0, description="weight of the Bernoulli entropy bonus")
    logit_l2: float = Field(0.01, ge=0, description="keeps the policy stochastic enough to keep exploring (module docstring)")
    seed: int = 0


def reward_table(labels3: np.ndarray) -> np.ndarray:
    """(n, 2) rewards of deciding 0 / 1 for each realised 3-class label: the protocol score / 10."""
    r = np.zeros((len(labels3), 2), dtype=np.float32)
    man = labels3 == int(Label.MANIPULATION)
    disc = labels3 == int(Label.DISCOVERY)
    r[:, 0] = np.where(man, SCORE_FN, SCORE_TN)
    r[:, 1] = np.where(man, SCORE_TP, np.where(disc, SCORE_FP_DISCOVERY, SCORE_FP_NONE))
    return r / 10.0


def decision_logprobs(logit: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """log pi(a|x) of Bernoulli decisions (flag = 1); logit (n,), actions (n, G) -> (n, G)."""
    return torch.where(actions > 0.5, F.logsigmoid(logit).unsqueeze(1), F.logsigmoid(-logit).unsqueeze(1))


def decision_loss(logit: torch.Tensor, actions: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor,
                  settings: DetectorGRPOSettings, ref_logit: torch.Tensor | None = None) -> LossParts:
    """echo_sync's `grpo_loss` with every decision a one-token sequence, plus the detector's regularisers.

    The n*G decisions become n*G sequences of one token with an all-ones mask, so token and sequence
    aggregation both give the plain mean over decisions. The KL to the reference policy is therefore
    echo_sync's k3 estimate at the sampled decisions (its expectation under the policy is KL(pi || ref)),
    not the exact Bernoulli KL: one estimator for every GRPO in the project. On top: `logit_l2 * mean(logit^2)`
    and `-entropy_coef * mean(H(pi(.|x)))`.
    """
    n, g = actions.shape
    logp = decision_logprobs(logit, actions).reshape(n * g, 1)
    ref = decision_logprobs(ref_logit, actions).reshape(n * g, 1) if ref_logit is not None else None
    parts = grpo_loss(logp, old_logp.reshape(n * g, 1), advantages.reshape(n * g), torch.ones_like(logp),
                      settings.clip_eps, ref, settings.kl_beta, settings.loss_aggregation)
    loss = parts.loss
    if settings.logit_l2:
        loss = loss + settings.logit_l2 * (logit ** 2).mean()
    if settings.entropy_coef:
        p = torch.sigmoid(logit)
        entropy = -(p * F.logsigmoid(logit) + (1 - p) * F.logsigmoid(-logit))
        loss = loss - settings.entropy_coef * entropy.mean()
    return replace(parts, loss=loss)


def grpo_train(model: DetectorNet, X: np.ndarray, labels3: np.ndarray, settings: DetectorGRPOSettings,
               ref: DetectorNet | None = None,
               progress: Callable[[int, dict], None] | None = None) -> list[dict]:
    """Train `model` in place on features X with realised labels; returns per-iteration statistics.

    `ref` is the frozen reference policy of the KL penalty (weight `kl_beta`); without it there is no penalty.
    """
    if len(X) != len(labels3) or len(X) == 0:
        raise ValueError("X and labels must be non-empty and of equal length")
    gen = torch.Generator().manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    Xt = torch.as_tensor(X, dtype=torch.float32)
    R = torch.as_tensor(reward_table(labels3))
    opt = torch.optim.Adam(model.net.parameters(), lr=settings.learning_rate)
    history: list[dict] = []
    for it in range(settings.iterations):
        idx = torch.as_tensor(rng.choice(len(X), size=min(settings.groups_per_step, len(X)), replace=False))
        x = Xt[idx]
        with torch.no_grad():
            logit_old = model(x)
            p_old = torch.sigmoid(logit_old)
            actions = (torch.rand(len(idx), settings.group_size, generator=gen) < p_old.unsqueeze(1)).float()
            rewards = torch.where(actions > 0.5, R[idx, 1:2], R[idx, 0:1])
            adv = group_advantages(rewards, settings.normalize_std)
            lp_old = decision_logprobs(logit_old, actions)
            logit_ref = ref(x) if ref is not None else None
        for _ in range(settings.inner_epochs):
            parts = decision_loss(model(x), actions, lp_old, adv, settings, logit_ref)
            opt.zero_grad()
            parts.loss.backward()
            if settings.max_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.net.parameters(), settings.max_grad_norm)
            opt.step()
        with torch.no_grad():
            greedy = (p_old >= 0.5).float()
            greedy_r = torch.where(greedy > 0.5, R[idx, 1], R[idx, 0]).mean().item()
        stats = {"iteration": it, "sampled_reward": float(rewards.mean()), "greedy_reward": greedy_r,
                 "loss": float(parts.loss.detach()), "kl": parts.kl, "clip_fraction": parts.clip_fraction,
                 "mean_p": float(p_old.mean())}
        if not math.isfinite(stats["loss"]):
            raise FloatingPointError(f"GRPO diverged at iteration {it}")
        history.append(stats)
        if progress:
            progress(it, stats)
    return history


def predict_proba(model: DetectorNet, X: np.ndarray, batch: int = 8192) -> np.ndarray:
    out = []
    with torch.no_grad():
        for i in range(0, len(X), batch):
            out.append(torch.sigmoid(model(torch.as_tensor(X[i:i + batch], dtype=torch.float32))).numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def predict_logits(model: DetectorNet, X: np.ndarray, batch: int = 8192) -> np.ndarray:
    """Raw logits (not saturated like float32 probabilities): what the manipulators' reward is computed from."""
    out = []
    with torch.no_grad():
        for i in range(0, len(X), batch):
            out.append(model(torch.as_tensor(X[i:i + batch], dtype=torch.float32)).numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)
