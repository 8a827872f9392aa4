"""`symphony detect run` as a real process on anvil (issue #17): it follows pools created after it started and says
so, a SIGTERM reveals what can be revealed and prices the rest in one line, and a restart reveals what was left
from its state file before anything expires."""

from __future__ import annotations

import signal

import pytest

from marl_detector.onchain.accounts import chain_time, mine_at
from marl_detector.onchain.deployment import WAD
from marl_detector.onchain.evaluation import EvaluationLogClient, Status
from marl_detector.onchain.market import launch_pool
from symphony.cli.main import main
from tests.detector.campaign import staked_market
from tests.detector.live_process import KEY_ENV, DetectRun

H = 1_200


@pytest.fixture
def market_on_disk(chain, tmp_path):
    """One seeded pool OLD on the session ledger, detector account 3 registered, the manifest on disk."""
    market, manifest = staked_market(chain.node, chain.manifest, ["OLD"], detectors=(3,))
    path = manifest.save(tmp_path / "deployment.json")
    operator = chain.client(0)
    mine_at(operator.w3, chain_time(operator.w3) + 100)  # some price history before any window opens
    return market, path


def test_detect_run_watches_a_pool_created_after_it_started(chain, market_on_disk, tmp_path):
    market, path = market_on_disk
    operator = chain.client(0)
    run = DetectRun(chain.node, path, tmp_path / "state.json")
    try:
        run.wait_for("following factory")
        assert any(line == f"watching  OLD {market.pools['OLD'].pool.address}" for line in run.out), run.transcript()
        launched = chain_time(operator.w3) + 120  # room for the token deployment before the seeding block
        new = launch_pool(operator, market, "NEW", 50 * WAD, 500_000 * WAD, launched)  # the market operator, meanwhile
        run.wait_for(f"watching  NEW {new.pool.address} (new pool)")
        mine_at(operator.w3, launched + 200)
        window = EvaluationLogClient(chain.client(2), market.log).open_window(new.pool.address, H, lead=200)
        run.wait_for("committed evaluation #0")
        entry = EvaluationLogClient(operator, market.log).get(0)
        assert (entry.window_id, entry.pool, entry.detector) == (window.id, new.pool.address, chain.client(3).address)
        assert entry.status == Status.COMMITTED
    finally:
        run.kill()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_sigterm_reveals_what_it_can_and_a_restart_reveals_the_rest(chain, market_on_disk, tmp_path, monkeypatch, capsys,
                                                                    signum):
    market, path = market_on_disk
    operator = chain.client(0)
    log = EvaluationLogClient(operator, market.log)
    requester = EvaluationLogClient(chain.client(2), market.log)
    pool = market.pools["OLD"].pool.address
    soon = requester.open_window(pool, H, lead=20)
    later = requester.open_window(pool, H, lead=H // 4 - 5)
    state = tmp_path / "state.json"
    run = DetectRun(chain.node, path, state)
    try:
        run.wait_for("committed evaluation #1")
        assert log.get(0).status == log.get(1).status == Status.COMMITTED
        mine_at(operator.w3, soon.t0 + 1)  # the first window takes no more commits; the second still does
        assert run.stop(signum) == 0, run.transcript()
    finally:
        run.kill()
    assert "revealed 1 predictions before stopping: #0" in run.out, run.transcript()
    (cost,) = [line for line in run.out if line.startswith("NOT revealed: #1 ")]
    assert f"they expire at -15 points in total unless this detector is restarted with --state {state}" in cost
    assert f"1 revealed predictions await resolution from chain time {soon.t0 + H} on" in run.transcript()
    assert run.out[-1] == "stopped"
    assert log.get(0).status == Status.REVEALED and log.get(1).status == Status.COMMITTED

    # The restart, once the second window has started (and long before its horizon): revealed from the state file.
    mine_at(operator.w3, later.t0 + 1)
    monkeypatch.setenv(KEY_ENV, chain.node.dev_accounts[3].key.to_0x_hex())  # anvil dev key, local chain only
    capsys.readouterr()
    assert main(run.args[3:] + ["--steps", "1"]) == 0
    out = capsys.readouterr().out
    assert f"restored 2 unsettled predictions from {state}" in out and "revealed  evaluation #1" in out
    assert log.get(1).status == Status.REVEALED and chain_time(operator.w3) < later.t0 + H
    assert "NOT revealed" not in out


@pytest.mark.slow  # two simulated episodes played at 1500x (~1-2 min on 2 cores); run with --run-slow
def test_the_documented_two_terminal_flow(chain, tmp_path):
    """docs/hideshill.md, "On chain: quick start": `detect market` in one process, `detect run --open-windows` in
    another started once the market is deployed; the detector follows the pools the market launches after it started,
    commits, and a SIGTERM leaves nothing unaccounted for."""
    import os
    import subprocess
    import sys

    from chain.deploy import Manifest
    from core.paths import PROJECT_ROOT

    path = chain.manifest.model_copy(deep=True).save(tmp_path / "deployment.json")  # core contracts only: no market
    feed = tmp_path / "feed.jsonl"
    env = {**os.environ, "HS_MARKET_KEY": chain.node.dev_accounts[0].key.to_0x_hex()}  # anvil dev key
    market_cmd = [sys.executable, "-m", "symphony.cli.main", "detect", "market", "--posts", str(feed), "--episodes", "2",
                  "--speedup", "1500", "--kinds", "quiet", "--tail", "600", "--manifest", str(path), "--key-env",
                  "HS_MARKET_KEY"]
    market = subprocess.Popen(market_cmd, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    run = None
    try:
        first = market.stdout.readline()
        assert first.startswith("deployed market: "), first
        run = DetectRun(chain.node, path, tmp_path / "state.json", "--posts", str(feed), "--open-windows", "--lead", "3000",
                        key_index=2, poll=0.1, horizon=None)
        run.wait_for("following factory")
        discovered = run.wait_for("(new pool)", timeout=180)
        assert discovered.startswith("watching  SIM"), discovered
        run.wait_for("committed evaluation #", timeout=120)
        rest, _ = market.communicate(timeout=300)
        assert market.returncode == 0 and "played 2 episodes" in rest, rest
        assert run.stop() == 0, run.transcript()
    finally:
        market.kill()
        if run is not None:
            run.kill()
    assert not run.err, run.transcript()
    assert run.out[-1] == "stopped", run.transcript()
    # Windows it opened itself and that have not started yet stay hidden, each named in the one cost line.
    hidden_named: set[int] = set()
    for line in run.out:
        if line.startswith("NOT revealed: "):
            assert "they expire at -" in line and "restarted with --state" in line, line
            hidden_named = {int(x.strip().lstrip("#")) for x in line.removeprefix("NOT revealed: ").split(" (")[0].split(",")}
    from chain.compile import compile_contracts

    operator = chain.client(0)
    log = EvaluationLogClient(operator, operator.contract(Manifest.load(path).address("HideShill.EvaluationLog"),
                                                         compile_contracts()["EvaluationLog"].abi, "EvaluationLog"))
    entries = log.all(chain.client(2).address)
    assert len(entries) > len(hidden_named)
    assert {e.id for e in entries if e.status == Status.COMMITTED} == hidden_named, run.transcript()


def test_a_restart_names_what_expired_while_it_was_stopped(chain, market_on_disk, tmp_path, monkeypatch, capsys):
    market, path = market_on_disk
    operator = chain.client(0)
    window = EvaluationLogClient(chain.client(2), market.log).open_window(market.pools["OLD"].pool.address, H, lead=100)
    monkeypatch.setenv(KEY_ENV, chain.node.dev_accounts[3].key.to_0x_hex())  # anvil dev key, local chain only
    args = ["detect", "run", "--manifest", str(path), "--key-env", KEY_ENV, "--detector", "rule", "--horizon", str(H),
            "--poll", "0.01", "--steps", "1", "--state", str(tmp_path / "state.json")]
    assert main(args) == 0  # commits; its window has not started, so the stop keeps it hidden
    mine_at(operator.w3, window.t0 + H)
    log = EvaluationLogClient(operator, market.log)
    assert log.resolve(0).status == Status.EXPIRED  # a keeper, while the detector was stopped
    capsys.readouterr()
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "expired while stopped: #0 (resolved by somebody else before this detector could reveal them: -15 points each)" in out
    assert "restored" not in out


def test_a_pool_without_liquidity_yet_is_reported_once(chain, market_on_disk):
    from chain.compile import compile_contracts
    from marl_detector.live import LiveDetector, RuleDetector
    from marl_detector.onchain.settings import LiveDetectorSettings

    market, _path = market_on_disk
    operator = chain.client(0)
    live = LiveDetector(chain.client(3), market, RuleDetector(), LiveDetectorSettings(horizon_s=H, open_windows=True))
    token = operator.deploy(compile_contracts()["MemeToken"], "DRY", "DRY")
    operator.transact(market.factory.functions.createPool(token.address))  # created, not seeded
    first, second = live.step(), live.step()
    assert [p.split()[0] for p in first.discovered] == ["DRY"]
    assert [s for s in first.skipped if s.startswith("DRY")] == ["DRY: no price history yet (no window until its first liquidity)"]
    assert not [s for s in second.skipped if s.startswith("DRY")], "said once, not on every pass"
