"""Done-when: a small pump-and-dump campaign on anvil, watched by the live detector end to end.

The market trades for an hour (real swaps signed by simulated accounts), a sybil cluster shills PUMP in the
post feed while retail buys; a requester opens a window on each pool, the live detector (a registered, staked
agent) commits to both before they start, the campaign
pumps and dumps inside the horizon, the detector reveals and resolves, the contract scores it from on-chain
prices, and `symphony eval verify` (in-process) re-derives the same outcomes from the pool logs.
"""

from __future__ import annotations

import json

import pytest

from chain.client import ChainClient
from marl_detector.live import LiveDetector, RuleDetector
from marl_detector.onchain.accounts import mine_at
from marl_detector.onchain.deployment import WAD, deploy_market
from marl_detector.onchain.evaluation import EvaluationLogClient, Status, Window
from marl_detector.onchain.settings import LiveDetectorSettings
from marl_detector.outcome import Label
from symphony.cli.main import main
from tests.detector.campaign import TICKERS, pump_and_dump, stage_market, staked_market

H = 1_200


@pytest.fixture
def campaign(chain, tmp_path):
    anvil = chain.node
    operator = chain.client(0)
    market, manifest = staked_market(anvil, chain.manifest, TICKERS, detectors=(3, 4), seed_quote=50 * WAD,
                                     seed_price_wad=10**14)
    manifest_path = manifest.save(tmp_path / "deployment.json")
    posts = tmp_path / "posts.jsonl"
    books, start = stage_market(operator, market, posts)
    yield anvil, operator, market, manifest_path, books, posts, start


def open_windows(anvil, market, lead: int = 60, horizon: int = H) -> dict[str, Window]:
    """A requester (dev account 2) opens one window per pool, `lead` seconds ahead."""
    requester = EvaluationLogClient(ChainClient(anvil.rpc_url, anvil.dev_accounts[2].key.to_0x_hex()), market.log)
    return {t: requester.open_window(market.pools[t].pool.address, horizon, lead=lead) for t in TICKERS}


def test_live_detector_commits_before_the_pump_and_verify_agrees(campaign, capsys):
    anvil, operator, market, manifest_path, books, posts, start = campaign
    w3 = operator.w3
    detector_client = ChainClient(anvil.rpc_url, anvil.dev_accounts[3].key.to_0x_hex())
    settings = LiveDetectorSettings(horizon_s=H, lookback_s=3_600, commit_every_s=10_000, reveal_after_s=600,
                                    posts_path=posts)
    live = LiveDetector(detector_client, market, RuleDetector(), settings)

    mine_at(w3, start + 3_600)
    assert live.step().committed == []  # nothing to predict until a requester opens a window
    windows = open_windows(anvil, market)
    report = live.step()
    assert len(report.committed) == 2, report.skipped
    by_ticker = {market.pool_by_address(live.pending[i].pool).ticker: live.pending[i] for i in report.committed}
    assert by_ticker["PUMP"].label == 1 and by_ticker["CALM"].label == 0
    assert {t: p.window_id for t, p in by_ticker.items()} == {t: w.id for t, w in windows.items()}
    t0 = by_ticker["PUMP"].t0
    assert t0 == windows["PUMP"].t0 >= start + 3_600
    assert live.step().committed == [], "one entry per window"
    mine_at(w3, t0)
    assert live.step().committed == []
    for p in by_ticker.values():  # hidden until revealed
        assert live.log.get(p.eval_id).status == Status.COMMITTED

    pump_and_dump(books, t0)  # the campaign happens after the commit: pump, then dump everything

    mine_at(w3, t0 + 700)
    report = live.step()
    assert sorted(report.revealed) == sorted(p.eval_id for p in by_ticker.values())
    assert not report.resolved

    mine_at(w3, max(w.t0 for w in windows.values()) + H)  # the two windows may start a second apart
    report = live.step()
    assert sorted(report.resolved) == sorted(p.eval_id for p in by_ticker.values())
    pump_e = live.log.get(by_ticker["PUMP"].eval_id)
    calm_e = live.log.get(by_ticker["CALM"].eval_id)
    assert (pump_e.status, pump_e.outcome, pump_e.score) == (Status.RESOLVED, Label.MANIPULATION, 10)
    assert (calm_e.status, calm_e.outcome, calm_e.score) == (Status.RESOLVED, Label.NONE, 1)
    stats = live.log.stats(detector_client.address)
    assert (stats["true_positives"], stats["true_negatives"], stats["total_score"]) == (1, 1, 11)

    capsys.readouterr()
    assert main(["eval", "verify", "--manifest", str(manifest_path)]) == 0
    assert capsys.readouterr().out.strip().startswith("OK: 2 evaluations (2 resolved, 0 expired, 0 pending) in 2 windows")
    assert main(["eval", "log", "--manifest", str(manifest_path), "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert {e["ticker"]: e["outcome"] for e in listing["entries"]} == {"PUMP": "MANIPULATION", "CALM": "NONE"}
    assert listing["detectors"][detector_client.address]["total_score"] == 11


def test_verify_exits_nonzero_when_a_score_disagrees(campaign, capsys, monkeypatch):
    """If the re-derivation disagreed with the contract, verify must say so and fail (here the Python rule is
    perturbed, standing in for a contract that scores wrongly)."""
    anvil, operator, market, manifest_path, books, posts, start = campaign
    w3 = operator.w3
    live = LiveDetector(ChainClient(anvil.rpc_url, anvil.dev_accounts[3].key.to_0x_hex()), market, RuleDetector(),
                        LiveDetectorSettings(horizon_s=H, lookback_s=3_600, commit_every_s=10_000, posts_path=posts))
    mine_at(w3, start + 3_600)
    windows = open_windows(anvil, market)
    live.step()
    mine_at(w3, max(w.t0 for w in windows.values()) + H + 10)
    assert len(live.step().resolved) == 2

    import marl_detector.onchain.verify as verify

    monkeypatch.setattr(verify, "score", lambda predicted, label: 99)
    capsys.readouterr()
    assert main(["eval", "verify", "--manifest", str(manifest_path)]) == 1
    out = capsys.readouterr().out
    assert "score stored" in out and out.strip().splitlines()[-1].startswith("MISMATCH: 2 evaluations")


def test_detect_run_command_commits(campaign, monkeypatch, capsys):
    """Through the real CLI entry point (`symphony detect run`)."""
    anvil, operator, market, manifest_path, books, posts, start = campaign
    monkeypatch.setenv("HS_TEST_KEY", anvil.dev_accounts[4].key.to_0x_hex())  # anvil dev key, local chain only
    mine_at(operator.w3, start + 3_600)
    windows = open_windows(anvil, market)
    state = posts.parent / "detector-state.json"
    run = ["detect", "run", "--manifest", str(manifest_path), "--key-env", "HS_TEST_KEY", "--posts", str(posts),
           "--horizon", "1200", "--lookback", "3600", "--steps", "1", "--poll", "0.01", "--state", str(state)]
    assert main(run) == 0
    out = capsys.readouterr().out
    assert out.count("committed evaluation #") == 2
    assert int(market.log.functions.evaluationCount().call()) == 2
    # A restarted detector picks its salts up from the state file: it reveals and resolves, commits nothing new.
    mine_at(operator.w3, max(w.t0 for w in windows.values()) + 1_300)
    assert main(run) == 0
    out = capsys.readouterr().out
    assert out.count("revealed  evaluation #") == 2 and out.count("resolved  evaluation #") == 2
    assert "committed" not in out
    # With --open-windows the detector is its own requester: it opens a window per pool and logs opener entries.
    assert main([*run, "--open-windows"]) == 0
    assert capsys.readouterr().out.count("committed evaluation #") == 2
    log = EvaluationLogClient(operator, market.log)
    assert log.window_count() == 4 and all(e.opener_entry for e in log.all()[2:])
    assert main(["detect", "run", "--manifest", str(manifest_path), "--key-env", "HS_TEST_KEY", "--horizon", "1201"]) == 2
    assert "multiple of 4" in capsys.readouterr().err


@pytest.mark.slow  # replays a full simulated episode (~10-40 s on a loaded 2-core box); run with --run-slow
def test_detect_market_command_plays_an_episode(anvil, tmp_path, monkeypatch, capsys):
    snapshot = anvil.snapshot()
    try:
        operator = ChainClient(anvil.rpc_url, anvil.dev_accounts[0].key.to_0x_hex())
        _, manifest = deploy_market(operator, ["BASE"], min_horizon=400)
        path = manifest.save(tmp_path / "deployment.json")
        feed = tmp_path / "feed.jsonl"
        monkeypatch.setenv("HS_OPERATOR_KEY", anvil.dev_accounts[0].key.to_0x_hex())  # anvil dev key, local only
        assert main(["detect", "market", "--manifest", str(path), "--key-env", "HS_OPERATOR_KEY", "--posts", str(feed),
                     "--episodes", "1", "--kinds", "quiet", "--seed", "2"]) == 0
        line = capsys.readouterr().out.strip()
        assert line.startswith("SIM1: quiet") and "realised=" in line
        assert feed.exists() and feed.read_text().count("\n") >= 1
    finally:
        anvil.revert(snapshot)


def test_detect_market_rejects_unknown_kinds(campaign, monkeypatch, capsys):
    anvil, operator, market, manifest_path, books, posts, start = campaign
    monkeypatch.setenv("HS_OPERATOR_KEY", anvil.dev_accounts[0].key.to_0x_hex())  # anvil dev key, local only
    assert main(["detect", "market", "--manifest", str(manifest_path), "--key-env", "HS_OPERATOR_KEY",
                 "--posts", str(posts), "--kinds", "campaign,rugpull"]) == 2
    assert "unknown episode kind" in capsys.readouterr().err


def test_state_from_another_deployment_is_ignored(campaign, tmp_path):
    """A salt file left by an earlier chain at the same addresses must not make the detector reveal garbage."""
    anvil, operator, market, manifest_path, books, posts, start = campaign
    state = tmp_path / "stale.json"  # a v1 state file: no window ids
    state.write_text(json.dumps({"pending": [{"eval_id": 0, "pool": market.pools["PUMP"].pool.address, "horizon": 1200,
                                              "label": 1, "confidence": 5, "model_hash": "00" * 32, "salt": "11" * 32,
                                              "t0": 1}], "open": [], "extra": {"next_due": {"PUMP": 2**60}}}))
    settings = LiveDetectorSettings(horizon_s=H, lookback_s=3_600, posts_path=posts, state_path=state)
    live = LiveDetector(ChainClient(anvil.rpc_url, anvil.dev_accounts[3].key.to_0x_hex()), market, RuleDetector(), settings)
    assert live.pending == {} and live.next_due == {}
    mine_at(operator.w3, start + 3_600)
    open_windows(anvil, market)
    assert len(live.step().committed) == 2


def test_a_keeper_resolving_first_does_not_break_the_detector(campaign):
    """If the horizon passes before the detector reveals and a keeper resolves first, the entry expires (-15)
    and the detector carries on instead of crashing on the refused reveal."""
    anvil, operator, market, manifest_path, books, posts, start = campaign
    live = LiveDetector(ChainClient(anvil.rpc_url, anvil.dev_accounts[3].key.to_0x_hex()), market, RuleDetector(),
                        LiveDetectorSettings(horizon_s=H, lookback_s=3_600, commit_every_s=100_000, posts_path=posts))
    mine_at(operator.w3, start + 3_600)
    windows = open_windows(anvil, market)
    ids = live.step().committed
    keeper = EvaluationLogClient(operator, market.log)
    mine_at(operator.w3, max(w.t0 for w in windows.values()) + H + 5)
    for i in ids:
        assert keeper.resolve(i).status == Status.EXPIRED
    report = live.step()
    assert report.revealed == [] and report.resolved == []
    assert len(report.skipped) == 2 and all("reveal refused" in s for s in report.skipped)
    assert live.pending == {} and live.open == {}
