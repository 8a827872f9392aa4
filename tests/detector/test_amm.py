"""AMM arithmetic: the exact integer formulas of docs/hideshill_protocol.md and the TWAP oracle."""

from __future__ import annotations

import pytest

from marl_detector.amm import (
    WAD,
    AMMError,
    HistoryUnavailable,
    Pool,
    get_amount_out,
    spot_price,
)


def test_amount_out_matches_uniswap_v2_formula_and_keeps_k_growing() -> None:
    r_in, r_out, a = 1000 * WAD, 5_000_000 * WAD, 7 * WAD + 3
    out = get_amount_out(a, r_in, r_out)
    assert out == (a * 997 * r_out) // (r_in * 1000 + a * 997)
    # the fee means k never decreases
    assert (r_in + a) * (r_out - out) >= r_in * r_out
    # without fee the output would be strictly larger
    assert out < a * r_out // (r_in + a)


def test_spot_price_is_wad_scaled_floor() -> None:
    assert spot_price(3, 2) == 3 * WAD // 2
    assert spot_price(1, 3) == WAD // 3


def test_bad_inputs_raise_clear_errors() -> None:
    with pytest.raises(AMMError):
        get_amount_out(0, 10, 10)
    with pytest.raises(AMMError):
        Pool.create(0, 10, now=0)
    pool = Pool.create(10 * WAD, 10 * WAD, now=100)
    with pytest.raises(AMMError):
        pool.swap_q_for_t(WAD, now=99)
    with pytest.raises(AMMError):
        pool.twap(150, 150)


def test_buy_raises_and_sell_lowers_price() -> None:
    pool = Pool.create(100 * WAD, 1_000_000 * WAD, now=0)
    p0 = pool.price()
    got = pool.swap_q_for_t(10 * WAD, now=10)
    assert pool.price() > p0
    pool.swap_t_for_q(got, now=20)
    # round trip loses the fee twice, so the pool keeps a little more Q than it started with
    assert pool.reserve_q > 100 * WAD
    assert pool.reserve_t == 1_000_000 * WAD


def test_cumulative_price_accumulates_pre_change_price() -> None:
    pool = Pool.create(100 * WAD, 100 * WAD, now=1000)  # price 1.0
    p0 = pool.price()
    pool.swap_q_for_t(50 * WAD, now=1010)
    assert pool.cum == p0 * 10
    p1 = pool.price()
    pool.swap_q_for_t(WAD, now=1010)  # same block: no accumulation, no new observation
    assert pool.cum == p0 * 10
    assert len(pool.observations) == 2
    p2 = pool.price()
    assert p2 > p1
    pool.swap_t_for_q(WAD, now=1030)
    assert pool.cum == p0 * 10 + p2 * 20
    # interpolation between observations is exact and extrapolation uses the current spot
    assert pool.cumulative_at(1005) == p0 * 5
    assert pool.cumulative_at(1020) == p0 * 10 + p2 * 10
    assert pool.cumulative_at(1050) == pool.cum + pool.price() * 20
    assert pool.twap(1000, 1010) == p0
    assert pool.twap(1010, 1030) == p2
    assert pool.twap(1000, 1030) == (p0 * 10 + p2 * 20) // 30


def test_history_is_never_truncated() -> None:
    """Like the contract since protocol v2: every observation since creation stays, so no number of swaps can
    push a window out of the oracle."""
    pool = Pool.create(100 * WAD, 100 * WAD, now=0)
    p0 = pool.price()
    for t in range(1, 1_035):
        pool.swap_q_for_t(WAD // 100, now=t)
    assert len(pool.observations) == 1_035
    assert pool.oldest_observation_time() == 0
    assert pool.cumulative_at(1) == p0
    with pytest.raises(HistoryUnavailable):
        pool.cumulative_at(-1)
