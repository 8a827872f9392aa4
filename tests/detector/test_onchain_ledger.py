"""Resolved evaluations move detector reputation on the real CapabilityLedger (when the owner authorised the
log), and an unregistered detector's resolution still goes through (the refusal is logged, not fatal)."""

from __future__ import annotations

from chain.client import ChainClient
from marl_detector.onchain.accounts import chain_time, mine_at
from marl_detector.onchain.deployment import deploy_market
from marl_detector.onchain.evaluation import EvaluationLogClient, Status, model_hash_of

WAD = 10**18


def test_resolution_adjusts_reputation_on_the_capability_ledger(chain):
    operator = chain.client(0)
    ledger_address = chain.manifest.address("CapabilityLedger")
    market, _ = deploy_market(operator, ["AAA"], ledger=ledger_address, manifest=chain.manifest.model_copy(deep=True))
    chain.contracts(0).ledger.set_authorized(market.log.address, True)
    registered = chain.contracts(6)
    registered.ledger.register("detector", "rule-v1", "http://127.0.0.1:9/detector", ["hideshill"],
                               bytes([1] * 32), 1, registered.ledger.min_stake())
    w3 = operator.w3
    mine_at(w3, chain_time(w3) + 100)
    pool = market.pools["AAA"].pool.address
    mine = EvaluationLogClient(registered.client, market.log)
    stranger = EvaluationLogClient(chain.client(7), market.log)
    p1 = mine.commit(pool, 400, 0, 2_000, model_hash_of("rule"))
    p2 = stranger.commit(pool, 400, 1, 8_000, model_hash_of("x"))
    mine.reveal(p1)
    stranger.reveal(p2)
    before = registered.ledger.reputation(registered.client.address)
    mine_at(w3, p2.t0 + 400)
    resolver = EvaluationLogClient(ChainClient(operator.rpc_url, chain.node.dev_accounts[8].key.to_0x_hex()), market.log)
    assert resolver.resolve(p1.eval_id).score == 1  # flat market, said "no": true negative
    after = registered.ledger.reputation(registered.client.address)
    assert before == 10**18 and after - before == (11 * 10**17 - 10**18) // 8  # 1/8 of the way to the TN target 1.1
    e2 = resolver.resolve(p2.eval_id)
    assert (e2.status, e2.score) == (Status.RESOLVED, -5)
    failed = market.log.events.ReputationAdjustmentFailed().get_logs(from_block=market.deploy_block)
    assert [ev["args"]["detector"] for ev in failed] == [stranger.client.address]
    adjusted = market.log.events.ReputationAdjusted().get_logs(from_block=market.deploy_block)
    assert [ev["args"]["delta"] for ev in adjusted] == [after - before]
