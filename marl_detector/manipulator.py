"""Manipulator policies that learn to evade the detector (the adversary of the co-evolution).

Why a Gaussian over a shift of the style's behaviour: a campaign style (marl_detector/sim.py) fixes the
manipulators' wording and habits; what they can *learn* is how to bend them — timing, intensity, sybil
usage, burstiness, mimicry, visible accumulation (`ManipulatorParams`). The policy samples a shift `delta`
in logit space, `params = sigmoid(logit(style default) + delta)`, and is trained with the same
group-relative, clipped objective as the detector: per style, a group of G campaigns with different
sampled shifts, each simulated and scored by the frozen detector; reward = expected payoff when a flagged
campaign is frozen (a flagged pump's tokens are frozen, so the manipulators lose the capital they put in:
tokens bought plus accounts): `(1 - q) * profit - q * capital_at_risk` with the tempered
detector score `q = sigmoid(logit / T)`, T = 8 (see `campaign_reward`). Evasion therefore
trades off against profit through the simulator's economics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from echo_sync.grpo import group_advantages, grpo_loss
from marl_detector.calibration import TimingCalibration
from marl_detector.embed import TextEmbedder
from marl_detector.features import extract_features
from marl_detector.sim import STYLE_DEFAULTS, EpisodeSpec, ManipulatorParams, SimulatedEpisode, simulate_episode
from marl_detector.social import World

N_PARAMS = len(ManipulatorParams.names())


@dataclass(frozen=True)
class ManipulatorConfig:
    group_size: int = 8
    groups_per_step: int = 6
    steps: int = 15
    learning_rate: float = 0.15
    clip_eps: float = 0.2
    inner_epochs: int = 2
    init_std: float = 1.5
    temperature: float = 8.0  # the manipulators' risk estimate is the detector's logit, tempered
    seed: int = 0


def _logit(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 1e-3, 1 - 1e-3)
    return np.log(x / (1 - x))


class ManipulatorPolicy(torch.nn.Module):
    def __init__(self, init_std: float = 0.7) -> None:
        super().__init__()
        self.mu = torch.nn.Parameter(torch.zeros(N_PARAMS))
        self.log_std = torch.nn.Parameter(torch.full((N_PARAMS,), float(np.log(init_std))))

    def dist(self) -> torch.distributions.Normal:
        return torch.distributions.Normal(self.mu, self.log_std.exp().clamp(0.05, 3.0))

    @staticmethod
    def params_for(style: str, delta: np.ndarray) -> ManipulatorParams:
        base = STYLE_DEFAULTS[style].as_array()
        return ManipulatorParams.from_array(1 / (1 + np.exp(-(_logit(base) + delta))))

    def mean_params(self, style: str) -> ManipulatorParams:
        return self.params_for(style, self.mu.detach().numpy())


Scorer = Callable[[np.ndarray], np.ndarray]  # features (n, d) -> detector logit (n,); flag iff logit >= 0


def simulate_campaigns(world: World, calib: TimingCalibration, embedder: TextEmbedder, styles: Sequence[str],
                       clusters: Sequence[int], deltas: np.ndarray, seeds: Sequence[int], prefix: str
                       ) -> tuple[list[SimulatedEpisode], np.ndarray]:
    """Simulate one campaign per (delta, seed), cycling through styles; returns episodes and features."""
    eps, feats = [], []
    for i, (delta, seed) in enumerate(zip(deltas, seeds)):
        style = styles[i % len(styles)]
        rng = np.random.default_rng(seed)
        spec = EpisodeSpec(f"{prefix}-{seed}", "campaign", style, int(rng.choice(clusters)),
                           ManipulatorPolicy.params_for(style, delta))
        ep = simulate_episode(world, calib, spec, seed)
        eps.append(ep)
        feats.append(extract_features(ep.observation, embedder, validate=False))
    return eps, np.stack(feats)


def campaign_reward(eps: Sequence[SimulatedEpisode], p_flag: np.ndarray) -> np.ndarray:
    """Expected payoff when a campaign is frozen (capital lost) with probability `p_flag` (tempered detector score).

    Why not the hard decision or the raw probability: a GRPO-trained detector is nearly deterministic
    (|logit| > 15 on most campaigns), so both are the same constant for every campaign in a group and the
    group-relative advantages vanish. `sigmoid(logit / T)` keeps the ranking — less suspicious behaviour
    earns more — while still paying nothing extra for campaigns that are clearly not flagged.
    """
    profit = np.array([e.manipulator_profit for e in eps])
    frozen = np.array([e.capital_at_risk for e in eps])
    return (1 - p_flag) * profit - p_flag * frozen


def train_manipulator(policy: ManipulatorPolicy, scorer: Scorer, world: World, calib: TimingCalibration,
                      embedder: TextEmbedder, styles: Sequence[str], clusters: Sequence[int],
                      cfg: ManipulatorConfig, seed_base: int,
                      progress: Callable[[int, dict], None] | None = None) -> list[dict]:
    """GRPO-style updates of the manipulator against a frozen detector; returns per-step statistics."""
    opt = torch.optim.Adam(policy.parameters(), lr=cfg.learning_rate)
    rng = np.random.default_rng([cfg.seed, seed_base])
    history = []
    for step in range(cfg.steps):
        n_groups, g = cfg.groups_per_step, cfg.group_size
        with torch.no_grad():
            d = policy.dist()
            deltas = d.sample((n_groups * g,))
            lp_old = d.log_prob(deltas).sum(-1)
        group_styles = [styles[int(rng.integers(len(styles)))] for _ in range(n_groups)]
        ep_styles = [s for s in group_styles for _ in range(g)]
        seeds = [int(x) for x in rng.integers(0, 2**31, size=n_groups * g)]
        eps, X = [], []
        for k in range(n_groups * g):
            e, x = simulate_campaigns(world, calib, embedder, [ep_styles[k]], clusters, deltas[k:k + 1].numpy(),
                                      seeds[k:k + 1], f"manip{seed_base}")
            eps += e
            X.append(x)
        logits = scorer(np.concatenate(X))
        flagged = logits >= 0
        risk = 1 / (1 + np.exp(-np.clip(logits / cfg.temperature, -50, 50)))
        r = torch.as_tensor(campaign_reward(eps, risk), dtype=torch.float32).view(n_groups, g)
        adv = group_advantages(r).view(-1)
        for _ in range(cfg.inner_epochs):
            # echo_sync's clipped loss with each campaign a one-token sequence (log-prob of its whole shift)
            lp = policy.dist().log_prob(deltas).sum(-1, keepdim=True)
            loss = grpo_loss(lp, lp_old.unsqueeze(1), adv, torch.ones_like(lp), cfg.clip_eps).loss
            opt.zero_grad()
            loss.backward()
            opt.step()
        labels = np.array([e.outcome.binary for e in eps])
        stats = {"step": step, "reward": float(r.mean()), "evasion_rate": float(1 - flagged.mean()),
                 "manipulation_rate": float(labels.mean()),
                 "successful_evasion_rate": float(((~flagged) & (labels == 1)).mean()),
                 "mean_profit": float(np.mean([e.manipulator_profit for e in eps])),
                 "mu": [round(float(v), 3) for v in policy.mu.detach()]}
        history.append(stats)
        if progress:
            progress(step, stats)
    return history


def sample_adapted(policy: ManipulatorPolicy, n: int, world: World, calib: TimingCalibration,
                   embedder: TextEmbedder, styles: Sequence[str], clusters: Sequence[int], seed: int
                   ) -> tuple[list[SimulatedEpisode], np.ndarray]:
    """`n` campaigns from the (trained) policy: the adapted manipulators' episodes."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        d = policy.dist()
        deltas = (d.mean + d.stddev * torch.randn(n, N_PARAMS, generator=gen)).numpy()
    seeds = [int(x) for x in np.random.default_rng(seed).integers(0, 2**31, size=n)]
    return simulate_campaigns(world, calib, embedder, styles, clusters, deltas, seeds, f"adapted{seed}")
