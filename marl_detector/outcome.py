"""The realised label of a prediction window and the score of a prediction (docs/hideshill_protocol.md).

Why a delayed, price-based label: whether a burst of hype *was* a pump-and-dump is only knowable after the
fact. Uninformed hype moves the price transiently and reverses once the manipulators dump (the abnormal
return is not backed by information); genuine news moves it persistently (rational expectations incorporate
the information once). So the label is read from the TWAP path over the horizon, never from the simulator's
own ground truth, and the on-chain resolver computes the very same number.

Integer conventions shared with the contract:
- Returns are signed: computed in int256 with Solidity's division, which truncates toward zero
  (`_sdiv` below), not Python's floor division.
- `H` must be a positive multiple of 4 (four sub-windows of exactly `H // 4` seconds).
- The base window `[t0 - H/4, t0]` is clamped to the oldest observation; if the clamped window is empty
  (the pool has no history before `t0`) the commit is refused (`HistoryUnavailable`, the contract reverts).
- Label codes: NONE = 0, MANIPULATION = 1, DISCOVERY = 2 (same order as the Solidity enum).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Sequence

from marl_detector.amm import AMMError, HistoryUnavailable, Pool

THETA_BP = 1000  # abnormal peak return threshold: 10 %
RHO_BP = 5000  # the end return keeps at most half of the peak to count as reversal
BP = 10_000
MAX_CONFIDENCE_BP = 10_000

SCORE_TP = 10
SCORE_TN = 1
SCORE_FN = -5
SCORE_FP_NONE = -5
SCORE_FP_DISCOVERY = -15
SCORE_EXPIRED = -15  # an entry never revealed (or voided): the contract's EXPIRED_SCORE


class Label(IntEnum):
    NONE = 0
    MANIPULATION = 1
    DISCOVERY = 2


@dataclass(frozen=True)
class Outcome:
    """Everything the resolver computes, so tests and the parity check can compare each intermediate."""

    base: int
    sub_twaps: tuple[int, int, int, int]
    r_peak_bp: int
    r_end_bp: int
    label: Label

    @property
    def binary(self) -> int:
        """1 iff the window was a manipulation."""
        return int(self.label == Label.MANIPULATION)


def _sdiv(a: int, b: int) -> int:
    """Solidity int256 division: truncates toward zero."""
    if b == 0:
        raise ZeroDivisionError("division by zero")
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def check_horizon(horizon: int) -> int:
    if horizon <= 0 or horizon % 4 != 0:
        raise AMMError(f"horizon must be a positive multiple of 4 seconds, got {horizon}")
    return horizon // 4


def commit_base(pool: Pool, t0: int, horizon: int) -> int:
    """`base = twap(max(t0 - H/4, oldest observation), t0)`, the pre-window reference price."""
    quarter = check_horizon(horizon)
    start = max(t0 - quarter, pool.oldest_observation_time())
    if start >= t0:
        raise HistoryUnavailable(f"pool has no price history before the commit time {t0}")
    return pool.twap(start, t0)


def classify(base: int, sub_twaps: Sequence[int]) -> Outcome:
    """Label a window from its base price and its four sub-window TWAPs."""
    if base <= 0:
        raise AMMError(f"base price must be positive, got {base}")
    if len(sub_twaps) != 4:
        raise AMMError(f"need exactly 4 sub-window TWAPs, got {len(sub_twaps)}")
    m = tuple(int(x) for x in sub_twaps)
    peak, end = max(m), m[3]
    r_peak = _sdiv((peak - base) * BP, base)
    r_end = _sdiv((end - base) * BP, base)
    if r_peak < THETA_BP:
        label = Label.NONE
    elif r_end * BP <= RHO_BP * r_peak:
        label = Label.MANIPULATION
    else:
        label = Label.DISCOVERY
    return Outcome(base=base, sub_twaps=m, r_peak_bp=r_peak, r_end_bp=r_end, label=label)  # type: ignore[arg-type]


def resolve(pool: Pool, t0: int, horizon: int, base: int | None = None) -> Outcome:
    """Resolve the window `[t0, t0 + H]` on `pool` (all of it must lie in the pool's past or present).

    `base` is what the contract recorded at commit; when omitted it is recomputed from the pool's history
    (identical, because cumulative prices before `t0` never change afterwards).
    """
    quarter = check_horizon(horizon)
    if base is None:
        base = commit_base(pool, t0, horizon)
    subs = [pool.twap(t0 + k * quarter, t0 + (k + 1) * quarter) for k in range(4)]
    return classify(base, subs)


def score(predicted: int, label: Label) -> int:
    """Score of a binary prediction against the realised label (integer points)."""
    if predicted not in (0, 1):
        raise ValueError(f"prediction must be 0 or 1, got {predicted!r}")
    manipulated = label == Label.MANIPULATION
    if predicted == 1:
        if manipulated:
            return SCORE_TP
        return SCORE_FP_DISCOVERY if label == Label.DISCOVERY else SCORE_FP_NONE
    return SCORE_FN if manipulated else SCORE_TN


def reward(predicted: int, label: Label) -> float:
    """The trainer's reward: the on-chain score divided by 10, nothing else."""
    return score(predicted, label) / 10.0

