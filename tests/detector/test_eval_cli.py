"""`symphony eval` refuses bad input with one line and prints a readable log."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from chain.client import ChainClient
from marl_detector.onchain.accounts import chain_time, mine_at
from marl_detector.onchain.deployment import deploy_market
from marl_detector.onchain.evaluation import EvaluationLogClient, model_hash_of
from symphony.cli.main import main


def test_missing_manifest_is_one_clear_line(tmp_path, capsys):
    assert main(["eval", "log", "--manifest", str(tmp_path / "nope.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("symphony: error: no deployment manifest") and "Traceback" not in err


def test_bad_detector_address(tmp_path, capsys):
    assert main(["eval", "log", "--manifest", str(tmp_path / "x.json"), "--detector", "0x12"]) == 2
    assert "--detector is not an address" in capsys.readouterr().err


@dataclass
class Market:
    operator: ChainClient
    market: object
    path: Path
    det: EvaluationLogClient
    pool: str


@pytest.fixture
def one_pool(anvil, tmp_path):
    """A market with one pool, its manifest on disk, and a detector client; reverted after the test."""
    snapshot = anvil.snapshot()
    try:
        operator = ChainClient(anvil.rpc_url, anvil.dev_accounts[0].key.to_0x_hex())
        market, manifest = deploy_market(operator, ["AAA"])
        path = manifest.save(tmp_path / "deployment.json")
        det = EvaluationLogClient(ChainClient(anvil.rpc_url, anvil.dev_accounts[5].key.to_0x_hex()), market.log)
        mine_at(operator.w3, chain_time(operator.w3) + 100)
        yield Market(operator, market, path, det, market.pools["AAA"].pool.address)
    finally:
        anvil.revert(snapshot)


def test_log_table_and_verify_on_pending_and_expired(one_pool, capsys):
    operator, market, path, det, pool = one_pool.operator, one_pool.market, one_pool.path, one_pool.det, one_pool.pool
    kept = det.commit(pool, 400, 1, 7_000, model_hash_of("m"))
    hidden = det.commit(pool, 400, 0, 3_000, model_hash_of("m"))  # never revealed: expires
    det.reveal(kept)
    mine_at(operator.w3, max(kept.t0, hidden.t0) + 400)  # both horizons over (the commits may be a second apart)
    capsys.readouterr()
    assert main(["eval", "verify", "--manifest", str(path)]) == 0
    assert "2 pending, 2 overdue" in capsys.readouterr().out
    EvaluationLogClient(operator, market.log).resolve(1)
    capsys.readouterr()
    assert main(["eval", "log", "--manifest", str(path)]) == 0
    out = capsys.readouterr().out
    assert "REVEALED" in out and "EXPIRED" in out and "expired 1 score -15" in out
    assert main(["eval", "log", "--manifest", str(path), "--detector", det.client.address, "--json"]) == 0
    capsys.readouterr()
    assert main(["eval", "verify", "--manifest", str(path)]) == 0
    assert capsys.readouterr().out.startswith("OK: 2 evaluations (0 resolved, 1 expired, 1 pending, 1 overdue)")


def test_resolve_command_settles_every_due_entry(anvil, one_pool, capsys, monkeypatch):
    operator, path, det, pool = one_pool.operator, one_pool.path, one_pool.det, one_pool.pool
    shown = det.commit(pool, 400, 0, 1_000, model_hash_of("m"))
    det.reveal(shown)
    det.commit(pool, 400, 1, 9_000, model_hash_of("m"))  # hidden: expires when a keeper resolves it
    det.commit(pool, 4_000, 1, 9_000, model_hash_of("m"))  # not due yet
    mine_at(operator.w3, shown.t0 + 400)
    monkeypatch.setenv("HS_KEEPER_KEY", anvil.dev_accounts[9].key.to_0x_hex())  # anvil dev key, local only
    capsys.readouterr()
    assert main(["eval", "resolve", "--manifest", str(path), "--key-env", "HS_KEEPER_KEY"]) == 0
    out = capsys.readouterr().out
    assert "#0: RESOLVED NONE score 1" in out and "#1: EXPIRED NONE score -15" in out
    assert out.strip().endswith("resolved 2 evaluations")
    assert main(["eval", "verify", "--manifest", str(path)]) == 0
    assert capsys.readouterr().out.startswith("OK: 3 evaluations (1 resolved, 1 expired, 1 pending)")
