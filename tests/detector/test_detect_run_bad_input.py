"""`symphony detect run` on bad input: a feed with malformed lines is read around them and counted in one line; a
state file from another chain or deployment is refused in one line, exit 2, before anything is sent."""

from __future__ import annotations

import json

import pytest

from marl_detector.onchain.accounts import chain_time
from marl_detector.onchain.evaluation import EvaluationLogClient, Status
from symphony.cli.main import main
from tests.detector.campaign import market_with_open_window, staked_market

KEY_ENV = "HS_BAD_INPUT_KEY"


@pytest.fixture
def run_args(chain, tmp_path, monkeypatch):
    """A market with pool OLD, detector account 3 registered, one open window on OLD; `detect run` arguments."""
    path = tmp_path / "deployment.json"
    market = market_with_open_window(chain, path)
    monkeypatch.setenv(KEY_ENV, chain.node.dev_accounts[3].key.to_0x_hex())  # anvil dev key, local chain only
    state = tmp_path / "state.json"
    args = ["detect", "run", "--manifest", str(path), "--key-env", KEY_ENV, "--detector", "rule", "--horizon", "1200",
            "--lookback", "3600", "--poll", "0.01", "--steps", "1", "--state", str(state)]
    return market, path, state, args


def sent(chain) -> int:
    client = chain.client(3)
    return client.w3.eth.get_transaction_count(client.address)


def test_malformed_feed_lines_are_skipped_and_counted_in_one_line(chain, run_args, tmp_path, capsys):
    market, _path, _state, args = run_args
    now = chain_time(market.log.w3)
    feed = tmp_path / "posts.jsonl"
    good = {"timestamp": now - 50, "ticker": "OLD", "author": "a", "text": "OLD is fine"}
    feed.write_text("\n".join([json.dumps(good), "not json", json.dumps({**good, "timestamp": "soon"}),
                               json.dumps({"ticker": "OLD"}), json.dumps({**good, "timestamp": float("inf")}),
                               '{"v": ' + "[" * 5000 + "]" * 5000 + "}", json.dumps({**good, "author": "b"})]) + "\n")
    capsys.readouterr()
    assert main([*args, "--posts", str(feed)]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"post feed {feed}: skipped 5 malformed lines (first: 2: not valid JSON: Expecting value: line 1 column 1 (char 0))"]
    assert "committed evaluation #0" in captured.out, "the good lines around them are read and the window answered"


def test_a_feed_path_that_is_a_folder_is_refused(chain, run_args, tmp_path, capsys):
    *_, args = run_args
    before = sent(chain)
    assert main([*args, "--posts", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a file" in err and sent(chain) == before


def test_a_state_file_from_another_chain_is_refused_before_anything_is_sent(chain, run_args, capsys):
    market, _path, state, args = run_args
    assert main(args) == 0  # commits to the open window: its salt is in the state file
    log = EvaluationLogClient(chain.client(0), market.log)
    assert log.count() == 1 and log.get(0).status == Status.COMMITTED
    data = json.loads(state.read_text())
    data["chain"]["genesis"] = "0x" + "ab" * 32  # the same addresses on a restarted anvil: another genesis
    state.write_text(json.dumps(data))
    before, saved = sent(chain), state.read_bytes()
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "belongs to chain" in err and "give this chain another --state file" in err
    assert "Traceback" not in err
    assert sent(chain) == before and log.count() == 1 and log.get(0).status == Status.COMMITTED, "nothing was sent"
    assert state.read_bytes() == saved, "the other chain's salts are kept"


def test_a_state_file_of_another_deployment_is_refused(chain, run_args, tmp_path, capsys):
    _market, _path, state, args = run_args
    assert main(args) == 0
    other, manifest = staked_market(chain.node, chain.manifest, ["NEW"])  # another market: another EvaluationLog
    other_path = manifest.save(tmp_path / "other.json")
    before = sent(chain)
    capsys.readouterr()
    assert main([*args, "--manifest", str(other_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"EvaluationLog {other.log.address}" in err and sent(chain) == before
    # --deploy-market would start yet another log: refused before deploying, not after.
    assert main([*args, "--deploy-market", "ZZZ"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds 1 unsettled predictions" in err and sent(chain) == before


def test_open_windows_with_a_horizon_the_log_refuses_is_one_line(chain, run_args, capsys):
    market, _path, _state, args = run_args
    before = sent(chain)
    capsys.readouterr()
    assert main([*args, "--open-windows", "--horizon", "200"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "shorter than this EvaluationLog accepts" in err and sent(chain) == before


def test_detect_ask_about_an_address_that_is_not_a_factory_pool_is_one_line(chain, run_args, capsys):
    market, path, _state, _args = run_args
    before = sent(chain)
    capsys.readouterr()
    assert main(["detect", "ask", market.quote.address, "--manifest", str(path), "--key-env", KEY_ENV]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a pool of the market's factory" in err and "Traceback" not in err
    assert sent(chain) == before
