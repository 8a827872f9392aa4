"""Routing on anvil: each family's questions go to the agent that declared (by measured example tasks) that family.

Real workers (threads) with the real transformers backend on the tiny test model: their answers are noise, what
is checked is who the beacons assign and what the ledger records. The capability vectors are the centroids of
the families' calibration questions, as agents.network builds them for the demo and the benchmark.
"""

from __future__ import annotations

import json

import pytest

from agents.assembly import build_worker, capability_vector, model_id
from agents.capability import encode_vector, match_score
from agents.datasets import FAMILIES, SEEDS, family_questions
from agents.llm.transformers_backend import TransformersBackend
from agents.network import NETWORK, SPECIALISTS_DIR, capability_examples, network_profiles
from agents.planner import Planner
from agents.profile import AgentProfile
from agents.requester import Requester, RequesterSettings
from agents.settings import LLMSettings
from chain.settings import ChainSettings
from core.errors import ConfigError

SPECIALISTS = {"arith": ("basic_arithmetic", "chain_sum"), "counter": ("object_counting",), "logic": ("logical_deduction",),
               "speller": ("letter_counting",)}


def _start(chain, tmp_path, tiny_model_path, names):
    llm = LLMSettings(model=str(tiny_model_path), device="cpu", max_new_tokens=8, temperature=0.0)
    settings = ChainSettings(rpc_url=chain.node.rpc_url, manifest=chain.manifest.save(tmp_path / "deployment.json"))
    workers = []
    for i, name in enumerate(names, start=1):
        profile = AgentProfile(name=name, capability=f"{name}: {', '.join(SPECIALISTS[name])}",
                               capability_examples=capability_examples(SPECIALISTS[name], per_family=6),
                               state_dir=tmp_path, llm=llm, max_tool_rounds=0)
        backend = TransformersBackend(tiny_model_path, device="cpu")
        workers.append(build_worker(profile, settings, chain.node.dev_accounts[i].key.to_0x_hex(), backend=backend).start())
    return workers


def _held_out(family: str, n: int) -> list:
    return family_questions(family, n, SEEDS["bench_symphony"] + list(FAMILIES).index(family))


def test_each_family_is_assigned_to_its_specialist_and_the_vote_weighs_it_most(chain, tmp_path, tiny_model_path):
    workers = _start(chain, tmp_path, tiny_model_path, list(SPECIALISTS))
    names = {w.address: w.profile.name for w in workers}
    contracts = chain.contracts(0)
    planner = Planner(TransformersBackend(tiny_model_path, device="cpu"), max_new_tokens=16, min_steps=1, max_steps=1)
    requester = Requester(contracts, planner, encode_vector, RequesterSettings(chains=2, bid_window_s=1, exec_window_s=120))
    routed = {}
    try:
        for family in ("basic_arithmetic", "object_counting", "logical_deduction", "letter_counting"):
            for q in _held_out(family, 2):
                result = requester.ask(q.prompt)
                assert all(c.error is None for c in result.chains), [c.error for c in result.chains]
                best = max(result.chains, key=lambda c: c.steps[-1].score)
                routed.setdefault(family, []).append(names[best.steps[-1].executor])
                # Two chains, two different voters: the contract never gives one agent two final slots.
                assert len({c.steps[-1].executor for c in result.chains}) == 2
    finally:
        requester.close()
        for w in workers:
            w.stop(announce=False)
    assert routed == {"basic_arithmetic": ["arith", "arith"], "object_counting": ["counter", "counter"],
                      "logical_deduction": ["logic", "logic"], "letter_counting": ["speller", "speller"]}


def test_random_routing_posts_a_registered_agents_vector_for_every_step(chain, tmp_path, tiny_model_path):
    workers = _start(chain, tmp_path, tiny_model_path, ["arith", "logic"])
    contracts = chain.contracts(0)
    declared = {a.declared_capability for a in contracts.ledger.active_agents()}
    planner = Planner(TransformersBackend(tiny_model_path, device="cpu"), max_new_tokens=16, min_steps=1, max_steps=1)
    settings = RequesterSettings(chains=2, bid_window_s=1, exec_window_s=120, routing="random", routing_seed=3)
    requester = Requester(contracts, planner, encode_vector, settings)
    try:
        drawn = [requester.requirements("What is 2 + 3?", [("Add.",)])[0][0] for _ in range(12)]
        result = requester.ask(_held_out("logical_deduction", 1)[0].prompt)
    finally:
        requester.close()
        for w in workers:
            w.stop(announce=False)
    assert set(drawn) == declared  # both agents drawn over 12 draws, and nothing else ever
    posted = contracts.beacon.contract.events.ChainPosted().get_logs(from_block=0)
    assert posted and all(bytes(r) in declared for e in posted for r in e["args"]["requirements"])
    assert all(c.error is None for c in result.chains)


def test_network_agents_declare_measured_families_and_serve_their_adapters(tmp_path):
    from core.hashing import sha256_file

    llm = LLMSettings(device="cpu")
    profiles = {p.name: p for p in network_profiles(llm, tmp_path)}
    assert set(profiles) == {a.name for a in NETWORK}
    for agent in NETWORK:
        profile = profiles[agent.name]
        assert len(profile.capability_examples) == 12 * len(agent.families)
        if agent.specialist:
            assert profile.llm.adapter is not None and profile.llm.adapter.is_file()
            assert model_id(profile) == "sha256:" + sha256_file(profile.llm.adapter)
            assert "held-out" in profile.capability and not profile.tool_examples
        else:
            # The base weights by hash: the same hash every specialist's adapter names as its base.
            base = json.loads((SPECIALISTS_DIR / "manifest.json").read_text())["base_model"]["sha256"]
            assert profile.llm.adapter is None and model_id(profile) == f"smollm2-135m-instruct@sha256:{base}"
    # The centroid of a family's calibration questions scores that family's held-out questions above the others'.
    arith, logic = capability_vector(profiles["arithmetic-specialist"]), capability_vector(profiles["logician"])
    q = encode_vector(_held_out("basic_arithmetic", 1)[0].prompt)
    assert match_score(arith, q) > match_score(logic, q)
    with pytest.raises(ConfigError, match="unknown network agent"):
        network_profiles(llm, tmp_path, names=("calculator", "oracle"))


def test_a_missing_adapter_is_a_config_error_not_a_model_id(tmp_path):
    profile = AgentProfile(name="x", capability="x", state_dir=tmp_path,
                           llm=LLMSettings(adapter=tmp_path / "missing.safetensors"))
    with pytest.raises(ConfigError, match="not found"):
        model_id(profile)
