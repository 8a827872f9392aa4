"""A detector's PredictionBook never forfeits its own record: it reveals on the way out, a restart reveals what was
left, and a state file from another chain is refused (its salts may still be owed there)."""

from __future__ import annotations

import json

import pytest

from core.errors import ConfigError
from marl_detector.onchain.accounts import chain_time, mine_at
from marl_detector.onchain.book import PredictionBook
from marl_detector.onchain.evaluation import EvaluationLogClient, Status, model_hash_of
from tests.detector.campaign import staked_market


@pytest.fixture
def logs(chain):
    market, _ = staked_market(chain.node, chain.manifest, ["BBB"], detectors=(7,))
    operator = chain.client(0)
    mine_at(operator.w3, chain_time(operator.w3) + 100)
    return operator, EvaluationLogClient(operator, market.log), EvaluationLogClient(chain.client(7), market.log), market.pools["BBB"].pool.address


def test_shutdown_reveals_what_it_can_and_a_restart_reveals_the_rest(logs, tmp_path):
    operator, requester, det, pool = logs
    state = tmp_path / "book.json"
    book = PredictionBook(det, state, reveal_delay=None)
    started = requester.open_window(pool, 400, lead=10)
    later = requester.open_window(pool, 4_000, lead=90)
    a = book.commit(started.id, 1, 8_000, model_hash_of("m"))
    b = book.commit(later.id, 0, 2_000, model_hash_of("m"))
    mine_at(operator.w3, a.t0 + 1)  # a's window has started (no more commits), b's has not

    report = book.shutdown(chain_time(operator.w3))
    assert report.revealed == [a.eval_id] and [p.eval_id for p in report.hidden] == [b.eval_id]
    assert report.cost == -15, "one hidden entry costs the expiry penalty if nobody reveals it"
    assert det.get(a.eval_id).status == Status.REVEALED and det.get(b.eval_id).status == Status.COMMITTED

    restarted = PredictionBook(det, state, reveal_delay=None)  # b's salt came back, and a awaits resolution
    assert restarted.restored == 2 and list(restarted.pending) == [b.eval_id] and list(restarted.open) == [a.eval_id]
    mine_at(operator.w3, b.t0)
    assert restarted.reveal_closed(chain_time(operator.w3)).revealed == [b.eval_id]
    assert det.get(b.eval_id).status == Status.REVEALED


def test_a_state_file_from_another_chain_is_refused_untouched(logs, tmp_path):
    _operator, requester, det, pool = logs
    state = tmp_path / "book.json"
    book = PredictionBook(det, state, reveal_delay=None)
    book.commit(requester.open_window(pool, 400, lead=10).id, 1, 8_000, model_hash_of("m"))
    data = json.loads(state.read_text())
    data["chain"]["genesis"] = "0x" + "ab" * 32  # the same addresses on a restarted anvil: another genesis
    state.write_text(json.dumps(data))
    before = state.read_bytes()
    with pytest.raises(ConfigError, match="belongs to chain .* give this chain another --state file"):
        PredictionBook(det, state, reveal_delay=None)
    assert state.read_bytes() == before, "the other chain's salts are kept"


def test_shutdown_names_entries_a_keeper_expired_before_they_were_revealed(logs, tmp_path):
    operator, requester, det, pool = logs
    book = PredictionBook(det, tmp_path / "book.json", reveal_delay=None)
    p = book.commit(requester.open_window(pool, 400, lead=10).id, 1, 8_000, model_hash_of("m"))
    mine_at(operator.w3, p.t0 + 400)
    assert requester.resolve(p.eval_id).status == Status.EXPIRED  # a keeper got there first
    report = book.shutdown(chain_time(operator.w3))
    assert report.lost == [p.eval_id] and report.hidden == [] and report.revealed == []
    assert book.pending == {} and book.open == {}


def test_a_state_file_from_another_chain_that_owes_nothing_is_started_afresh(logs, tmp_path):
    _operator, requester, det, pool = logs
    state = tmp_path / "book.json"
    state.write_text(json.dumps({"chain": {"chain_id": 1, "genesis": "0x" + "ab" * 32, "evaluation_log": pool},
                                 "pending": [], "open": [], "extra": {"next_due": {"X": 1}}}))
    book = PredictionBook(det, state, reveal_delay=None)
    assert book.restored == 0 and book.extra == {}
    book.commit(requester.open_window(pool, 400, lead=10).id, 1, 8_000, model_hash_of("m"))
    assert json.loads(state.read_text())["chain"] == book.identity
