"""`symphony detect agent` as real processes and `symphony detect ask` through the CLI entry point; bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from marl_detector.committee.agent import DETECTOR_TAG
from marl_detector.onchain.accounts import mine_at
from marl_detector.onchain.deployment import WAD, deploy_market
from symphony.cli.main import main
from tests.detector.campaign import TICKERS, stage_market


@pytest.fixture
def market_scene(chain, tmp_path):
    operator = chain.client(0)
    market, manifest = deploy_market(operator, TICKERS, seed_quote=50 * WAD, seed_price_wad=10**14, min_horizon=400,
                                     ledger=chain.manifest.address("CapabilityLedger"),
                                     manifest=chain.manifest.model_copy(deep=True))
    manifest_path = manifest.save(tmp_path / "deployment.json")
    posts = tmp_path / "posts.jsonl"
    books, start = stage_market(operator, market, posts)
    mine_at(operator.w3, start + 3_600)
    return chain, manifest_path, posts


def _start_agent(chain, index: int, name: str, manifest_path, posts, work) -> subprocess.Popen:
    env = {**os.environ, "DETECTOR_KEY": chain.node.dev_accounts[index].key.to_0x_hex(),  # anvil dev key, local chain only
           "SYMPHONY_STATE_DIR": str(work), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    log = open(work / f"{name}.log", "a")
    return subprocess.Popen([sys.executable, "-m", "symphony.cli.main", "detect", "agent", "--manifest", str(manifest_path),
                             "--key-env", "DETECTOR_KEY", "--name", name, "--posts", str(posts), "--state-dir", str(work / "agents"),
                             # The staged campaign (8 three-day-old accounts) is the rule baseline's case; this test
                             # checks the committee's processes and CLI. How well the shipped (default) detector flags
                             # campaigns is scripts/bench_detector_live.py's measurement.
                             "--detector", "rule", "--seconds", "300"], stdout=log, stderr=subprocess.STDOUT, env=env)


def test_detect_agent_processes_answer_detect_ask(market_scene, tmp_path, monkeypatch, capsys):
    chain, manifest_path, posts = market_scene
    ledger = chain.contracts(0).ledger
    procs = [_start_agent(chain, i, f"det{i}", manifest_path, posts, tmp_path) for i in (1, 2)]
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            detectors = [a for a in ledger.active_agents() if DETECTOR_TAG in a.tags and a.available]
            if len(detectors) == 2 or any(p.poll() is not None for p in procs):
                break
            time.sleep(0.5)
        assert len(detectors) == 2, (tmp_path / "det1.log").read_text()[-2000:]

        monkeypatch.setenv("ASKER_KEY", chain.node.dev_accounts[5].key.to_0x_hex())
        ask = ["detect", "ask", "--manifest", str(manifest_path), "--key-env", "ASKER_KEY", "--horizon", "1200",
               "--lookback", "3600", "--state", str(tmp_path / "committee.json")]
        capsys.readouterr()
        assert main([*ask, "PUMP", "--json"]) == 0
        verdict = json.loads(capsys.readouterr().out)
        assert verdict["answer"] == "manipulation" and verdict["label"] == 1
        assert {v["agent"] for v in verdict["votes"]} == {a.agent for a in detectors}
        assert all(v["answer"] == "manipulation" and v["evaluation_id"] is not None for v in verdict["votes"])
        assert int(verdict["winning_weight"]) == int(verdict["total_weight"]) > 0
        assert verdict["evaluation_id"] is not None and verdict["window_id"] == 0

        # Bad input: one line on stderr, exit 2, nothing posted.
        beacons = chain.contracts(0).beacon.task_count()
        assert main([*ask, "NOPE"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "no pool 'NOPE' in this market" in err
        assert main([*ask, "PUMP", "--horizon", "1201"]) == 2
        assert "horizon_s" in capsys.readouterr().err
        assert chain.contracts(0).beacon.task_count() == beacons
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=30)
    assert all(p.returncode == 0 for p in procs)
    assert "stopped" in (tmp_path / "det1.log").read_text()


def test_detect_ask_without_detector_agents_fails_cleanly(market_scene, tmp_path, monkeypatch, capsys):
    chain, manifest_path, _ = market_scene
    monkeypatch.setenv("ASKER_KEY", chain.node.dev_accounts[5].key.to_0x_hex())
    assert main(["detect", "ask", "PUMP", "--manifest", str(manifest_path), "--key-env", "ASKER_KEY",
                 "--state", str(tmp_path / "c.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no detector agent" in err
