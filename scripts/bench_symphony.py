#!/usr/bin/env python
"""Symphony benchmark: single agent (direct, chain-of-thought) vs Symphony K chains with weighted voting vs plain
majority, on the same model, the same held-out questions, in one run.

1. Calibration: for each candidate task setting, the single agent answers a calibration sample directly; the first
   setting where it scores between 20 % and 80 % is kept (so that a gain can show), and the settings are printed.
2. Held-out questions (different seeds) for each kept task: (a) direct, (b) CoT — batched on one backend; (c) and (d)
   run the full protocol: an embedded anvil, the core contracts, agent workers with different profiles (threads in
   this process, one model copy each), the requester's LLM planner, beacons, bids, results and the on-chain
   commit-reveal vote. (c) is the contract's weighted winner; (d) is a plain majority over the same chains' answers.
3. Prints accuracy with 95 % Wilson intervals, tokens, wall time, and the share of wall time spent in chain
   operations (and, separately, waiting for bid windows). Writes results/bench_symphony.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from core.stats import wilson  # noqa: E402
from agents.datasets import Question, bigbench_questions, reasoning_gym_questions  # noqa: E402
from agents.llm.base import SamplingParams  # noqa: E402
from agents.prompts import direct_messages, final_answer  # noqa: E402

# Candidate settings per task, easiest first; calibration keeps the first in the 20-80 % band.
CANDIDATES: dict[str, list[dict]] = {
    "basic_arithmetic": [dict(min_terms=2, max_terms=2, min_digits=1, max_digits=1), dict(min_terms=2, max_terms=2, min_digits=1, max_digits=2),
                         dict(min_terms=2, max_terms=3, min_digits=1, max_digits=2)],
    "gsm_symbolic": [dict()],
    "bigbench:object_counting": [dict()],
    "bigbench:logical_deduction/three_objects": [dict()],
}


def questions_for(task: str, setting: dict, n: int, seed: int) -> list[Question]:
    if task.startswith("bigbench:"):
        return bigbench_questions(task.split(":", 1)[1], n, seed)
    return reasoning_gym_questions(task, n, seed, **setting)


def single_agent(backend, questions: list[Question], *, cot: bool, max_new_tokens: int) -> dict:
    start = time.perf_counter()
    convs = [direct_messages(q.prompt, chain_of_thought=cot) for q in questions]
    out = []
    tokens = 0
    for i in range(0, len(convs), 8):
        result = backend.generate(convs[i:i + 8], SamplingParams(max_new_tokens=max_new_tokens, temperature=0.0))
        for group in result.completions:
            out.append(group[0].text)
            tokens += group[0].prompt_tokens + group[0].completion_tokens
    answers = [final_answer(t) for t in out]
    correct = [q.is_correct(a) for q, a in zip(questions, answers)]
    return {"correct": correct, "answers": answers, "tokens": tokens, "seconds": time.perf_counter() - start}


def calibrate(backend, n: int, max_new_tokens: int) -> dict[str, dict]:
    kept: dict[str, dict] = {}
    print("calibration (single agent, direct answer, seed 1000):")
    for task, settings in CANDIDATES.items():
        for setting in settings:
            qs = questions_for(task, setting, n, seed=1000)
            acc = sum(single_agent(backend, qs, cot=False, max_new_tokens=max_new_tokens)["correct"]) / len(qs)
            verdict = "kept" if 0.2 <= acc <= 0.8 else "rejected"
            print(f"  {task:<42}{json.dumps(setting):<60} {acc:6.1%}  {verdict}")
            if verdict == "kept":
                kept[task] = {"setting": setting, "calibration_accuracy": acc}
                break
    return kept


SYMPHONY_AGENTS = [
    dict(name="calculator", tools=["calculator"], capability="arithmetic and math word problems: adding, subtracting, multiplying, computing totals with a calculator",
         system_prompt="You are a math agent. To compute, write CALCULATE: <expression> and use the result."),
    dict(name="librarian", tools=["retrieval"], corpus=str(ROOT / "data" / "corpus"),
         capability="looking up facts in documents: calendars, categories of objects, definitions, restating what a question asks"),
    dict(name="logician", capability="logical deduction, ordering and comparing objects, multiple-choice reasoning, checking an argument"),
    dict(name="generalist", capability="planning, summarising previous results, checking work and stating the final answer clearly"),
]


def run_symphony(model: Path, questions: list[Question], chains: int, max_new_tokens: int, workdir: Path) -> list[dict]:
    from agents.assembly import build_worker
    from agents.capability import encode_vector
    from agents.llm.transformers_backend import TransformersBackend
    from agents.planner import Planner
    from agents.profile import AgentProfile
    from agents.requester import Requester, RequesterSettings
    from agents.settings import LLMSettings
    from chain.bindings import SymphonyContracts
    from chain.client import ChainClient
    from chain.compile import compile_contracts
    from chain.deploy import deploy_symphony
    from chain.node import AnvilNode
    from chain.settings import ChainSettings

    llm = LLMSettings(model=str(model), device="cpu", max_new_tokens=max_new_tokens, temperature=0.0)
    records = []
    with AnvilNode() as node:
        artifacts = compile_contracts()
        deployer = ChainClient(node.rpc_url, node.dev_accounts[0].key.to_0x_hex())
        manifest = deploy_symphony(deployer, ChainSettings(rpc_url=node.rpc_url, commit_window_s=900, reveal_window_s=300), artifacts=artifacts)
        manifest_path = manifest.save(workdir / "deployment.json", artifacts)
        workers = []
        try:
            for i, spec in enumerate(SYMPHONY_AGENTS, start=1):
                profile = AgentProfile(state_dir=workdir / "state", llm=llm, **spec)
                worker = build_worker(profile, ChainSettings(rpc_url=node.rpc_url, manifest=manifest_path),
                                      node.dev_accounts[i].key.to_0x_hex(), backend=TransformersBackend(model, device="cpu"))
                workers.append(worker.start())
            requester = Requester(SymphonyContracts.bind(deployer, manifest), Planner(TransformersBackend(model, device="cpu"), max_new_tokens=96),
                                  encode_vector, RequesterSettings(chains=chains, bid_window_s=1, exec_window_s=600))
            for n, q in enumerate(questions, 1):
                result = requester.ask(q.prompt)
                chain_answers = [c.answer for c in result.chains if c.answer is not None]
                majority = Counter(chain_answers).most_common(1)[0][0] if chain_answers else None
                records.append({
                    "id": q.id, "source": q.source, "weighted_answer": result.answer, "majority_answer": majority,
                    "weighted_correct": q.is_correct(result.answer), "majority_correct": q.is_correct(majority),
                    "seconds": result.seconds, "chain_seconds": result.timer.chain_seconds, "auction_seconds": result.timer.auction_seconds,
                    "chains": len(result.chains), "tokens": result.planner_tokens + result.executor_tokens, "gas": result.gas_used,
                    "llm_plans": sum(c.plan.source == "llm" for c in result.chains),
                    "agents": sorted({s.executor for c in result.chains for s in c.steps if s.executor}),
                })
                print(f"  symphony {n}/{len(questions)} {q.source}: weighted={result.answer!r} majority={majority!r} gold={q.accepted[0]!r} "
                      f"{result.seconds:.0f}s", flush=True)
            requester.close()
        finally:
            for w in workers:
                w.stop(announce=False)
    return records


def main() -> int:
    import torch

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="model folder (default: SmolLM2-135M-Instruct)")
    parser.add_argument("--calibration", type=int, default=24, help="calibration questions per candidate setting")
    parser.add_argument("--per-task", type=int, default=10, help="held-out questions per kept task")
    parser.add_argument("--chains", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench_symphony.json")
    args = parser.parse_args()
    torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))

    from agents.llm.models import prepare_default_model
    from agents.llm.transformers_backend import TransformersBackend

    model = args.model or prepare_default_model()
    backend = TransformersBackend(model, device="cpu", max_batch_size=8)
    header = (f"Symphony benchmark — model {model.name}, device cpu ({platform.machine()}, {os.cpu_count()} cores), greedy decoding, "
              f"max_new_tokens {args.max_new_tokens}, K={args.chains}, 4 agents")
    print(header)
    kept = calibrate(backend, args.calibration, args.max_new_tokens) if args.calibration > 0 else {}
    if not kept:
        print("no task setting puts the single agent between 20 % and 80 %: using the easiest setting of each task")
        kept = {t: {"setting": s[0], "calibration_accuracy": None} for t, s in CANDIDATES.items()}
    held_out: list[Question] = []
    for task, info in kept.items():
        held_out += questions_for(task, info["setting"], args.per_task, seed=2000)
    print(f"held-out: {len(held_out)} questions from {', '.join(kept)} (seed 2000, disjoint from calibration seed 1000)")

    direct = single_agent(backend, held_out, cot=False, max_new_tokens=args.max_new_tokens)
    cot = single_agent(backend, held_out, cot=True, max_new_tokens=args.max_new_tokens * 2)
    backend.close()
    workdir = ROOT / "build" / "bench_symphony"
    shutil.rmtree(workdir, ignore_errors=True)  # a fresh chain: no worker state from an earlier run
    workdir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    records = run_symphony(model, held_out, args.chains, args.max_new_tokens, workdir)
    symphony_seconds = time.perf_counter() - start

    n = len(held_out)
    rows = [
        ("(a) single agent, direct", sum(direct["correct"]), direct["tokens"], direct["seconds"], None, None),
        ("(b) single agent, CoT", sum(cot["correct"]), cot["tokens"], cot["seconds"], None, None),
        (f"(c) Symphony K={args.chains}, weighted vote", sum(r["weighted_correct"] for r in records), sum(r["tokens"] for r in records), symphony_seconds,
         sum(r["chain_seconds"] for r in records) / sum(r["seconds"] * r["chains"] for r in records),
         sum(r["auction_seconds"] for r in records) / sum(r["seconds"] * r["chains"] for r in records)),
        (f"(d) K={args.chains}, plain majority", sum(r["majority_correct"] for r in records), sum(r["tokens"] for r in records), symphony_seconds, None, None),
    ]
    print()
    print(header)
    print("task settings: " + "; ".join(
        f"{t} {json.dumps(i['setting'])} (calibration {i['calibration_accuracy']:.0%})" if i["calibration_accuracy"] is not None
        else f"{t} {json.dumps(i['setting'])} (easiest setting; none reached 20 %)" for t, i in kept.items()))
    print(f"{'method':<36}{'accuracy':>9}{'95% CI':>17}{'tokens':>10}{'wall s':>9}{'chain ops':>11}{'bid wait':>10}")
    table = []
    for name, k, tokens, seconds, chain_share, auction_share in rows:
        lo, hi = wilson(k, n)
        print(f"{name:<36}{k / n:>9.1%}{f'[{lo:.0%}, {hi:.0%}]':>17}{tokens:>10,}{seconds:>9.0f}"
              f"{(f'{chain_share:.1%}' if chain_share is not None else '-'):>11}{(f'{auction_share:.1%}' if auction_share is not None else '-'):>10}")
        table.append({"method": name, "correct": k, "n": n, "accuracy": k / n, "ci95": [lo, hi], "tokens": tokens, "seconds": seconds,
                      "chain_ops_share": chain_share, "bid_wait_share": auction_share})
    print("chain ops = share of each chain-of-thought's wall time in transactions, calls and event waits (goal <= 5 %); "
          "bid wait = share spent in 1-second bid windows (the auction, a protocol parameter)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"header": header, "kept_settings": kept, "table": table, "symphony_records": records,
                                    "direct_answers": direct["answers"], "cot_answers": cot["answers"],
                                    "gold": [q.accepted for q in held_out]}, indent=1, default=str))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
