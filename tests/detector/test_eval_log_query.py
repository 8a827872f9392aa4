"""`symphony eval log` answers questions about the log (filters by detector, pool, outcome and time, pages with
--limit/--offset), `eval verify` says what it re-derived from which blocks, and a pool that is not the factory's is
refused with one line and nothing sent."""

from __future__ import annotations

import json

import pytest

from marl_detector.onchain.accounts import chain_time, mine_at
from marl_detector.onchain.evaluation import EvaluationLogClient, model_hash_of
from symphony.cli.main import main
from tests.detector.campaign import staked_market


@pytest.fixture
def logged(chain, tmp_path):
    """Two pools; window 0 on AAA (settled: NONE) holds entries #0 (detector 5, revealed, resolved) and #1 (detector 6,
    never revealed, expired); window 1 on BBB, a day later, holds #2 (detector 5, pending)."""
    market, manifest = staked_market(chain.node, chain.manifest, ["AAA", "BBB"], detectors=(5, 6))
    path = manifest.save(tmp_path / "deployment.json")
    operator = chain.client(0)
    mine_at(operator.w3, chain_time(operator.w3) + 100)
    requester = EvaluationLogClient(operator, market.log)
    five, six = EvaluationLogClient(chain.client(5), market.log), EvaluationLogClient(chain.client(6), market.log)
    first = requester.open_window(market.pools["AAA"].pool.address, 400, lead=10)
    shown = five.commit(first.id, 1, 7_000, model_hash_of("m"))
    six.commit(first.id, 0, 3_000, model_hash_of("m"))
    five.reveal(shown)
    mine_at(operator.w3, first.t0 + 86_400)
    requester.resolve(0)
    requester.resolve(1)
    second = requester.open_window(market.pools["BBB"].pool.address, 400, lead=10)
    five.commit(second.id, 0, 1_000, model_hash_of("m"))
    return market, path, chain.client(5).address, first, second


def ids(path, *options: str, capsys) -> list[int]:
    capsys.readouterr()
    assert main(["eval", "log", "--manifest", str(path), "--json", *options]) == 0
    return [e["id"] for e in json.loads(capsys.readouterr().out)["entries"]]


def test_log_filters_by_detector_pool_outcome_and_time(logged, capsys):
    market, path, five, first, second = logged
    assert ids(path, capsys=capsys) == [0, 1, 2]
    assert ids(path, "--detector", five, capsys=capsys) == [0, 2]
    assert ids(path, "--pool", "BBB", capsys=capsys) == [2]
    assert ids(path, "--pool", market.pools["AAA"].pool.address.lower(), capsys=capsys) == [0, 1]
    assert ids(path, "--outcome", "none", capsys=capsys) == [0, 1]
    assert ids(path, "--outcome", "pending", capsys=capsys) == [2]
    assert ids(path, "--outcome", "manipulation", capsys=capsys) == []
    assert ids(path, "--since", str(second.t0), capsys=capsys) == [2]
    assert ids(path, "--until", str(second.t0), capsys=capsys) == [0, 1]
    assert ids(path, "--since", "2000-01-01", "--until", "2000-01-02T00:00:00+00:00", capsys=capsys) == []
    assert ids(path, "--detector", five, "--pool", "AAA", "--outcome", "none", capsys=capsys) == [0]


def test_log_pages_with_limit_and_offset(logged, capsys):
    _market, path, *_ = logged
    assert ids(path, "--limit", "2", capsys=capsys) == [0, 1]
    assert ids(path, "--limit", "2", "--offset", "2", capsys=capsys) == [2]
    assert ids(path, "--offset", "1", "--outcome", "none", capsys=capsys) == [1]
    assert main(["eval", "log", "--manifest", str(path), "--limit", "1", "--offset", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = [line for line in out if line.strip().split(" ", 1)[0].isdigit()]
    assert [int(r.split()[0]) for r in rows] == [1]
    assert "entries 2-2 of 3; next: --offset 2" in out
    assert main(["eval", "log", "--manifest", str(path), "--offset", "5"]) == 0
    assert "--offset 5 is past the last of the 3 matching entries" in capsys.readouterr().out
    assert main(["eval", "log", "--manifest", str(path), "--offset", "-1"]) == 2
    assert "--offset at least 0" in capsys.readouterr().err


def test_verify_says_what_it_rederived_from_which_blocks(logged, capsys):
    market, path, *_ = logged
    head = market.log.w3.eth.block_number
    capsys.readouterr()
    assert main(["eval", "verify", "--manifest", str(path)]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("OK: 3 evaluations (1 resolved, 1 expired, 1 pending) in 2 windows")
    assert f"re-derived 2 settled entries and 2 windows from blocks {market.deploy_block}-{head} " in out
    assert main(["eval", "verify", "--manifest", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["rederived"], report["windows_rederived"], report["from_block"], report["to_block"]) == \
        (2, 2, market.deploy_block, head)


def test_an_address_that_is_not_a_factory_pool_is_refused_in_one_line(chain, logged, capsys, monkeypatch):
    market, path, *_ = logged
    not_a_pool = market.quote.address  # a contract of the market, but no pool of its factory
    capsys.readouterr()
    assert main(["eval", "log", "--manifest", str(path), "--pool", not_a_pool]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a pool of the market's factory" in err and "Traceback" not in err
    monkeypatch.setenv("HS_ASKER_KEY", chain.node.dev_accounts[4].key.to_0x_hex())  # anvil dev key, local only
    asker = chain.client(4)
    nonce = asker.w3.eth.get_transaction_count(asker.address)
    windows = EvaluationLogClient(asker, market.log).window_count()
    assert main(["eval", "open", not_a_pool, "--manifest", str(path), "--key-env", "HS_ASKER_KEY", "--horizon", "400"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a pool of the market's factory" in err and "Traceback" not in err
    assert asker.w3.eth.get_transaction_count(asker.address) == nonce, "nothing was sent"
    assert EvaluationLogClient(asker, market.log).window_count() == windows
