"""How well a detector holds against adapted manipulators: the two numbers and the oracle ceilings beside them.

Why two evaluation sets and an oracle: an adapted manipulator evades partly by running campaigns that fail (small
budgets, mimicked posts), and a failed campaign's realised label is NONE. Scored on *all* campaigns, a detector
that recognises every attempt is charged a false positive for each failure, so even an oracle that flags exactly
the campaigns stays far below 1 — the number mixes "can it see the campaign" with "did the campaign work". So:

- **all campaigns**: the negatives plus every *detectable* adapted campaign, each labelled by its realised
  outcome (a failed campaign is a negative);
- **realised pumps**: the negatives plus the detectable adapted campaigns that realised a manipulation.

A campaign is *detectable* when at least `sim.DETECTABLE_MIN_POSTS` of its posts before `t0` show it — written by
its sybil cluster or in its own wording (`SimulatedEpisode.detectable`); a campaign whose every post copies organic
wording from a rented organic account leaves nothing in the social view to see, and is counted apart.
The *oracle* flags exactly the adapted campaigns of each set (it knows who the manipulators are) and nothing else;
its F1 is the ceiling a detector can reach on that set.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from marl_detector.sim import SimulatedEpisode


def _prf(y: np.ndarray, pred: np.ndarray) -> tuple[float, float, float]:
    tp = int(((pred == 1) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


@dataclass(frozen=True)
class SetScore:
    """Precision, recall and F1 of the detector on one evaluation set, and the oracle's F1 there."""

    n: int
    positives: int
    precision: float
    recall: float
    f1: float
    oracle_f1: float


@dataclass(frozen=True)
class Robustness:
    campaigns: int  # adapted campaigns simulated
    detectable: int  # of them, detectable
    realised: int  # of the detectable ones, realised a manipulation
    flagged_detectable: float  # share of detectable campaigns the detector flags
    all_campaigns: SetScore
    realised_pumps: SetScore
    undetectable_flagged: float  # share of the undetectable campaigns flagged anyway (nan if none)

    def to_json(self) -> dict:
        return asdict(self)


def _score(y: np.ndarray, pred: np.ndarray, oracle: np.ndarray) -> SetScore:
    p, r, f = _prf(y, pred)
    return SetScore(int(len(y)), int(y.sum()), p, r, f, _prf(y, oracle)[2])


def robustness(neg_y: np.ndarray, neg_flag: np.ndarray, campaigns: Sequence[SimulatedEpisode],
               campaign_flag: np.ndarray) -> Robustness:
    """Score flags on negatives (`neg_y`: their realised binary labels, ~0) and on adapted campaigns."""
    neg_y = np.asarray(neg_y, dtype=int)
    neg_flag = np.asarray(neg_flag, dtype=int)
    campaign_flag = np.asarray(campaign_flag, dtype=int)
    det = np.array([e.detectable for e in campaigns], dtype=bool)
    real = np.array([e.outcome.binary for e in campaigns], dtype=int)
    n_neg = len(neg_y)

    def evaluate(keep: np.ndarray) -> SetScore:
        y = np.r_[neg_y, real[keep]]
        pred = np.r_[neg_flag, campaign_flag[keep]]
        oracle = np.r_[np.zeros(n_neg, int), np.ones(int(keep.sum()), int)]
        return _score(y, pred, oracle)

    undetectable = ~det
    return Robustness(
        campaigns=len(campaigns), detectable=int(det.sum()), realised=int((det & (real == 1)).sum()),
        flagged_detectable=float(campaign_flag[det].mean()) if det.any() else float("nan"),
        all_campaigns=evaluate(det), realised_pumps=evaluate(det & (real == 1)),
        undetectable_flagged=float(campaign_flag[undetectable].mean()) if undetectable.any() else float("nan"),
    )
