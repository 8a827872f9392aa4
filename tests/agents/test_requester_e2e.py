"""End to end in one process: real workers (threads) on SmolLM2-135M, a requester, beacons and the weighted vote.

Uses the default model prepared by the set-up (scripts/prepare_models.py); skipped with a reason if it is absent.
"""

from __future__ import annotations

import pytest

from agents.assembly import build_worker
from agents.capability import encode_vector
from agents.llm.transformers_backend import TransformersBackend
from agents.planner import Planner
from agents.profile import AgentProfile
from agents.report import provenance
from agents.requester import Requester, RequesterSettings
from agents.settings import LLMSettings
from chain.bindings.vote import VotePhase


def test_question_answered_by_chains_on_different_agents_and_settled_on_chain(chain, smollm, tmp_path):
    llm = LLMSettings(model=str(smollm), device="cpu", max_new_tokens=40, temperature=0.0)
    profiles = [
        AgentProfile(name="calc", capability="arithmetic, adding numbers, computing totals", tools=["calculator"], state_dir=tmp_path, llm=llm),
        AgentProfile(name="reader", capability="reading a question and restating the facts it gives", state_dir=tmp_path, llm=llm),
        AgentProfile(name="closer", capability="checking work and stating the final answer", state_dir=tmp_path, llm=llm),
    ]
    workers = []
    try:
        for i, profile in enumerate(profiles, start=1):
            backend = TransformersBackend(smollm, device="cpu")
            workers.append(build_worker(profile, _chain_settings(chain, tmp_path),
                                        chain.node.dev_accounts[i].key.to_0x_hex(), backend=backend).start())
        requester_contracts = chain.contracts(0)
        planner = Planner(TransformersBackend(smollm, device="cpu"), max_new_tokens=64)
        requester = Requester(requester_contracts, planner, encode_vector, RequesterSettings(chains=2, bid_window_s=1, exec_window_s=300))
        try:
            result = requester.ask("What is 12 + 35?")
        finally:
            requester.close()
    finally:
        for w in workers:
            w.stop(announce=False)

    task_id = bytes.fromhex(result.task_id[2:])
    first_chain = requester_contracts.beacon.get_task(task_id).first_chain
    names = {w.address: w.profile.name for w in workers}
    for c in result.chains:
        assert c.error is None, c.error
        assert len(c.steps) == len(c.plan.steps)
        assert all(s.executor in names for s in c.steps)
        # The chain weight the requester reports is the contract's mean match score of the chain's executors.
        assert c.weight == requester_contracts.beacon.chain_weight(first_chain + c.cot_index)
        assert c.weight == sum(s.score for s in c.steps) // len(c.steps)
    vote = requester_contracts.vote.get(task_id)
    answered = [c for c in result.chains if c.answer is not None]
    if answered:
        assert vote.phase == VotePhase.FINALIZED
        assert result.answer == vote.winning_answer
        assert vote.total_weight == sum(c.weight for c in answered)
        assert vote.winning_weight == sum(c.weight for c in answered if c.answer == vote.winning_answer)
    else:  # every final executor abstained explicitly (an empty answer): the vote closes with no answer
        assert vote.phase == VotePhase.FINALIZED and result.answer is None and vote.total_weight == 0
    finals = {c.steps[-1].executor for c in result.chains}
    assert len(finals) == len(result.chains)  # one vote per agent: the contract gives no agent two final slots
    assert vote.reveals == vote.commits == len(finals)  # abstainers vote too, so nobody waits for them
    assert provenance(result)["tx_hashes"] == result.tx_hashes and result.gas_used > 0


def _chain_settings(chain, tmp_path):
    from chain.settings import ChainSettings

    return ChainSettings(rpc_url=chain.node.rpc_url, manifest=chain.manifest.save(tmp_path / "deployment.json"))
