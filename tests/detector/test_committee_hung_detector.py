"""Issue #15, a detector that hangs: one of three detector agents wins its detection beacon and then never answers
(its model blocks for ever inside `predict`).

What must hold: the request still ends, in bounded time, with the honest detectors' verdict settled on chain and
logged; the hung agent's beacon is reclaimed after its execution deadline and it is neither counted nor paid; while
its only execution slot is stuck it bids on nothing (one log line says why); the other agents are not held up (they
answer while it hangs, and answer the next request too).
"""

from __future__ import annotations

import threading
import time

import pytest

from agents.capability import encode_vector
from agents.profile import AgentProfile
from chain.bindings.beacon import BeaconStatus
from marl_detector.committee.agent import build_detector_agent
from marl_detector.committee.request import MANIPULATION
from marl_detector.committee.requester import CommitteeSettings, DetectionRequester
from marl_detector.live import RuleDetector
from marl_detector.onchain.accounts import mine_at
from marl_detector.onchain.book import PredictionBook
from marl_detector.onchain.deployment import WAD, bind_market, deploy_market
from marl_detector.onchain.evaluation import EvaluationLogClient, model_hash_of
from marl_detector.onchain.posts import PostFeed
from tests.detector.campaign import TICKERS, stage_market

pytestmark = pytest.mark.faults

CAPABILITY = "pump-and-dump detection from on-chain trades and bursts of social posts by coordinated young accounts"


class HangingDetector:
    """A model that never returns until the test releases it (then fails)."""

    model_hash = model_hash_of("HangingDetector")

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def predict(self, obs):  # noqa: ANN001, ANN201 - the Detector protocol
        self.calls += 1
        self.release.wait()
        raise RuntimeError("released by the test")


def test_a_hung_detector_is_reclaimed_and_the_others_settle_the_request(chain, tmp_path, caplog):
    operator = chain.client(0)
    market, manifest = deploy_market(operator, TICKERS, seed_quote=50 * WAD, seed_price_wad=10**14,
                                     ledger=chain.manifest.address("CapabilityLedger"), min_horizon=400,
                                     manifest=chain.manifest.model_copy(deep=True))
    posts = tmp_path / "posts.jsonl"
    _books, start = stage_market(operator, market, posts)
    mine_at(operator.w3, start + 3_600)
    hung = HangingDetector()
    # the same declared capability for all three, so the hung one is sure to win a beacon
    detectors = {"hype": RuleDetector(), "graph": RuleDetector(min_young_share=0.3), "stuck": hung}
    agents = []
    for i, (name, detector) in enumerate(detectors.items(), start=1):
        profile = AgentProfile(name=name, capability=CAPABILITY, state_dir=tmp_path / "agents")
        contracts = chain.contracts(i)
        agents.append(build_detector_agent(profile, contracts, bind_market(contracts.client, manifest), detector,
                                           feed=PostFeed(posts), keeper_interval_s=0.2))
    names = {a.address: name for a, name in zip(agents, detectors)}
    requester_contracts = chain.contracts(5)
    book = PredictionBook(EvaluationLogClient(requester_contracts.client, market.log), tmp_path / "committee.json", None)
    requester = None
    try:
        for agent in agents:
            agent.start()
        requester = DetectionRequester(requester_contracts, market, encode_vector, book,
                                       CommitteeSettings(detectors=3, horizon_s=1_200, lookback_s=3_600, bid_window_s=1,
                                                         exec_window_s=4, lead_s=200, reward_wei=10**12, max_reposts=1))
        started = time.monotonic()
        verdict = requester.request("PUMP")
        took = time.monotonic() - started
        assert hung.calls == 1, "the hung detector won a beacon and is stuck in it"
        answered = {names[v.agent]: v.revealed_answer for v in verdict.votes if v.agent and v.revealed_answer}
        assert answered == {"hype": MANIPULATION, "graph": MANIPULATION}, [(v.agent, v.error) for v in verdict.votes]
        assert verdict.answer == MANIPULATION and verdict.evaluation_id is not None, verdict
        stuck_vote = next(v for v in verdict.votes if v.agent is None or names.get(v.agent) == "stuck")
        assert stuck_vote.error, stuck_vote
        assert requester_contracts.beacon.get(stuck_vote.beacon_ids[-1]).status != BeaconStatus.ASSIGNED
        timed_out = requester_contracts.beacon.contract.events.ExecutorTimedOut().get_logs(
            from_block=0, argument_filters={"beaconId": stuck_vote.beacon_ids[0]})
        # reclaimed from it once; re-opened, it was not bid on again by the hung agent (before: it won it again, on
        # the capacity the timeout gave back, and timed out a second time)
        assert [e["args"]["agent"] for e in timed_out] == [agents[2].address], timed_out
        assert "stuck: every execution slot is stuck past its deadline" in caplog.text
        assert took < 90, f"bounded: {took:.0f} s"
        # a delivery is what pays an executor (in the same transaction): the hung agent made none
        task_id = bytes.fromhex(verdict.task_id.removeprefix("0x"))
        voters = {e["args"]["voter"] for name in ("VoteCommitted", "LateCommitment")
                  for e in getattr(requester_contracts.vote.contract.events, name)().get_logs(
                      from_block=0, argument_filters={"taskId": task_id})}
        assert voters == {agents[0].address, agents[1].address}, voters
        # the honest ones are still serving while it hangs
        again = requester.request("PUMP")
        assert {names[v.agent] for v in again.votes if v.agent and v.revealed_answer} >= {"hype", "graph"}
    finally:
        hung.release.set()
        if requester is not None:
            requester.close()
        for agent in agents:
            agent.stop(announce=False)
