"""A full Symphony task lifecycle through the typed bindings: register, post, bids, close, deliveries, vote, settlement."""

from __future__ import annotations

import os

from web3.logs import DISCARD

from chain import vectors
from chain.bindings.beacon import BeaconStatus, ChainSpec
from chain.bindings.vote import VotePhase, commitment
from tests.chain.helpers import near, register, vector

REWARD = 10**13


def test_three_agent_lifecycle_scores_from_vectors_and_records(chain):
    requester = chain.contracts(0)
    agents = [chain.contracts(i) for i in (1, 2, 3)]
    requirement = vector(1)
    caps = [near(requirement, 20, 10), near(requirement, 60, 11), vector(99)]
    for i, (c, cap) in enumerate(zip(agents, caps)):
        register(c, f"agent{i}", cap)

    task = requester.beacon.post_task([ChainSpec((requirement,), b'{"q":"2+2"}')], bid_window=30, exec_window=300,
                                      executors=3, reward=REWARD)
    beacon = task.beacon(0, 0)
    assert requester.beacon.get(beacon).is_final
    for c in agents:
        c.beacon.bid(beacon, [requirement])

    # The contract computed every score itself: match x trust (0.5 for a newcomer), in 1e-9 units.
    kind = vectors.derived_kind(requirement)
    assert requester.beacon.kind_of(beacon) == kind
    bids = {b.agent: b.score for b in requester.beacon.bids(beacon)}
    for c, cap in zip(agents, caps):
        assert bids[c.client.address] == vectors.bid_score(cap, requirement)
        assert bids[c.client.address] == c.ledger.bid_score(c.client.address, requirement, kind)[1] // 10**9 * 10**9
    assert bids[agents[0].client.address] > bids[agents[1].client.address]

    chain.node.increase_time(31)
    requester.beacon.close(beacon)
    assert requester.beacon.get(beacon).status == BeaconStatus.ASSIGNED
    assert set(requester.beacon.executors(beacon)) == {c.client.address for c in agents}
    assert all(c.ledger.get_agent(c.client.address).free_capacity == 1 for c in agents)  # capacity 2, one taken

    answers = ["4", "4", "5"]
    results = [f'{{"answer":"{a}"}}'.encode() for a in answers]
    salts = [os.urandom(32) for _ in agents]
    for c, answer, result, salt in zip(agents, answers, results, salts):
        before = c.client.balance()
        receipt = c.beacon.commit_result(beacon, commitment(task.task_id, c.client.address, answer, result, salt))
        assert c.client.balance() == before + REWARD - receipt["gasUsed"] * receipt["effectiveGasPrice"]  # paid at delivery
    assert requester.beacon.get(beacon).status == BeaconStatus.COMPLETED
    assert requester.vote.get(task.task_id).phase == VotePhase.REVEAL  # every live final slot committed
    stake_loser = requester.ledger.stake(agents[2].client.address)
    for c, answer, result, salt in zip(agents, answers, results, salts):
        c.vote.reveal(task.task_id, answer, result, salt)
    vote = requester.vote.get(task.task_id)
    assert vote.phase == VotePhase.FINALIZED  # the last reveal finalized and settled the task
    assert vote.winning_answer == "4"
    weight = requester.beacon.chain_weight(task.first_chain)
    assert weight == min(bids.values())  # a chain weighs what its least trusted executor weighs
    assert vote.winning_weight == 2 * weight and vote.total_weight == 3 * weight
    # Evidence: the agreeing agents won a verified success, the dissenter a failure and lost its share plus the fine.
    assert [requester.ledger.evidence(c.client.address, kind) for c in agents] == [(1, 0), (1, 0), (0, 1)]
    unit = requester.ledger.slash_unit()
    assert stake_loser - requester.ledger.stake(agents[2].client.address) == REWARD + unit // 5
    assert requester.beacon.get_task(task.task_id).settled
    revealed = requester.vote.contract.events.VoteRevealed().get_logs(from_block=chain.manifest.deploy_block,
                                                                      argument_filters={"taskId": task.task_id})
    assert sorted(bytes(e["args"]["result"]) for e in revealed) == sorted(results)  # results published with the vote


def test_missed_deadline_slashes_and_reassigns_to_the_next_bidder(chain):
    requester = chain.contracts(0)
    agents = [chain.contracts(i) for i in (1, 2)]
    requirement = vector(7)
    register(agents[0], "best", near(requirement, 5, 1))
    register(agents[1], "second", near(requirement, 70, 2))
    task = requester.beacon.post_task([ChainSpec((requirement, requirement), b"{}")], bid_window=10, exec_window=20)
    beacon = task.beacon(0, 0)
    for c in agents:
        for step in (0, 1):
            c.beacon.bid(task.beacon(0, step), [requirement, requirement])
    chain.node.increase_time(11)
    requester.beacon.close(beacon)
    assert requester.beacon.executors(beacon) == [agents[0].client.address]
    stake_before = requester.ledger.stake(agents[0].client.address)
    rep_before = requester.ledger.reputation(agents[0].client.address)

    chain.node.increase_time(21)  # the best agent never delivers
    receipt = requester.beacon.reclaim_expired(beacon)
    timed_out = requester.beacon.contract.events.ExecutorTimedOut().process_receipt(receipt, errors=DISCARD)
    assert [e["args"]["agent"] for e in timed_out] == [agents[0].client.address]
    assert requester.beacon.executors(beacon) == [agents[1].client.address]
    assert requester.ledger.reputation(agents[0].client.address) == rep_before - 10**17
    assert stake_before - requester.ledger.stake(agents[0].client.address) == requester.ledger.slash_unit()

    agents[1].beacon.submit_result(beacon, b"done")
    assert requester.beacon.get(beacon).status == BeaconStatus.COMPLETED
    # The second step was assigned inside the first step's delivery: its bid window was over.
    assert requester.beacon.get(task.beacon(0, 1)).status == BeaconStatus.ASSIGNED


def test_vote_waits_for_every_live_final_slot(chain):
    """Two chains: the fast one delivers first; its commitment must not start the reveal phase."""
    requester = chain.contracts(0)
    agents = [chain.contracts(i) for i in (1, 2)]
    requirement = vector(3)
    for i, c in enumerate(agents):
        register(c, f"a{i}", near(requirement, 10, i))
    task = requester.beacon.post_task([ChainSpec((requirement,), b"{}")] * 2, bid_window=10, exec_window=300)
    assert requester.beacon.expected_voters(task.task_id) == 2
    for cot in (0, 1):
        agents[cot].beacon.bid(task.beacon(cot, 0), [requirement])
    chain.node.increase_time(11)
    requester.beacon.close(task.beacon(0, 0))
    salt = bytes(32)
    a0, a1 = (c.client.address for c in agents)
    agents[0].beacon.commit_result(task.beacon(0, 0), commitment(task.task_id, a0, "7", b"r", salt))
    assert requester.vote.get(task.task_id).phase == VotePhase.COMMIT  # still waiting for chain 1
    requester.beacon.close(task.beacon(1, 0))
    agents[1].beacon.commit_result(task.beacon(1, 0), commitment(task.task_id, a1, "7", b"r", salt))
    assert requester.vote.get(task.task_id).phase == VotePhase.REVEAL
