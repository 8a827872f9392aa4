"""`symphony demo`: the whole Symphony loop on one machine, as the README's first command runs it.

An embedded anvil, the core contracts, and the heterogeneous network of agents.network (the base generalist, a
logician prompt, the calculator tool agent and the two Echo-trained LoRA specialists), each its own worker
process registered with a capability vector built from the tasks it was measured on and, as model id, its
adapter's sha256. A requester asks fresh held-out questions (the seed offset is printed, so a run can be asked
again), with one-step plans — each of the K chains is one agent answering the question, which is what agents
this small do best — and prints for every chain the agent, its model id, its bid score and beacon, for every
answer the vote's weights, and a summary with correctness, latency, gas and the share of time spent on chain.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agents.requester import RequesterSettings
    from agents.settings import LLMSettings
    from symphony.demo_settings import DemoSettings


def run_demo(demo: "DemoSettings", requester_settings: "RequesterSettings", llm: "LLMSettings") -> int:
    """Run the demo network and print each answer's provenance and a summary table."""
    import random

    from agents.capability import encode_vector
    from agents.datasets import demo_questions
    from agents.llm.factory import load_backend
    from agents.network import network_profiles
    from agents.planner import Planner
    from agents.report import print_provenance
    from agents.requester import Requester
    from chain.bindings import SymphonyContracts
    from chain.client import ChainClient
    from chain.local import local_chain
    from chain.settings import ChainSettings, LocalChainSettings
    from symphony.workers import agent_llm, start_workers

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")
    offset = demo.offset if demo.offset is not None else random.SystemRandom().randrange(100_000)
    questions = demo_questions(demo.questions, offset, demo.families)
    # One-step plans: each chain is one agent answering the whole question (agents.planner, "Why one-step plans").
    requester_settings = requester_settings.model_copy(update={"min_plan_steps": 1, "max_plan_steps": 1})
    chains = requester_settings.chains
    work = Path(demo.workdir) if demo.workdir else Path(tempfile.mkdtemp(prefix="symphony-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    agents_llm = agent_llm(llm)
    model_path = agents_llm.model
    profiles = network_profiles(agents_llm, work / "state")
    print(f"Symphony demo — model {Path(model_path).name} on CPU, {len(profiles)} agents, K={chains} chains, "
          f"{len(questions)} held-out {'/'.join(demo.families)} questions (offset {offset}: "
          f"`symphony demo --offset {offset}` asks them again), files in {work}")
    settings = ChainSettings(commit_window_s=900, reveal_window_s=300, manifest=work / "deployment.json",
                             local=LocalChainSettings(port=0))
    rows = []
    with local_chain(settings) as local:
        node, manifest, manifest_path = local.node, local.manifest, local.manifest_path
        deployer = ChainClient(node.rpc_url, node.dev_accounts[0].key.to_0x_hex())  # local dev key, never printed
        print(f"anvil at {node.rpc_url}; contracts deployed (manifest {manifest_path})")
        workers = start_workers(profiles, node, manifest_path, work)
        try:
            contracts = SymphonyContracts.bind(deployer, manifest)
            workers.wait_registered(contracts, timeout=300)
            names = workers.names
            models = {a.agent: a.model_id for a in contracts.ledger.active_agents()}
            print(f"{len(profiles)} agents registered (name: model id on the ledger):")
            for address, name in names.items():
                print(f"  {name:<22} {address[:10]}…  {models.get(address, '?')}")

            # One torch thread, like every agent process: on a small CPU more threads only oversubscribe it.
            planner_llm = llm.model_copy(update={"model": model_path, "cpu_threads": llm.cpu_threads or 1})
            planner = Planner(load_backend(planner_llm), max_new_tokens=40, min_steps=requester_settings.min_plan_steps,
                              max_steps=requester_settings.max_plan_steps)
            requester = Requester(contracts, planner, encode_vector, requester_settings)
            for q in questions:
                print(f"\n[{len(rows) + 1}/{len(questions)}] {q.source}: {q.prompt[:110]!r} (gold {q.accepted[0]!r})")
                result = requester.ask(q.prompt, on_progress=lambda p: print("   ", p.message, flush=True))
                print_provenance(result, names, models)
                rows.append((q, result))
            requester.close()
        finally:
            workers.stop()
    _print_summary(rows)
    return 0


def _print_summary(rows) -> None:
    print("\nSummary")
    print(f"{'#':<3}{'source':<32}{'gold':<14}{'answer':<14}{'ok':<4}{'time s':>8}{'chain %':>9}{'auction %':>10}{'gas':>11}")
    correct = 0
    for i, (q, r) in enumerate(rows, 1):
        ok = q.is_correct(r.answer)
        correct += ok
        chain_share = 100 * r.timer.chain_seconds / max(r.seconds * max(len(r.chains), 1), 1e-9)
        auction_share = 100 * r.timer.auction_seconds / max(r.seconds * max(len(r.chains), 1), 1e-9)
        print(f"{i:<3}{q.source[:31]:<32}{q.accepted[0][:13]:<14}{str(r.answer)[:13]:<14}{'yes' if ok else 'no':<4}"
              f"{r.seconds:>8.1f}{chain_share:>9.1f}{auction_share:>10.1f}{r.gas_used:>11,}")
    print(f"correct: {correct}/{len(rows)} (see scripts/bench_structured.py and scripts/bench_symphony.py for accuracy with intervals)")
    print("chain % / auction %: share of each chain-of-thought's wall time spent in chain operations / waiting for bid windows")
