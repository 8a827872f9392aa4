"""Outcome rule and score: the thresholds, their edge cases and Solidity's signed division."""

from __future__ import annotations

import pytest

from marl_detector.amm import WAD, AMMError, HistoryUnavailable, Pool
from marl_detector.outcome import (
    Label,
    _sdiv,
    classify,
    commit_base,
    resolve,
    reward,
    score,
)

B = 10_000 * 10**12  # any positive base price


def _px(bp: int) -> int:
    """A price `bp` basis points above B (exact, since B is a multiple of 10_000)."""
    return B + B * bp // 10_000


def test_sdiv_truncates_toward_zero_like_solidity() -> None:
    assert _sdiv(-7, 2) == -3
    assert _sdiv(7, -2) == -3
    assert _sdiv(7, 2) == 3
    assert (-7) // 2 == -4  # what we must NOT do


def test_below_theta_is_none_and_theta_itself_is_abnormal() -> None:
    assert classify(B, [_px(999)] * 4).label == Label.NONE
    out = classify(B, [_px(1000), _px(200), _px(100), _px(0)])
    assert out.r_peak_bp == 1000 and out.label == Label.MANIPULATION


def test_reversal_boundary_rho_half_of_peak() -> None:
    # end keeps exactly half of the peak: still manipulation (<=)
    assert classify(B, [_px(2000), _px(1500), _px(1200), _px(1000)]).label == Label.MANIPULATION
    # one basis point more than half: discovery
    assert classify(B, [_px(2000), _px(1500), _px(1200), _px(1001)]).label == Label.DISCOVERY
    # persistent rise that peaks at the end: discovery
    assert classify(B, [_px(500), _px(900), _px(1200), _px(1500)]).label == Label.DISCOVERY
    # crash below base after a pump: manipulation, with a negative end return truncated toward zero
    out = classify(B, [_px(3000), _px(100), _px(-200), _px(-450)])
    assert out.label == Label.MANIPULATION and out.r_end_bp == -450


def test_negative_return_rounding_matches_int256() -> None:
    out = classify(3, [4, 4, 4, 2])  # (2-3)*10000/3 = -3333.33 -> -3333 (Python floor would give -3334)
    assert out.r_end_bp == -3333


def test_classify_rejects_bad_input() -> None:
    with pytest.raises(AMMError):
        classify(0, [1, 1, 1, 1])
    with pytest.raises(AMMError):
        classify(1, [1, 1, 1])


def test_score_table_and_reward() -> None:
    assert score(1, Label.MANIPULATION) == 10
    assert score(0, Label.NONE) == 1 and score(0, Label.DISCOVERY) == 1
    assert score(0, Label.MANIPULATION) == -5
    assert score(1, Label.NONE) == -5
    assert score(1, Label.DISCOVERY) == -15
    assert reward(1, Label.DISCOVERY) == -1.5
    with pytest.raises(ValueError):
        score(2, Label.NONE)


def test_resolve_on_a_pool_pump_and_dump_vs_news() -> None:
    h, t0 = 400, 1000
    # pump and dump: buy hard in the first quarter, dump everything in the second
    pool = Pool.create(100 * WAD, 1_000_000 * WAD, now=0)
    pool.swap_q_for_t(WAD, now=500)
    bought = pool.swap_q_for_t(40 * WAD, now=t0 + 1)
    pool.swap_t_for_q(bought, now=t0 + 110)
    out = resolve(pool, t0, h)
    assert out.label == Label.MANIPULATION and out.binary == 1
    # news: persistent buying that stays
    pool = Pool.create(100 * WAD, 1_000_000 * WAD, now=0)
    pool.swap_q_for_t(WAD, now=500)
    pool.swap_q_for_t(40 * WAD, now=t0 + 1)
    assert resolve(pool, t0, h).label == Label.DISCOVERY


def test_base_clamps_to_oldest_observation_and_refuses_no_history() -> None:
    pool = Pool.create(100 * WAD, 100 * WAD, now=1000)
    # window start 900 is before creation: clamped to 1000
    assert commit_base(pool, 1040, 400) == pool.twap(1000, 1040)
    with pytest.raises(HistoryUnavailable):
        commit_base(pool, 1000, 400)
    with pytest.raises(AMMError):
        commit_base(pool, 1040, 402)
