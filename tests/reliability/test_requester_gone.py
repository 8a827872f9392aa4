"""Issue #15: a requester that posts a task and disappears (crash, lost link, gave up) must not leave it stuck.

Every move after the bid window is permissionless, but only the requester's auction used to make them: its beacons
stayed in Bidding for good, an executor that never delivered was never reclaimed, and a vote whose window ran out
was never finished. The workers' keepers (agents.task_keeper) now make each move once it is overdue by their grace.

Two tests: real workers (tiny model) finish a task whose requester sent nothing after posting it, with a griefer that
wins a chain and never delivers; and the keeper alone, on scripted parties and anvil's clock, makes each of the four
moves only once it is due — close, start the reveal, finalize, reclaim — and then lets the task go.
"""

from __future__ import annotations

import os

import pytest

from agents.capability import encode_vector
from agents.assembly import build_worker
from agents.llm.transformers_backend import TransformersBackend
from agents.payloads import SubtaskPayload
from agents.profile import AgentProfile
from agents.settings import LLMSettings
from agents.task_keeper import KeeperStats, TaskKeeper
from agents.worker_state import WorkerState
from chain.bindings.beacon import BeaconStatus, ChainSpec
from chain.bindings.vote import VotePhase, commitment
from chain.settings import ChainSettings
from tests.chain.helpers import near, register, vector, wait_until

pytestmark = pytest.mark.faults

REQUIREMENT_TEXT = "careful arithmetic and step by step reasoning about numbers"
GRACE_S = 1.0


def _payload() -> bytes:
    return SubtaskPayload("What is 2 + 3?", ("Answer the question.",), 0, (), final=True).encode(8192)


def test_workers_finish_a_task_whose_requester_vanished_after_posting(chain, tiny_model_path, tmp_path):
    requester, griefer = chain.contracts(0), chain.contracts(3)
    requirement = encode_vector(REQUIREMENT_TEXT)
    register(griefer, "griefer", requirement)  # the perfect claim: it wins the first chain it bids on, and goes silent
    settings = ChainSettings(rpc_url=chain.node.rpc_url, manifest=chain.manifest.save(tmp_path / "deployment.json"))
    llm = LLMSettings(model=str(tiny_model_path), device="cpu", max_new_tokens=8, temperature=0.0)
    workers = []
    try:
        for index, name in ((6, "w1"), (7, "w2")):
            profile = AgentProfile(name=name, capability=REQUIREMENT_TEXT + " and counting", state_dir=tmp_path, llm=llm,
                                   poll_interval_s=0.1, keeper_grace_s=GRACE_S, keeper_interval_s=0.3)
            workers.append(build_worker(profile, settings, chain.node.dev_accounts[index].key.to_0x_hex(),
                                        backend=TransformersBackend(tiny_model_path, device="cpu")).start())
        exec_window = 20
        task = requester.beacon.post_task([ChainSpec((requirement,), _payload())] * 2, bid_window=3,
                                          exec_window=exec_window, executors=1)
        sent_by_requester = requester.client.w3.eth.get_transaction_count(requester.client.address)
        beacons = [task.beacon(0, 0), task.beacon(1, 0)]
        for beacon_id in beacons:
            griefer.beacon.bid(beacon_id, [requirement])
        # From here on the requester does nothing: no close, no reclaim, no vote move.
        wait_until(lambda: requester.vote.get(task.task_id).phase == VotePhase.FINALIZED, 120, "the vote to be finalized")

        assert requester.beacon.get_task(task.task_id).settled
        assert [requester.beacon.get(b).status for b in beacons] == [BeaconStatus.COMPLETED] * 2
        timed_out = requester.beacon.contract.events.ExecutorTimedOut().get_logs(from_block=0)
        assert [e["args"]["agent"] for e in timed_out] == [griefer.client.address]
        committed = requester.vote.contract.events.VoteCommitted().get_logs(
            from_block=0, argument_filters={"taskId": task.task_id})
        voters = sorted(e["args"]["voter"] for e in committed)
        assert voters == sorted(w.address for w in workers)  # one delivery per slot, by the two workers
        assert sum(w.keeper.stats.closed for w in workers) == 2
        assert sum(w.keeper.stats.reclaimed for w in workers) == 1
        assert requester.client.w3.eth.get_transaction_count(requester.client.address) == sent_by_requester
        wait_until(lambda: all(not w.state.watched() for w in workers), 10, "the keepers to let the task go")
    finally:
        for worker in workers:
            worker.stop(announce=False)


def _now(contracts) -> int:
    return int(contracts.client.w3.eth.get_block("latest")["timestamp"])


def test_the_keeper_makes_each_overdue_move_once_it_is_due(chain, tmp_path):
    requester, a, b, keeping = chain.contracts(0), chain.contracts(1), chain.contracts(2), chain.contracts(4)
    requirement = vector(77)
    register(a, "a", near(requirement, 5, 1))
    register(b, "b", near(requirement, 5, 2))
    params = chain.manifest.parameters
    commit_window, reveal_window = int(params["commit_window_s"]), int(params["reveal_window_s"])
    task = requester.beacon.post_task([ChainSpec((requirement,), b'{"q":"1+1"}')] * 2, bid_window=5,
                                      exec_window=4 * (commit_window + reveal_window), executors=1, reward=10**12)
    beacons = [task.beacon(0, 0), task.beacon(1, 0)]
    for agent in (a, b):
        for beacon_id in beacons:
            agent.beacon.bid(beacon_id, [requirement])
    grace = 30
    keeper = TaskKeeper(keeping, WorkerState(tmp_path / "keeper.sqlite"), grace_s=grace)
    tid = "0x" + task.task_id.hex()
    keeper.watch(tid)

    def sweep_after(seconds: int) -> None:
        chain.node.increase_time(seconds)
        keeper.sweep(_now(keeping))

    sweep_after(5 + grace - 2)  # past the bid window, within the grace: a live requester would close now
    assert [requester.beacon.get(x).status for x in beacons] == [BeaconStatus.BIDDING] * 2
    sweep_after(4)
    assert [requester.beacon.get(x).status for x in beacons] == [BeaconStatus.ASSIGNED] * 2
    assert keeper.stats.closed == 2

    executors = {requester.beacon.executors(x)[0]: x for x in beacons}
    voter = a if a.client.address in executors else b
    voter_beacon = executors[voter.client.address]
    silent_beacon = next(x for x in beacons if x != voter_beacon)
    voter.beacon.commit_result(voter_beacon, commitment(task.task_id, voter.client.address, "2", b"2", os.urandom(32)))
    sweep_after(commit_window - 5)
    assert requester.vote.get(task.task_id).phase == VotePhase.COMMIT
    sweep_after(grace + 10)  # the other voter never delivered: the commit window ran out
    assert requester.vote.get(task.task_id).phase == VotePhase.REVEAL
    assert keeper.stats.reveals_started == 1
    sweep_after(reveal_window + grace + 5)  # the one voter never revealed either
    assert requester.vote.get(task.task_id).phase == VotePhase.FINALIZED
    assert keeper.stats.finalized == 1
    assert requester.beacon.get_task(task.task_id).settled
    assert keeper.state.watched() == [tid]  # the silent executor's slot is still assigned: its escrow is not back yet

    credit_before = requester.beacon.credits(requester.client.address)
    info = requester.beacon.get(silent_beacon)
    sweep_after(info.exec_deadline - _now(keeping) + grace + 1)
    assert keeper.stats.reclaimed == 1
    assert requester.beacon.get(silent_beacon).status == BeaconStatus.UNFILLED  # nobody else may take it (one chain each)
    assert requester.beacon.credits(requester.client.address) == credit_before + info.reward_per_executor
    keeper.sweep(_now(keeping))  # the next pass finds nothing left to move and lets the task go
    assert keeper.state.watched() == []
    assert keeper.stats == KeeperStats(closed=2, reclaimed=1, reveals_started=1, finalized=1)
