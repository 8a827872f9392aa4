"""Parity: the Python simulator's AMM and outcome rule versus the contracts, on the simulator's own trades.

Each simulated episode (one per realised label) is recorded, replayed swap by swap on anvil at the same
(shifted) timestamps — `OnchainMarket` checks every amountOut and reserve against the Python pool as it goes —
a requester opens a window starting at the episode's `t0` one second earlier, two registered detectors commit
(one says manipulation, one says not), and after `t0 + H` the contract resolves both. The contract's sub-window
TWAPs equal the simulator's bit for bit; its base (the TWAP of the quarter before the *opening*, protocol v2) and
therefore returns, label and scores equal the Python rule applied to the mirrored pool with that base; the label
is the simulator's; and the pool's `cumulativeAt` equals the Python oracle's.
"""

from __future__ import annotations

import pytest

from chain.client import ChainClient
from marl_detector.calibration import calibrate
from marl_detector.onchain.accounts import chain_time, mine_at, set_next_block_time
from marl_detector.onchain.evaluation import EvaluationLogClient, Status, model_hash_of
from marl_detector.onchain.market import recording_trades, replay_episode
from marl_detector.onchain.verify import verify_log
from marl_detector.outcome import Label, commit_base, resolve, score
from marl_detector.sim import HORIZON, EpisodeSpec, ManipulatorParams, simulate_episode
from marl_detector.social import build_world
from tests.detector.campaign import staked_market

WANTED = {"campaign": Label.MANIPULATION, "news": Label.DISCOVERY, "quiet": Label.NONE}


@pytest.fixture(scope="module")
def world():
    calib = calibrate()
    return calib, build_world(1, calib)


@pytest.fixture
def env(anvil, deployment):
    snapshot = anvil.snapshot()
    operator = ChainClient(anvil.rpc_url, anvil.dev_accounts[0].key.to_0x_hex())
    market, _ = staked_market(anvil, deployment, ["BASE"], detectors=(1, 2))
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

    opened: dict[str, int] = {}

    def commit_at_t0() -> None:
        pool = market.pools[kind].pool.address
        set_next_block_time(w3, t0 - 1)
        window = EvaluationLogClient(operator, market.log).open_window(pool, HORIZON, t0=t0)
        opened["at"] = window.opened_at
        for p, det in detectors.items():
            set_next_block_time(w3, t0 - 1)
            pending[p] = det.commit(window.id, p, 6_000 + p, model_hash_of("parity"))
            set_next_block_time(w3, t0 - 1)
            det.reveal(pending[p])

    onchain = replay_episode(operator, market, kind, rec, time_offset=offset, seed=7,
                             hooks={ep.observation.t0: commit_at_t0})
    assert len(onchain.executed) == len(rec.trades)
    assert all(p.t0 == t0 for p in pending.values()), "the window starts at the episode's t0"
    assert opened["at"] == t0 - 1, "opened (and committed) one second before it"

    mine_at(w3, t0 + HORIZON)
    resolver = EvaluationLogClient(operator, market.log)
    expected = resolve(onchain.mirror, t0, HORIZON, base=commit_base(onchain.mirror, t0 - 1, HORIZON))
    assert expected.sub_twaps == ep.outcome.sub_twaps, "the mirror replays the simulator's prices"
    for p, pred in pending.items():
        e = resolver.resolve(pred.eval_id)
        assert e.status == Status.RESOLVED
        assert e.base == expected.base
        assert e.outcome == expected.label == ep.outcome.label == WANTED[kind]
        assert (e.r_peak_bp, e.r_end_bp) == (expected.r_peak_bp, expected.r_end_bp)
        assert e.score == score(p, expected.label)
    # The window's four sub-window TWAPs, from the event that settled it (once, for both entries).
    logs = market.log.events.WindowSettled().get_logs(from_block=0)
    assert [tuple(ev["args"]["subTwaps"]) for ev in logs] == [expected.sub_twaps]

    # The pool's oracle equals the Python oracle (mirrored in lockstep, same shifted clock) at every boundary.
    pool = market.pools[kind].pool
    q = HORIZON // 4
    for t in [rec.created_at + offset, t0 - q, t0 - 1, t0, *(t0 + k * q for k in range(1, 5)), t0 + 77]:
        assert pool.functions.cumulativeAt(t).call() == onchain.mirror.cumulative_at(t), t

    # The independent verifier agrees with everything the contract logged.
    report = verify_log(resolver, market)
    assert report.ok, report.mismatches
    assert report.resolved == 2
