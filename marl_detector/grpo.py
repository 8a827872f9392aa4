"""GRPO for the detector: group-relative advantages over sampled decisions, clipped policy-ratio objective.

Why GRPO and not plain supervised learning: the detector is paid by the protocol's score, which is
asymmetric (TP +10, FN -5, FP on genuine news -15, ...; marl_detector/outcome.py), and the co-evolving
manipulators change the episode distribution every round. GRPO optimises that reward directly without a
value network: for each episode we sample a *group* of G decisions from the current policy, score each with
the realised label, and use `(r - mean_group) / (std_group + eps)` as the advantage of each decision; the
update is PPO's clipped surrogate on the ratio `pi_new(a|x) / pi_old(a|x)`, with an optional KL penalty to
a frozen reference policy (used when fine-tuning in later co-evolution rounds, so the detector does not
forget the base distribution). The greedy decision is `P(flag) >= 0.5`; `P(flag)` is the confidence.

A small L2 penalty on the logit is not cosmetic: without it the policy saturates (|logit| > 13), every
decision in a group is the same, all group-relative advantages are zero and the detector can no longer
learn from anything new — which is exactly what happened when adapted manipulators appeared in the first
co-evolution experiment (F1 on them stayed at 0 after fine-tuning).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from marl_detector.model import DetectorNet
from marl_detector.outcome import (
    SCORE_FN,
    SCORE_FP_DISCOVERY,
    SCORE_FP_NONE,
    SCORE_TN,
    SCORE_TP,
    Label,
)


@dataclass(frozen=True)
class GRPOConfig:
    group_size: int = 16
    batch_episodes: int = 512
    iterations: int = 300
    inner_epochs: int = 2
    clip_eps: float = 0.2
    lr: float = 3e-3
    kl_coef: float = 0.0
    entropy_coef: float = 0.0
    logit_l2: float = 0.01  # keeps the policy stochastic enough to keep exploring (see module docstring)
    seed: int = 0


def reward_table(labels3: np.ndarray) -> np.ndarray:
    """(n, 2) rewards of deciding 0 / 1 for each realised 3-class label: the protocol score / 10."""
    r = np.zeros((len(labels3), 2), dtype=np.float32)
    man = labels3 == int(Label.MANIPULATION)
    disc = labels3 == int(Label.DISCOVERY)
    r[:, 0] = np.where(man, SCORE_FN, SCORE_TN)
    r[:, 1] = np.where(man, SCORE_TP, np.where(disc, SCORE_FP_DISCOVERY, SCORE_FP_NONE))
    return r / 10.0


def group_advantages(rewards: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Group-relative advantages: rows are groups (one episode), columns the sampled decisions."""
    mean = rewards.mean(dim=1, keepdim=True)
    std = rewards.std(dim=1, keepdim=True, unbiased=False)
    return (rewards - mean) / (std + eps)


def _log_prob(logit: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """log pi(a|x) of Bernoulli decisions; logit (n,), actions (n, G)."""
    lp1 = torch.nn.functional.logsigmoid(logit).unsqueeze(1)
    lp0 = torch.nn.functional.logsigmoid(-logit).unsqueeze(1)
    return torch.where(actions > 0.5, lp1, lp0)


def grpo_train(model: DetectorNet, X: np.ndarray, labels3: np.ndarray, cfg: GRPOConfig,
               ref: DetectorNet | None = None,
               progress: Callable[[int, dict], None] | None = None) -> list[dict]:
    """Train `model` in place on features X with realised labels; returns per-iteration statistics."""
    if len(X) != len(labels3) or len(X) == 0:
        raise ValueError("X and labels must be non-empty and of equal length")
    gen = torch.Generator().manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    Xt = torch.as_tensor(X, dtype=torch.float32)
    R = torch.as_tensor(reward_table(labels3))
    opt = torch.optim.Adam(model.net.parameters(), lr=cfg.lr)
    history: list[dict] = []
    for it in range(cfg.iterations):
        idx = torch.as_tensor(rng.choice(len(X), size=min(cfg.batch_episodes, len(X)), replace=False))
        x = Xt[idx]
        with torch.no_grad():
            logit_old = model(x)
            p_old = torch.sigmoid(logit_old)
            actions = (torch.rand(len(idx), cfg.group_size, generator=gen) < p_old.unsqueeze(1)).float()
            rewards = torch.where(actions > 0.5, R[idx, 1:2], R[idx, 0:1])
            adv = group_advantages(rewards)
            lp_old = _log_prob(logit_old, actions)
            logit_ref = ref(x) if ref is not None else None
        for _ in range(cfg.inner_epochs):
            logit = model(x)
            lp = _log_prob(logit, actions)
            ratio = torch.exp(lp - lp_old)
            surr = torch.minimum(ratio * adv, ratio.clamp(1 - cfg.clip_eps, 1 + cfg.clip_eps) * adv)
            loss = -surr.mean()
            p = torch.sigmoid(logit)
            if cfg.entropy_coef:
                ent = -(p * torch.log(p + 1e-8) + (1 - p) * torch.log(1 - p + 1e-8))
                loss = loss - cfg.entropy_coef * ent.mean()
            if cfg.logit_l2:
                loss = loss + cfg.logit_l2 * (logit ** 2).mean()
            if cfg.kl_coef and logit_ref is not None:
                q = torch.sigmoid(logit_ref)
                kl = p * (torch.log(p + 1e-8) - torch.log(q + 1e-8)) + (1 - p) * (
                    torch.log(1 - p + 1e-8) - torch.log(1 - q + 1e-8))
                loss = loss + cfg.kl_coef * kl.mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            greedy = (p_old >= 0.5).float()
            greedy_r = torch.where(greedy > 0.5, R[idx, 1], R[idx, 0]).mean().item()
        stats = {"iteration": it, "sampled_reward": float(rewards.mean()), "greedy_reward": greedy_r,
                 "loss": float(loss.detach()), "mean_p": float(p_old.mean())}
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
