"""Issue #15, misbehaving peers (off-chain side): what a peer puts on chain reaches an honest worker unfiltered.

Two tests, each with a real worker (tiny model) on anvil and scripted peers:

- an executor that wins step 0 of a chain and delivers garbage (not UTF-8, not JSON, the contract's whole payload
  limit): the honest worker that wins step 1 executes on it anyway — one warning line naming the peer, its subtask
  within the payload limit — and delivers;
- a requester that posts beacons nobody can serve (a requirement below every agent's minimum match; a payload that
  is no subtask, not even UTF-8): the worker bids on neither, keeps neither task, logs nothing about them, and still bids on the next
  servable beacon; the requester gets its escrow back by closing.
"""

from __future__ import annotations

import logging
import re

import pytest

from agents.assembly import build_worker
from agents.capability import encode_vector
from agents.llm.transformers_backend import TransformersBackend
from agents.payloads import SubtaskPayload
from agents.profile import AgentProfile
from agents.settings import LLMSettings
from chain import vectors
from chain.bindings.beacon import BeaconStatus, ChainSpec
from chain.settings import ChainSettings
from tests.chain.helpers import bids_by, register, wait_until

pytestmark = pytest.mark.faults

CAPABILITY = "careful arithmetic and step by step reasoning about numbers"


@pytest.fixture
def honest_worker(chain, tiny_model_path, tmp_path):
    """A worker that bids on work it matches at 0.5 or better (the default, 0, bids on any subtask it can run: in a
    small network somebody should try)."""
    llm = LLMSettings(model=str(tiny_model_path), device="cpu", max_new_tokens=8, temperature=0.0)
    profile = AgentProfile(name="honest", capability=CAPABILITY + " and counting", state_dir=tmp_path, llm=llm,
                           poll_interval_s=0.1, min_score=0.5)
    settings = ChainSettings(rpc_url=chain.node.rpc_url, manifest=chain.manifest.save(tmp_path / "deployment.json"))
    worker = build_worker(profile, settings, chain.node.dev_accounts[6].key.to_0x_hex(),
                          backend=TransformersBackend(tiny_model_path, device="cpu")).start()
    try:
        yield worker
    finally:
        worker.stop(announce=False)


def test_garbage_delivered_by_a_peer_is_the_next_steps_input_within_the_limit(chain, honest_worker, caplog):
    caplog.set_level(logging.WARNING, logger="symphony.agent")
    worker = honest_worker
    requester, peer = chain.contracts(0), chain.contracts(3)
    requirement = encode_vector(CAPABILITY)
    register(peer, "peer", requirement)  # the perfect claim: it wins step 0
    limit = int(chain.manifest.parameters["max_payload_bytes"])
    template = SubtaskPayload("What is 2 + 3?", ("Add the numbers.", "Answer the question."), 0, (), final=False)
    task = requester.beacon.post_task([ChainSpec((requirement, requirement), template.encode(limit))], bid_window=3,
                                      exec_window=300, executors=1)
    first, second = task.beacon(0, 0), task.beacon(0, 1)
    peer.beacon.bid(first, [requirement, requirement])
    wait_until(lambda: bids_by(requester, second, worker.address), 30, "the honest worker's bid on step 1")
    sizes: list[int] = []
    run = worker.executor.run
    worker.executor.run = lambda payload: (sizes.append(len(payload)), run(payload))[1]  # what it executes on
    chain.node.increase_time(4)
    requester.beacon.close(first)
    assert requester.beacon.executors(first) == [peer.client.address]
    garbage = (b"\xff\xfe\x00{not json" * limit)[:limit]  # not UTF-8, not JSON, the whole limit
    peer.beacon.submit_result(first, garbage)  # the first delivery assigns step 1 (its window is over)
    assert requester.beacon.executors(second) == [worker.address]

    wait_until(lambda: requester.beacon.has_delivered(second, worker.address), 120, "the honest worker's delivery on step 1")
    assert sizes and max(sizes) <= limit
    warnings = [r.getMessage() for r in caplog.records if "is not a result payload" in r.getMessage()]
    assert warnings and peer.client.address in warnings[0] and f"({limit} bytes" in warnings[0]


def test_beacons_nobody_can_serve_get_no_bid_and_leave_the_worker_as_it_was(chain, honest_worker, caplog):
    caplog.set_level(logging.INFO, logger="symphony.agent")
    worker = honest_worker
    requester = chain.contracts(0)
    requirement = encode_vector(CAPABILITY)
    opposite = vectors.pack([-c for c in vectors.unpack(requirement)])  # a match of 0 (clamped) with this agent
    subtask = SubtaskPayload("What is 2 + 3?", ("Answer the question.",), 0, (), final=True).encode(8192)
    reward = 10**12
    credit_before = requester.beacon.credits(requester.client.address)
    unmatched = requester.beacon.post_task([ChainSpec((opposite,), subtask)], bid_window=2, exec_window=300,
                                           executors=1, reward=reward).beacon(0, 0)
    no_subtask = requester.beacon.post_task([ChainSpec((requirement,), b"\xff\xfe garbage, not a subtask")], bid_window=2,
                                            exec_window=300, executors=1, reward=reward).beacon(0, 0)
    servable = requester.beacon.post_task([ChainSpec((requirement,), subtask)], bid_window=30, exec_window=300,
                                          executors=1).beacon(0, 0)
    wait_until(lambda: bids_by(requester, servable, worker.address), 30, "the worker's bid on the servable beacon")
    assert not bids_by(requester, unmatched, worker.address) and not bids_by(requester, no_subtask, worker.address)
    assert worker.state.watched() == ["0x" + requester.beacon.get(servable).task_id.hex()]
    assert not [r for r in caplog.records if re.search(rf"beacon ({unmatched}|{no_subtask})\b", r.getMessage())]

    chain.node.increase_time(3)
    for beacon_id in (unmatched, no_subtask):
        requester.beacon.close(beacon_id)
        assert requester.beacon.get(beacon_id).status == BeaconStatus.UNFILLED
    assert requester.beacon.credits(requester.client.address) == credit_before + 2 * reward
