"""What `ask` checks before it plans or posts: a question that fits a beacon payload, and K voters."""

from __future__ import annotations

import pytest

from agents.assembly import build_worker
from agents.capability import encode_vector
from agents.llm.transformers_backend import TransformersBackend
from agents.planner import Planner
from agents.profile import AgentProfile
from agents.requester import AskFailed, Requester, RequesterSettings
from agents.settings import LLMSettings
from chain.settings import ChainSettings


def _requester(chain, tiny_model_path, chains: int) -> Requester:
    planner = Planner(TransformersBackend(tiny_model_path, device="cpu"), max_new_tokens=16, min_steps=1, max_steps=1)
    return Requester(chain.contracts(0), planner, encode_vector,
                     RequesterSettings(chains=chains, bid_window_s=1, exec_window_s=120, min_plan_steps=1, max_plan_steps=1))


def test_k_above_the_available_voters_asks_with_fewer_chains_and_says_so(chain, tmp_path, tiny_model_path):
    llm = LLMSettings(model=str(tiny_model_path), device="cpu", max_new_tokens=8, temperature=0.0)
    profile = AgentProfile(name="solo", capability="arithmetic", state_dir=tmp_path, llm=llm)
    settings = ChainSettings(rpc_url=chain.node.rpc_url, manifest=chain.manifest.save(tmp_path / "deployment.json"))
    worker = build_worker(profile, settings, chain.node.dev_accounts[1].key.to_0x_hex(),
                          backend=TransformersBackend(tiny_model_path, device="cpu")).start()
    requester = _requester(chain, tiny_model_path, chains=3)
    events = []
    try:
        result = requester.ask("What is 2 + 3?", on_progress=events.append)
    finally:
        requester.close()
        worker.stop(announce=False)
    assert len(result.chains) == 1 and result.chains[0].error is None
    notice = next(e for e in events if e.event == "notice")
    assert "K = 1 chains instead of 3" in notice.message and notice.data == {"chains": 1, "asked": 3}
    # Then the ask, as it happened: planned, posted, the beacon's bids and assignment, the delivery with the
    # committed vote, the reveal and the vote.
    kinds = [e.event for e in events]
    for before, after in zip(["planning", "planned", "posted", "assigned", "committed", "revealed", "finalized", "chain"],
                             ["planned", "posted", "assigned", "committed", "revealed", "finalized", "chain", None]):
        assert before in kinds and (after is None or kinds.index(before) < kinds.index(after)), kinds
    assigned = next(e for e in events if e.event == "assigned")
    assert assigned.data["executors"] == [worker.address] and assigned.data["bids"][0]["agent"] == worker.address
    assert (next(e for e in events if e.event == "finalized").data["answer"] or None) == result.answer
    beacons = chain.contracts(0).beacon.contract.events.ChainPosted().get_logs(from_block=0)
    assert len(beacons) == 1  # nothing posted for chains nobody could vote in


def test_refusals_come_before_any_transaction(chain, tiny_model_path):
    requester = _requester(chain, tiny_model_path, chains=2)
    w3 = chain.contracts(0).client.w3
    height = w3.eth.block_number
    try:
        with pytest.raises(AskFailed, match="no agent on the ledger can take a step"):
            requester.ask("What is 2 + 3?")
        with pytest.raises(AskFailed, match="does not fit a beacon payload"):
            requester.ask("What is 2 + 3? " * 2000)
    finally:
        requester.close()
    assert w3.eth.block_number == height


def test_an_agent_the_ledger_would_not_let_bid_is_not_counted_as_a_voter(chain, tiny_model_path):
    ledger = chain.contracts(1).ledger
    ledger.register("idle", "m", "", [], encode_vector("arithmetic"), 1, ledger.min_stake())
    assert len(ledger.can_bid(ledger.active_agents())) == 1
    ledger.heartbeat(False)  # registered and staked, but says it is not available
    assert ledger.can_bid(ledger.active_agents()) == []
    requester = _requester(chain, tiny_model_path, chains=2)
    try:
        with pytest.raises(AskFailed, match="no agent on the ledger can take a step"):
            requester.ask("What is 2 + 3?")
    finally:
        requester.close()
