"""A full Symphony task lifecycle through the typed bindings: register, beacon, bids, close, results, vote."""

from __future__ import annotations

import os

from web3.logs import DISCARD

from chain import vectors
from chain.bindings.beacon import BeaconStatus
from chain.bindings.vote import VotePhase
from tests.chain.helpers import near, register, vector

TASK = bytes.fromhex("11" * 32)
COT = bytes.fromhex("22" * 32)


def test_three_agent_lifecycle(chain):
    requester = chain.contracts(0)
    agents = [chain.contracts(i) for i in (1, 2, 3)]
    requirement = vector(1)
    caps = [near(requirement, 20, 10), near(requirement, 60, 11), vector(99)]
    for i, (c, cap) in enumerate(zip(agents, caps)):
        register(c, f"agent{i}", cap)

    beacon_id, _ = requester.beacon.post(TASK, 0, 0, requirement, b'{"q":"2+2"}', bid_window=30, exec_window=300, executors=3, is_final=True, reward=3 * 10**15)
    for c in agents:
        c.beacon.bid(beacon_id)

    # The contract computed every score itself, exactly as the off-chain formula says.
    bids = {b.agent: b.score for b in requester.beacon.bids(beacon_id)}
    for c, cap in zip(agents, caps):
        assert bids[c.client.address] == vectors.cosine_wad(cap, requirement)
        assert bids[c.client.address] == c.ledger.match_score(c.client.address, requirement)
    assert bids[agents[0].client.address] > bids[agents[1].client.address]

    chain.node.increase_time(31)
    requester.beacon.close(beacon_id)
    info = requester.beacon.get(beacon_id)
    assert info.status == BeaconStatus.ASSIGNED
    assert set(requester.beacon.executors(beacon_id)) == {c.client.address for c in agents}

    answers = ["4", "4", "5"]
    salts = [os.urandom(32) for _ in agents]
    for c, answer in zip(agents, answers):
        c.beacon.submit_result(beacon_id, f'{{"answer":"{answer}"}}'.encode())
    assert requester.beacon.get(beacon_id).status == BeaconStatus.COMPLETED
    for c, answer, salt in zip(agents, answers, salts):
        c.vote.commit(TASK, beacon_id, answer, COT, salt)
    assert requester.vote.get(TASK).phase == VotePhase.REVEAL  # every expected voter committed
    for c, answer, salt in zip(agents, answers, salts):
        c.vote.reveal(TASK, answer, COT, salt)
    requester.vote.finalize(TASK)
    vote = requester.vote.get(TASK)
    assert vote.phase == VotePhase.FINALIZED
    assert vote.winning_answer == "4"
    weight = requester.beacon.chain_weight(TASK, 0)
    assert weight == sum(bids.values()) // 3
    assert vote.winning_weight == 2 * weight and vote.total_weight == 3 * weight
    # Agreeing agents gained reputation, the dissenter did not.
    reps = [requester.ledger.reputation(c.client.address) for c in agents]
    assert reps[0] == reps[1] > reps[2]


def test_missed_deadline_reassigns_to_the_next_bidder(chain):
    requester = chain.contracts(0)
    agents = [chain.contracts(i) for i in (1, 2)]
    requirement = vector(7)
    register(agents[0], "best", near(requirement, 5, 1))
    register(agents[1], "second", near(requirement, 70, 2))
    beacon_id, _ = requester.beacon.post(TASK, 1, 0, requirement, b"{}", bid_window=10, exec_window=20, executors=1)
    for c in agents:
        c.beacon.bid(beacon_id)
    chain.node.increase_time(11)
    requester.beacon.close(beacon_id)
    assert requester.beacon.executors(beacon_id) == [agents[0].client.address]
    rep_before = requester.ledger.reputation(agents[0].client.address)

    chain.node.increase_time(21)  # the best agent never delivers
    receipt = requester.beacon.reclaim_expired(beacon_id)
    timed_out = requester.beacon.contract.events.ExecutorTimedOut().process_receipt(receipt, errors=DISCARD)
    assert [e["args"]["agent"] for e in timed_out] == [agents[0].client.address]
    assert requester.beacon.executors(beacon_id) == [agents[1].client.address]
    assert requester.ledger.reputation(agents[0].client.address) == rep_before - 10**17

    agents[1].beacon.submit_result(beacon_id, b"done")
    assert requester.beacon.get(beacon_id).status == BeaconStatus.COMPLETED


def test_declared_voters_keep_the_vote_open_for_slow_chains(chain):
    """Two chains: the fast one finishes first; with K declared, its commit must not start the reveal phase."""
    requester = chain.contracts(0)
    agents = [chain.contracts(i) for i in (1, 2)]
    requirement = vector(3)
    for i, c in enumerate(agents):
        register(c, f"a{i}", near(requirement, 10, i))
    task = bytes.fromhex("33" * 32)
    requester.beacon.open_task(task, 2)
    beacons = []
    for cot in (0, 1):
        beacon_id, _ = requester.beacon.post(task, cot, 0, requirement, b"{}", bid_window=10, exec_window=300, executors=1, is_final=True)
        beacons.append(beacon_id)
        agents[cot].beacon.bid(beacon_id)
    chain.node.increase_time(11)
    requester.beacon.close(beacons[0])
    agents[0].beacon.submit_result(beacons[0], b"r")
    agents[0].vote.commit(task, beacons[0], "7", COT, bytes(32))
    assert requester.vote.get(task).phase == VotePhase.COMMIT  # still waiting for chain 1
    requester.beacon.close(beacons[1])
    agents[1].beacon.submit_result(beacons[1], b"r")
    agents[1].vote.commit(task, beacons[1], "7", COT, bytes(32))
    assert requester.vote.get(task).phase == VotePhase.REVEAL
