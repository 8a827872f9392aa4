"""Issue #15, found by scripts/soak.py: a requester waited for ever on a final step delivered as a LateCommitment.

In the soak, a two-step chain's final executor committed after the task's vote had left its commit phase (the other
chain had committed and the reveal phase had started): VoteCommitment records that delivery as LateCommitment, not
VoteCommitted, the beacon is Completed, and BeaconAuction.deliver_step kept waiting for a VoteCommitted that never
comes (the lane hung with its task settled on chain). Here the same state is made with scripted agents: one chain
commits, the commit window runs out, the reveal phase starts, then the second chain commits late.
"""

from __future__ import annotations

import os
import threading

import pytest

from agents.auction import AuctionSettings, BeaconAuction, ChainTimer
from chain.bindings.beacon import BeaconStatus, ChainSpec
from chain.bindings.vote import VotePhase, commitment
from tests.chain.helpers import near, register, vector

pytestmark = pytest.mark.faults


def test_a_late_final_commitment_is_the_steps_delivery(chain):
    requester, early, late = chain.contracts(0), chain.contracts(1), chain.contracts(2)
    requirement = vector(41)
    register(early, "early", near(requirement, 5, 1))
    register(late, "late", near(requirement, 5, 2))
    auction = BeaconAuction(requester, AuctionSettings(bid_window_s=1, exec_window_s=7200))
    try:
        task = requester.beacon.post_task([ChainSpec((requirement,), b'{"q":"1+1"}')] * 2, bid_window=1,
                                          exec_window=7200, executors=1)
        first, second = task.beacon(0, 0), task.beacon(1, 0)
        for agent in (early, late):
            agent.beacon.bid(first, [requirement])
            agent.beacon.bid(second, [requirement])
        chain.node.increase_time(2)
        requester.beacon.close(first)
        requester.beacon.close(second)
        (who_first,) = requester.beacon.executors(first)
        agents = {early.client.address: early, late.client.address: late}
        a, b = agents[who_first], next(x for addr, x in agents.items() if addr != who_first)
        a.beacon.commit_result(first, commitment(task.task_id, a.client.address, "2", b"2", os.urandom(32)))
        chain.node.increase_time(int(chain.manifest.parameters["commit_window_s"]) + 2)
        requester.vote.start_reveal(task.task_id)
        assert requester.vote.get(task.task_id).phase == VotePhase.REVEAL
        receipt = b.beacon.commit_result(second, commitment(task.task_id, b.client.address, "2", b"2", os.urandom(32)))
        late_events = requester.vote.contract.events.LateCommitment().process_receipt(receipt)
        assert late_events, "the second commitment was expected to be late"
        assert requester.beacon.get(second).status == BeaconStatus.COMPLETED

        out: dict = {}
        thread = threading.Thread(target=lambda: out.update(d=auction.deliver_step(ChainTimer(), second)), daemon=True)
        thread.start()
        thread.join(timeout=20)
        auction.cancel()  # ends a wait that never returns (the bug) instead of hanging the test
        assert "d" in out, "deliver_step never returned on a step delivered as a LateCommitment"
        assert out["d"].agent == b.client.address
    finally:
        auction.close()
