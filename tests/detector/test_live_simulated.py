"""The live detector on a simulator-generated campaign: trades replayed on anvil, the feed written by the
simulator's own posts, a window opened for the episode's t0 one second before it (the detector commits then),
and the contract's score equal to the one the simulator's outcome implies for whatever the detector said."""

from __future__ import annotations

import pytest

from chain.client import ChainClient
from marl_detector.calibration import calibrate
from marl_detector.live import LiveDetector, RuleDetector
from marl_detector.onchain.accounts import mine_at, set_next_block_time
from marl_detector.onchain.campaign import play_episode
from marl_detector.onchain.evaluation import EvaluationLogClient, Status
from marl_detector.onchain.settings import LiveDetectorSettings
from marl_detector.outcome import commit_base, resolve, score
from marl_detector.sim import HORIZON, PRE_STEPS, STEP, EpisodeSpec, ManipulatorParams, simulate_episode
from marl_detector.social import build_world
from symphony.cli.main import main
from tests.detector.campaign import staked_market


@pytest.mark.slow  # ~10-35 s (a full 8-hour episode replayed swap by swap); run with --run-slow
def test_live_detector_on_a_simulated_campaign(anvil, deployment, tmp_path, capsys):
    snapshot = anvil.snapshot()
    try:
        operator = ChainClient(anvil.rpc_url, anvil.dev_accounts[0].key.to_0x_hex())
        market, manifest = staked_market(anvil, deployment, ["BASE"], detectors=(2,))
        manifest_path = manifest.save(tmp_path / "deployment.json")
        feed = tmp_path / "feed.jsonl"
        calib = calibrate()
        world = build_world(1, calib)
        spec = EpisodeSpec("live", "campaign", "moon_emoji", world.clusters_for("train")[0], ManipulatorParams(intensity=0.9))
        live_box: dict[str, LiveDetector] = {}
        committed: list[int] = []

        def at_t0(t0: int) -> None:
            # The pool only exists once the replay has launched it, so the detector is built here.
            live = LiveDetector(ChainClient(anvil.rpc_url, anvil.dev_accounts[2].key.to_0x_hex()), market,
                                RuleDetector(), LiveDetectorSettings(horizon_s=HORIZON, lookback_s=PRE_STEPS * STEP,
                                                                     commit_every_s=10 * HORIZON, posts_path=feed))
            live_box["live"] = live
            set_next_block_time(operator.w3, t0 - 1)
            EvaluationLogClient(operator, market.log).open_window(market.pools["SIM"].pool.address, HORIZON, t0=t0)
            set_next_block_time(operator.w3, t0 - 1)
            committed.extend(live.step().committed)

        played = play_episode(operator, market, "SIM", lambda: simulate_episode(world, calib, spec, seed=4), feed,
                              seed=3, at_t0=at_t0)
        live = live_box["live"]
        assert len(committed) == 1
        p = live.open.get(committed[0]) or live.pending[committed[0]]
        assert p.t0 == played.t0, "the window starts at the episode's t0"
        assert live.log.get(committed[0]).committed_at == played.t0 - 1, "committed one second before it"
        assert played.time_offset % (7 * 86_400) == 0, "hour of day and weekday (detector features) survive the shift"
        assert feed.read_text().count("\n") == len(played.episode.observation.social.posts) > 0

        mine_at(operator.w3, played.t0 + HORIZON)
        report = live.step()
        assert report.resolved == committed
        e = live.log.get(committed[0])
        mirror = played.market.mirror
        expected = resolve(mirror, played.t0, HORIZON, base=commit_base(mirror, played.t0 - 1, HORIZON))
        assert e.status == Status.RESOLVED
        assert (e.outcome, e.base, e.r_peak_bp, e.r_end_bp) == (expected.label, expected.base, expected.r_peak_bp, expected.r_end_bp)
        assert e.outcome == played.episode.outcome.label
        assert e.score == score(p.label, expected.label)
        capsys.readouterr()
        assert main(["eval", "verify", "--manifest", str(manifest_path)]) == 0
    finally:
        anvil.revert(snapshot)
