"""GRPO maths: group-relative advantages, per-token log-probabilities and the clipped policy-gradient loss.

Why separate from the trainer: these are pure tensor functions, so they can be unit-tested against hand
computations and reused unchanged by every mode (co-located, sequential, async) and every rank.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import torch
import torch.nn.functional as F


def group_advantages(rewards: torch.Tensor, normalize_std: bool = True, eps: float = 1e-6) -> torch.Tensor:
    """A_i = (r_i - mean(group)) / (std(group) + eps) for rewards shaped [groups, G].

    A group whose rewards are all equal carries no signal: its advantages are exactly zero.
    """
    if rewards.dim() != 2 or rewards.shape[1] < 2:
        raise ValueError(f"rewards must be [groups, G>=2], got {tuple(rewards.shape)}")
    centred = rewards - rewards.mean(dim=1, keepdim=True)
    if not normalize_std:
        return centred
    return centred / (rewards.std(dim=1, keepdim=True, unbiased=False) + eps)


@dataclass(frozen=True)
class PackedBatch:
    """Right-padded prompt+completion sequences; `completion_mask` marks positions of `targets` to train on."""

    input_ids: torch.Tensor  # [B, T]
    attention_mask: torch.Tensor  # [B, T]
    targets: torch.Tensor  # [B, T-1] = input_ids shifted left
    completion_mask: torch.Tensor  # [B, T-1] float, 1 where the target is a completion token


def pack(prompts: Sequence[Sequence[int]], completions: Sequence[Sequence[int]], pad_id: int) -> PackedBatch:
    """Concatenate each prompt with its completion and pad on the right."""
    if len(prompts) != len(completions) or not prompts:
        raise ValueError("need one completion per prompt and at least one sequence")
    lengths = [len(p) + len(c) for p, c in zip(prompts, completions)]
    width = max(lengths)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    attn = torch.zeros((len(prompts), width), dtype=torch.long)
    cmask = torch.zeros((len(prompts), width), dtype=torch.float32)
    for i, (p, c) in enumerate(zip(prompts, completions)):
        if not p:
            raise ValueError("empty prompt")
        seq = list(p) + list(c)
        ids[i, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        attn[i, : len(seq)] = 1
        cmask[i, len(p) : len(seq)] = 1.0
    return PackedBatch(ids, attn, ids[:, 1:].clone(), cmask[:, 1:].clone())


def token_logprobs(model: torch.nn.Module, batch: PackedBatch) -> torch.Tensor:
    """log pi(target_t | prefix) for every position, [B, T-1] (padding positions are garbage; mask them)."""
    logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits[:, :-1, :]
    return torch.gather(F.log_softmax(logits.float(), dim=-1), 2, batch.targets.unsqueeze(-1)).squeeze(-1)


@dataclass(frozen=True)
class LossParts:
    loss: torch.Tensor
    pg_loss: float
    kl: float
    clip_fraction: float
    is_weight_mean: float = 1.0  # mean importance weight pi_prox / pi_behaviour after truncation (1: on-policy)
    is_truncated_fraction: float = 0.0  # share of tokens whose weight hit the cap


def importance_weights(prox_logp: torch.Tensor, behaviour_logp: torch.Tensor, cap: float) -> torch.Tensor:
    """min(pi_prox / pi_behaviour, cap) per token, without gradient.

    pi_prox is the trainer's policy when it consumes the rollout (the proximal policy of AReaL's decoupled PPO),
    pi_behaviour the sampler's, which drew the tokens, possibly some versions earlier. Truncating at `cap`
    (verl's truncated importance sampling, Ionides 2008) bounds the variance a very stale or very unlikely token
    could add, at the price of a small bias.
    """
    return torch.exp(prox_logp.detach() - behaviour_logp.detach()).clamp(max=cap)


def grpo_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip_eps: float = 0.2,
    ref_logp: torch.Tensor | None = None,
    kl_beta: float = 0.0,
    aggregation: Literal["token", "sequence"] = "token",
    normaliser: float | None = None,
    behaviour_logp: torch.Tensor | None = None,
    is_cap: float = 2.0,
) -> LossParts:
    """Clipped surrogate  -w * min(rho*A, clip(rho, 1-eps, 1+eps)*A) + beta*KL_k3, averaged over completion tokens.

    rho = pi / pi_old. With `behaviour_logp` (the sampler's log-probs of the tokens it drew), `old_logp` is the
    proximal policy and w = min(pi_old / pi_behaviour, is_cap) corrects for rollouts drawn by an older policy
    (`importance_weights`); without it, w = 1 (the rollout is taken as on-policy).

    `aggregation="token"` averages over all completion tokens of the batch (DAPO style, long answers are not
    down-weighted); "sequence" averages within each sequence first (the original GRPO). `normaliser` replaces
    the local denominator (token or sequence count) so data-parallel ranks can divide by the *global* count
    and a plain gradient all-reduce(sum) equals the single-process gradient.
    """
    ratio = torch.exp(logp - old_logp)
    adv = advantages.unsqueeze(1)
    surrogate = torch.minimum(ratio * adv, torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * adv)
    weight = importance_weights(old_logp, behaviour_logp, is_cap) if behaviour_logp is not None else None
    if weight is not None:
        surrogate = weight * surrogate
    per_token = -surrogate
    kl_tok = torch.zeros_like(logp)
    if ref_logp is not None and kl_beta > 0:
        # k3 estimator (Schulman): exp(ref - logp) - (ref - logp) - 1 >= 0, unbiased for KL(pi || ref).
        delta = ref_logp - logp
        kl_tok = torch.exp(delta) - delta - 1
        per_token = per_token + kl_beta * kl_tok
    if aggregation == "token":
        denom = normaliser if normaliser is not None else mask.sum().clamp(min=1.0).item()
        reduce = lambda t: (t * mask).sum() / denom  # noqa: E731
    elif aggregation == "sequence":
        denom = normaliser if normaliser is not None else float(mask.shape[0])
        lengths = mask.sum(dim=1).clamp(min=1.0)
        reduce = lambda t: ((t * mask).sum(dim=1) / lengths).sum() / denom  # noqa: E731
    else:
        raise ValueError(f"unknown aggregation {aggregation!r}")
    loss = reduce(per_token)
    clipped = ((ratio - 1).abs() > clip_eps).float()
    with torch.no_grad():
        pg = reduce(-surrogate).item()
        kl = reduce(kl_tok).item()
        active = (mask > 0).float()
        clip_frac = ((clipped * active).sum() / active.sum().clamp(min=1.0)).item()
        w_mean, w_trunc = 1.0, 0.0
        if weight is not None:
            w_mean = ((weight * active).sum() / active.sum().clamp(min=1.0)).item()
            raw = torch.exp(old_logp.detach() - behaviour_logp.detach())  # type: ignore[union-attr]
            w_trunc = (((raw > is_cap).float() * active).sum() / active.sum().clamp(min=1.0)).item()
    return LossParts(loss, pg, kl, clip_frac, w_mean, w_trunc)
