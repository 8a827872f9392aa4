"""`symphony eval` refuses bad input with one line and prints a readable log."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from chain.client import ChainClient
from marl_detector.onchain.accounts import chain_time, mine_at
from marl_detector.onchain.evaluation import EvaluationLogClient, model_hash_of
from symphony.cli.main import main
from tests.detector.campaign import staked_market


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
    other: EvaluationLogClient
    pool: str


@pytest.fixture
def one_pool(chain, tmp_path):
    """A market with one pool on the session ledger, its manifest on disk, two registered detectors."""
    operator = chain.client(0)
    market, manifest = staked_market(chain.node, chain.manifest, ["AAA"], detectors=(5, 6))
    path = manifest.save(tmp_path / "deployment.json")
    det = EvaluationLogClient(chain.client(5), market.log)
    other = EvaluationLogClient(chain.client(6), market.log)
    mine_at(operator.w3, chain_time(operator.w3) + 100)
    yield Market(operator, market, path, det, other, market.pools["AAA"].pool.address)


def test_log_table_and_verify_on_pending_and_expired(one_pool, capsys):
    operator, market, path, det, pool = one_pool.operator, one_pool.market, one_pool.path, one_pool.det, one_pool.pool
    w = EvaluationLogClient(operator, market.log).open_window(pool, 400, lead=10)
    kept = det.commit(w.id, 1, 7_000, model_hash_of("m"))
    one_pool.other.commit(w.id, 0, 3_000, model_hash_of("m"))  # never revealed: expires
    det.reveal(kept)
    mine_at(operator.w3, kept.t0 + 400)
    capsys.readouterr()
    assert main(["eval", "verify", "--manifest", str(path)]) == 0
    assert "2 pending, 2 overdue" in capsys.readouterr().out
    EvaluationLogClient(operator, market.log).resolve(1)
    capsys.readouterr()
    assert main(["eval", "log", "--manifest", str(path)]) == 0
    out = capsys.readouterr().out
    assert "REVEALED" in out and "EXPIRED" in out and "expired 1 voided 0 tainted 0 score -15" in out
    assert main(["eval", "log", "--manifest", str(path), "--detector", det.client.address, "--json"]) == 0
    capsys.readouterr()
    assert main(["eval", "verify", "--manifest", str(path)]) == 0
    assert capsys.readouterr().out.startswith("OK: 2 evaluations (0 resolved, 1 expired, 1 pending, 1 overdue) in 1 windows")


def test_resolve_command_settles_every_due_entry(chain, one_pool, capsys, monkeypatch):
    operator, path, det, pool = one_pool.operator, one_pool.path, one_pool.det, one_pool.pool
    requester = EvaluationLogClient(operator, one_pool.market.log)
    w = requester.open_window(pool, 400, lead=10)
    later = requester.open_window(pool, 4_000, lead=10)
    shown = det.commit(w.id, 0, 1_000, model_hash_of("m"))
    det.reveal(shown)
    one_pool.other.commit(w.id, 1, 9_000, model_hash_of("m"))  # hidden: expires when a keeper resolves it
    det.commit(later.id, 1, 9_000, model_hash_of("m"))  # not due yet
    mine_at(operator.w3, shown.t0 + 400)
    monkeypatch.setenv("HS_KEEPER_KEY", chain.node.dev_accounts[9].key.to_0x_hex())  # anvil dev key, local only
    capsys.readouterr()
    assert main(["eval", "resolve", "--manifest", str(path), "--key-env", "HS_KEEPER_KEY"]) == 0
    out = capsys.readouterr().out
    assert "#0: RESOLVED NONE score 1" in out and "#1: EXPIRED NONE score -15" in out
    assert out.strip().endswith("resolved 2 evaluations")
    assert main(["eval", "verify", "--manifest", str(path)]) == 0
    assert capsys.readouterr().out.startswith("OK: 3 evaluations (1 resolved, 1 expired, 1 pending) in 2 windows")


def test_open_command_opens_a_window_and_refuses_short_horizons(chain, one_pool, capsys, monkeypatch):
    monkeypatch.setenv("HS_ASKER_KEY", chain.node.dev_accounts[4].key.to_0x_hex())  # anvil dev key, local only
    base = ["eval", "open", "--manifest", str(one_pool.path), "--key-env", "HS_ASKER_KEY"]
    assert main([*base, "AAA", "--horizon", "1200", "--lead", "30"]) == 0
    assert capsys.readouterr().out.startswith("window #0: AAA from t0=")
    w = EvaluationLogClient(one_pool.operator, one_pool.market.log).window(0)
    assert (w.horizon, w.opener) == (1200, chain.client(4).address) and 30 <= w.t0 - w.opened_at <= 31
    assert main([*base, "AAA", "--horizon", "4"]) == 2
    assert "at least 400" in capsys.readouterr().err
    assert main([*base, "NOPE"]) == 2
