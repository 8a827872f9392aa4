"""Parity: the Python simulator's AMM and outcome rule versus the contracts, on the simulator's own trades.

Each simulated episode (one per realised label) is recorded, replayed swap by swap on anvil at the same
(shifted) timestamps — `OnchainMarket` checks every amountOut and reserve against the Python pool as it goes —
two detectors commit at the episode's `t0` (one says manipulation, one says not), and after `t0 + H` the
contract resolves both. The contract's base price, sub-window TWAPs, returns, label and scores must equal the
simulator's `resolve()` output bit for bit, and the pool's `cumulativeAt` must equal the Python oracle's.
"""

from __future__ import annotations

import pytest

from chain.client import ChainClient
from marl_detector.calibration import calibrate
from marl_detector.onchain.accounts import chain_time, mine_at, set_next_block_time
from marl_detector.onchain.deployment import deploy_market
from marl_detector.onchain.evaluation import EvaluationLogClient, Status, model_hash_of
from marl_detector.onchain.market import recording_trades, replay_episode
from marl_detector.onchain.verify import verify_log
from marl_detector.outcome import Label, score
from marl_detector.sim import HORIZON, EpisodeSpec, ManipulatorParams, simulate_episode
from marl_detector.social import build_world

WANTED = {"campaign": Label.MANIPULATION, "news": Label.DISCOVERY, "quiet": Label.NONE}


@pytest.fixture(scope="module")
def world():
    calib = calibrate()
    return calib, build_world(1, calib)


@pytest.fixture
def env(anvil):
    snapshot = anvil.snapshot()
    operator = ChainClient(anvil.rpc_url, anvil.dev_accounts[0].key.to_0x_hex())
    market, _ = deploy_market(operator, ["BASE"])
    try:
        yield anvil, operator, market
    finally:
        anvil.revert(snapshot)


def _episode_with_label(world, kind: str):
    """The first seed whose *realised* label is the one this kind usually produces (labels are never forced)."""
    calib, w = world
    for seed in range(40):
        spec = EpisodeSpec(f"{kind}-{seed}", kind, "moon_emoji" if kind == "campaign" else "",
                           w.clusters_for("train")[0] if kind == "campaign" else -1,
                           ManipulatorParams() if kind == "campaign" else None)
        with recording_trades() as recorded:
            ep = simulate_episode(w, calib, spec, seed=seed)
        if ep.outcome.label == WANTED[kind]:
            return ep, recorded[-1]
    pytest.fail(f"no {kind} episode with label {WANTED[kind].name} in 40 seeds")


@pytest.mark.parametrize("kind", ["campaign", "news", "quiet"])
def test_contract_matches_simulator(env, world, kind):
    anvil, operator, market = env
    w3 = operator.w3
    ep, rec = _episode_with_label(world, kind)
    assert rec.trades, "the episode traded"
    offset = chain_time(w3) + 100 - rec.created_at
    t0 = ep.observation.t0 + offset
    detectors = {p: EvaluationLogClient(ChainClient(anvil.rpc_url, anvil.dev_accounts[1 + p].key.to_0x_hex()), market.log)
                 for p in (0, 1)}
    pending = {}

    def commit_at_t0() -> None:
        pool = market.pools[kind].pool.address
        for p, det in detectors.items():
            set_next_block_time(w3, t0)
            pending[p] = det.commit(pool, HORIZON, p, 6_000 + p, model_hash_of("parity"))
            set_next_block_time(w3, t0)
            det.reveal(pending[p])

    onchain = replay_episode(operator, market, kind, rec, time_offset=offset, seed=7,
                             hooks={ep.observation.t0: commit_at_t0})
    assert len(onchain.executed) == len(rec.trades)
    assert all(p.t0 == t0 for p in pending.values()), "commits were mined at the episode's t0"

    mine_at(w3, t0 + HORIZON)
    resolver = EvaluationLogClient(operator, market.log)
    expected = ep.outcome
    for p, pred in pending.items():
        e = resolver.resolve(pred.eval_id)
        assert e.status == Status.RESOLVED
        assert e.base == expected.base
        assert e.outcome == expected.label == WANTED[kind]
        assert (e.r_peak_bp, e.r_end_bp) == (expected.r_peak_bp, expected.r_end_bp)
        assert e.score == score(p, expected.label)
    # The resolver's four sub-window TWAPs, from its event.
    logs = market.log.events.Resolved().get_logs(from_block=0)
    assert {tuple(ev["args"]["subTwaps"]) for ev in logs} == {expected.sub_twaps}

    # The pool's oracle equals the Python oracle (mirrored in lockstep, same shifted clock) at every boundary.
    pool = market.pools[kind].pool
    q = HORIZON // 4
    for t in [rec.created_at + offset, t0 - q, t0 - 1, t0, *(t0 + k * q for k in range(1, 5)), t0 + 77]:
        assert pool.functions.cumulativeAt(t).call() == onchain.mirror.cumulative_at(t), t

    # The independent verifier agrees with everything the contract logged.
    report = verify_log(resolver, market)
    assert report.ok, report.mismatches
    assert report.resolved == 2
