"""Protocol v2 on the real CapabilityLedger: only a registered, staked agent commits; resolutions move its
reputation (the owner authorised the log); a detector that trades the window's pool is voided and pulled
towards 0, and its window is tainted for everyone else; `verify_log` re-derives all of it, voiding and taint
included, from the pools' Swap logs."""

from __future__ import annotations

import pytest

import chain.reverts as reverts
from marl_detector.onchain.accounts import chain_time, mine_at
from marl_detector.onchain.evaluation import EvaluationLogClient, Status, model_hash_of
from marl_detector.onchain.verify import verify_log
from tests.detector.campaign import dev_client, staked_market

WAD = 10**18
H = 400


def _step(target: int, current: int) -> int:
    d = target - current
    return d // 8 if d >= 0 else -((-d) // 8)


def test_resolution_adjusts_reputation_on_the_capability_ledger(chain):
    market, _ = staked_market(chain.node, chain.manifest, ["AAA"], detectors=(6,))
    ledger = chain.contracts(0).ledger
    w3 = chain.client(0).w3
    mine_at(w3, chain_time(w3) + 100)
    pool = market.pools["AAA"].pool.address
    requester = EvaluationLogClient(chain.client(5), market.log)
    w = requester.open_window(pool, H, lead=20)
    mine = EvaluationLogClient(chain.client(6), market.log)
    with pytest.raises(reverts.revert_class("NotRegisteredDetector")):  # sybil survivorship needs stake now
        EvaluationLogClient(chain.client(7), market.log).commit(w.id, 1, 8_000, model_hash_of("x"))
    p1 = mine.commit(w.id, 0, 2_000, model_hash_of("rule"))
    mine.reveal(p1)
    before = ledger.reputation(mine.client.address)
    mine_at(w3, w.t0 + H)
    resolver = EvaluationLogClient(chain.client(8), market.log)
    assert resolver.resolve(p1.eval_id).score == 1  # flat market, said "no": true negative
    after = ledger.reputation(mine.client.address)
    assert before == WAD and after - before == _step(11 * 10**17, WAD)  # 1/8 of the way to the TN target 1.1
    adjusted = market.log.events.ReputationAdjusted().get_logs(from_block=market.deploy_block)
    assert [ev["args"]["delta"] for ev in adjusted] == [after - before]
    assert verify_log(resolver, market).ok


def test_a_detector_that_trades_its_window_is_voided(chain):
    """The self-made true positive of issue 14: commit "manipulation", pump, sell back. The entry is void, the
    reputation goes towards 0, and the independent verifier finds the self-trade in the Swap logs."""
    market, _ = staked_market(chain.node, chain.manifest, ["AAA"], detectors=(6, 7))
    operator, cheater = chain.client(0), chain.client(6)
    w3 = operator.w3
    mine_at(w3, chain_time(w3) + 100)
    entry = market.pools["AAA"].pool
    w = EvaluationLogClient(chain.client(5), market.log).open_window(entry.address, H, lead=20)
    log = EvaluationLogClient(cheater, market.log)
    p = log.commit(w.id, 1, 9_000, model_hash_of("self-trader"))
    log.reveal(p)
    partner_log = EvaluationLogClient(chain.client(7), market.log)  # a coalition partner: commits, never trades
    partner = partner_log.commit(w.id, 1, 9_000, model_hash_of("partner"))
    partner_log.reveal(partner)
    reserve = entry.functions.reserveQ().call()
    operator.transact(market.quote.functions.mint(cheater.address, reserve))
    cheater.transact(market.quote.functions.approve(entry.address, 2**256 - 1))
    cheater.transact(market.pools["AAA"].token.functions.approve(entry.address, 2**256 - 1))
    mine_at(w3, w.t0 + 5)
    cheater.transact(entry.functions.swap(True, reserve * 6 // 100, 0, cheater.address))  # 6 % of the reserve
    mine_at(w3, w.t0 + 150)
    tokens = market.pools["AAA"].token.functions.balanceOf(cheater.address).call()
    cheater.transact(entry.functions.swap(False, tokens, 0, cheater.address))
    mine_at(w3, w.t0 + H)
    e = EvaluationLogClient(operator, market.log).resolve(p.eval_id)
    assert (e.status, e.score, e.outcome.name) == (Status.VOIDED, -15, "MANIPULATION")
    tp = EvaluationLogClient(operator, market.log).resolve(partner.eval_id)
    assert (tp.status, tp.score) == (Status.TAINTED, 0), "the partner's 'true positive' is worth nothing"
    assert chain.contracts(0).ledger.reputation(chain.client(7).address) == WAD
    assert chain.contracts(0).ledger.reputation(cheater.address) == WAD + _step(0, WAD)
    assert log.stats(cheater.address)["voided"] == 1 and log.stats(cheater.address)["true_positives"] == 0
    report = verify_log(log, market)
    assert report.ok and report.voided == 1 and report.tainted == 1, (report.mismatches, report.window_mismatches)
