"""The log reader rebuilds what the simulator handed the trainer, from chain logs alone."""

from __future__ import annotations

import pytest
from web3 import Web3

from chain.client import ChainClient
from marl_detector.calibration import calibrate
from marl_detector.onchain.accounts import chain_time, trader_account
from marl_detector.onchain.deployment import deploy_market
from marl_detector.onchain.market import recording_trades, replay_episode
from marl_detector.onchain.reader import MarketReader, summarize
from marl_detector.sim import PRE_STEPS, STEP, EpisodeSpec, ManipulatorParams, simulate_episode
from marl_detector.social import build_world

SEED = 5


@pytest.fixture(scope="module")
def replayed(anvil):
    """One replay shared by the module (the tests only read, or add blocks that touch no pool)."""
    snapshot = anvil.snapshot()
    operator = ChainClient(anvil.rpc_url, anvil.dev_accounts[0].key.to_0x_hex())
    market, _ = deploy_market(operator, ["BASE"])
    calib = calibrate()
    world = build_world(1, calib)
    spec = EpisodeSpec("c", "campaign", "airdrop", world.clusters_for("train")[0], ManipulatorParams())
    with recording_trades() as rec:
        ep = simulate_episode(world, calib, spec, seed=2)
    offset = chain_time(operator.w3) + 100 - rec[-1].created_at
    replay_episode(operator, market, "SIM", rec[-1], time_offset=offset, seed=SEED)
    try:
        yield operator, market, ep, rec[-1], offset
    finally:
        anvil.revert(snapshot)


def test_reader_rebuilds_the_simulator_observation(replayed):
    operator, market, ep, rec, offset = replayed
    reader = MarketReader(operator.w3, market)
    assert reader.poll() > 0
    assert reader.poll() == 0, "a second poll delivers nothing new"
    sim = ep.observation.market
    obs = reader.history("SIM").observation(sim.t0 + offset, PRE_STEPS * STEP)
    assert (obs.reserve_q_start, obs.reserve_t_start) == (sim.reserve_q_start, sim.reserve_t_start)
    assert len(obs.swaps) == len(sim.swaps) > 0
    for mine, theirs in zip(obs.swaps, sim.swaps):
        assert mine.timestamp == theirs.timestamp + offset
        assert mine.trader == trader_account(SEED, theirs.trader).address
        assert (mine.is_buy, mine.amount_q, mine.amount_t, mine.reserve_q, mine.reserve_t) == (
            theirs.is_buy, theirs.amount_q, theirs.amount_t, theirs.reserve_q, theirs.reserve_t)
    # Holder balances from Transfer logs: the initial holders and every pure buyer hold exactly what the
    # simulator says (noise sellers differ: the simulator lends them tokens, the chain mints them).
    sellers = {s.trader for s in sim.swaps if not s.is_buy}
    checked = 0
    for name, balance in sim.holder_balances.items():
        if name not in sellers:
            assert obs.holder_balances.get(trader_account(SEED, name).address) == balance, name
            checked += 1
    assert checked >= 10
    pool = Web3.to_checksum_address(market.pools["SIM"].pool.address)
    assert pool not in obs.holder_balances
    summary = summarize(obs)
    assert summary.n_swaps == len(sim.swaps) and 0.0 <= summary.buy_pressure <= 1.0
    assert 0.0 < summary.top10_share <= 1.0


def test_reader_resumes_from_its_checkpoint(replayed):
    """Events already folded are never applied twice, even when the stream is polled again after new blocks."""
    operator, market, ep, rec, offset = replayed
    reader = MarketReader(operator.w3, market)
    reader.poll()
    before = len(reader.history("SIM").swaps)
    operator.transact(market.quote.functions.mint(operator.address, 1))  # a block with no pool event
    assert reader.poll() == 0
    assert len(reader.history("SIM").swaps) == before


def test_reader_takes_back_events_of_abandoned_blocks(anvil):
    """A reorg (emulated by reverting and mining a different swap at the same height) is undone, not doubled."""
    from marl_detector.onchain.deployment import WAD
    from marl_detector.onchain.market import OnchainMarket, Trade

    outer = anvil.snapshot()
    try:
        operator = ChainClient(anvil.rpc_url, anvil.dev_accounts[0].key.to_0x_hex())
        market, _ = deploy_market(operator, ["AAA"])
        reader = MarketReader(operator.w3, market)
        t = chain_time(operator.w3) + 10
        OnchainMarket(operator, market.pools["AAA"], market.quote, seed=1).execute(Trade(t, "alice", True, WAD))
        fork_point = anvil.snapshot()
        OnchainMarket(operator, market.pools["AAA"], market.quote, seed=1).execute(Trade(t + 10, "bob", True, 2 * WAD))
        reader.poll()
        assert [s.amount_q for s in reader.history("AAA").swaps] == [WAD, 2 * WAD]
        anvil.revert(fork_point)
        OnchainMarket(operator, market.pools["AAA"], market.quote, seed=1).execute(Trade(t + 20, "carol", False, 10**20))
        operator.transact(market.quote.functions.mint(operator.address, 1))  # make the new branch longer
        reader.poll()
        history = reader.history("AAA")
        assert [(s.is_buy, s.trader) for s in history.swaps] == [
            (True, trader_account(1, "alice").address), (False, trader_account(1, "carol").address)]
        assert len(history.syncs) == 3  # seeding + alice + carol
        assert history.balances_at(t + 21).get(trader_account(1, "bob").address) is None
    finally:
        anvil.revert(outer)
