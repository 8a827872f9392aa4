#!/usr/bin/env python
"""Symphony benchmark: does the heterogeneous network beat its best agent on a held-out mixed set?

One run, one table. Questions: `--per-family` held-out questions of each task family of agents.datasets.FAMILIES
(reasoning-gym basic_arithmetic / chain_sum / gsm_symbolic / letter_counting and BIG-bench object_counting /
logical_deduction),
seed SEEDS["bench_symphony"] + the family's index — never used in training (echo seeds), in the agents'
capability examples (calibration seed) or in the demo. Network: agents.network.NETWORK (the base generalist, a
logician prompt, the calculator, item-counter and letter-counter tool agents and the two Echo LoRA specialists),
each a worker on an embedded anvil.

`--reuse-single JSON` takes (a)-(c) answers from an earlier run for the questions it asked, where the model settings
and the agent's signature (adapter, tools, prompt, examples, token budget) are the same — greedy decoding answers
them alike — so a run that adds agents or a family computes only what is new; the table says what was reused.

Methods, all on the same questions:
  (a) base model direct (constrained answer)       (b) base model chain of thought (free text, "Answer:" line)
  (c) each network agent alone (its executor on a one-step plan: the question itself), the best one named
  (d) Symphony, K chains, capability-routed beacons, on-chain weighted commit-reveal vote
  (e) plain majority over (d)'s chains            (f) oracle router: each question to the agent best at its
      family in (c) (an upper bound no router can beat without knowing the answers)
  (g) Symphony with routing disabled: each step's requirement is a random agent's vector (random assignment)

Why two processes: the machine this was built on has two cores; (a)-(c) run in a child process while the parent
runs the networks of (d) and (g), each with one torch thread, so the run takes half the wall time. The wall
times printed are each method's own, measured while the other half ran.

Prints the accuracy table with 95 % Wilson intervals, tokens, wall time, chain-operation and bid-wait shares and
gas per question; accuracy per family; the routing confusion matrix (question family x agent whose vote weighed
most); and the goals. Writes results/bench_symphony.json and results/bench_symphony.png.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from core.stats import wilson  # noqa: E402

ONE_STEP = ("Answer the question.",)


def held_out(per_family: int) -> list:
    """Round-robin over families, so the network's on-chain record builds up evenly across them."""
    from agents.datasets import FAMILIES, SEEDS, family_questions

    sets = [family_questions(f, per_family, SEEDS["bench_symphony"] + i) for i, f in enumerate(FAMILIES)]
    return [q for row in zip(*sets) for q in row]


def family(q) -> str:  # noqa: ANN001
    """The agents.datasets family of a question ("logical_deduction-three_objects" -> "logical_deduction")."""
    return q.source.split("-")[0]


# -- (a), (b), (c): single agents, in the child process --------------------------------------------------------
def agent_signature(agent) -> dict:  # noqa: ANN001 - agents.network.NetworkAgent
    """What decides an agent's answers alone: two runs with equal signatures answer a question alike (greedy)."""
    return {"specialist": agent.specialist, "tools": list(agent.tools), "system_prompt": agent.system_prompt,
            "tool_examples": agent.tool_examples, "max_new_tokens": agent.max_new_tokens}


def reusable(old: dict | None, settings: dict) -> dict:
    """From an earlier run's JSON, the single-agent answers that this run would reproduce: (a) and (b) when the
    model settings match, and each agent whose signature matches (an old run without signatures: its recorded
    specialist and tools, and no token budget of its own), per question id."""
    if not old:
        return {}
    if old.get("settings", {}).get("single", settings) != settings:
        return {}
    ids = [q["id"] for q in old["questions"]]
    entries = {f"method:{k}": v for k, v in old["single"]["methods"].items()}
    old_sigs = {a["name"]: a.get("signature") for a in old.get("network", [])}
    legacy = {a["name"]: {"specialist": a["specialist"], "tools": a["tools"]} for a in old.get("network", [])}
    from agents.network import NETWORK

    for agent in NETWORK:
        sig = agent_signature(agent)
        same = (old_sigs.get(agent.name) == sig if old_sigs.get(agent.name) is not None else
                legacy.get(agent.name) == {"specialist": sig["specialist"], "tools": sig["tools"]} and sig["max_new_tokens"] is None)
        if same and agent.name in old["single"]["agents"]:
            entries[f"agent:{agent.name}"] = old["single"]["agents"][agent.name]
    out = {}
    for key, entry in entries.items():
        n = len(entry["answers"])
        tokens = entry.get("tokens_per_question") or [entry["tokens"] / n] * n  # an older run kept totals only
        seconds = entry.get("seconds_per_question") or [entry["seconds"] / n] * n
        out[key] = {qid: (a, t, sec) for qid, a, t, sec in zip(ids, entry["answers"], tokens, seconds)}
    return out


def answer_all(questions: list, key: str, reuse: dict, work) -> dict:  # noqa: ANN001 - work: questions -> rows
    """Answers of one method on `questions`: reused where an earlier run answered the same question the same way,
    the rest computed by `work` (a list of questions -> a list of (answer, tokens, seconds))."""
    known = reuse.get(key, {})
    todo = [q for q in questions if q.id not in known]
    computed = dict(zip((q.id for q in todo), work(todo))) if todo else {}
    rows = [known.get(q.id) or computed[q.id] for q in questions]
    return {"answers": [r[0] for r in rows], "tokens_per_question": [r[1] for r in rows],
            "seconds_per_question": [r[2] for r in rows], "tokens": int(sum(r[1] for r in rows)),
            "seconds": sum(r[2] for r in rows), "reused": len(questions) - len(todo)}


def single_agents(model: str, per_family: int, max_new_tokens: int, cot_tokens: int, reuse: dict) -> dict:
    """(a), (b) and (c) on the held-out set, in this (child) process."""
    import torch

    torch.set_num_threads(1)
    from agents.answer_format import Answer, answer_constraint, infer_format
    from agents.assembly import build_tools
    from agents.executor import StepExecutor
    from agents.llm.base import SamplingParams
    from agents.llm.factory import load_backend
    from agents.llm.structured import generate_structured
    from agents.network import network_profiles
    from agents.payloads import SubtaskPayload
    from agents.prompts import direct_messages, final_answer
    from agents.settings import LLMSettings
    from tools.answers import normalize_answer

    questions = held_out(per_family)
    llm = LLMSettings(model=model, device="cpu", max_new_tokens=max_new_tokens, temperature=0.0)
    out: dict = {"methods": {}}
    base = load_backend(llm)

    def direct(qs: list) -> list:
        rows = []
        for q in qs:
            start, fmt = time.perf_counter(), infer_format(q.prompt)
            sample = generate_structured(base, [direct_messages(q.prompt, chain_of_thought=False, fmt=fmt)], Answer,
                                         SamplingParams(max_new_tokens=32, temperature=0.0),
                                         constraint=answer_constraint(fmt, q.prompt, final=True))[0][0]
            rows.append((normalize_answer(sample.value.answer) if sample.value else None,
                         sample.completion.prompt_tokens + sample.completion.completion_tokens, time.perf_counter() - start))
        return rows

    def chain_of_thought(qs: list) -> list:
        rows = []
        for i in range(0, len(qs), 8):
            start, batch = time.perf_counter(), qs[i:i + 8]
            result = base.generate([direct_messages(q.prompt, chain_of_thought=True) for q in batch],
                                   SamplingParams(max_new_tokens=cot_tokens, temperature=0.0))
            each = (time.perf_counter() - start) / len(batch)  # a batch's time, shared by its questions
            rows += [(final_answer(g[0].text), g[0].prompt_tokens + g[0].completion_tokens, each) for g in result.completions]
        return rows

    for key, name, work in (("a", "direct", direct), ("b", "chain of thought", chain_of_thought)):
        out["methods"][key] = answer_all(questions, f"method:{key}", reuse, work)
        m = out["methods"][key]
        print(f"  ({key}) {name} done in {m['seconds']:.0f} s ({m['reused']} answers reused)", flush=True)
    base.close()

    out["agents"] = {}
    for profile in network_profiles(llm, ROOT / "build" / "bench_symphony" / "single"):
        backend = load_backend(profile.llm)
        executor = StepExecutor(backend, profile, build_tools(profile))

        def alone(qs: list) -> list:
            rows = []
            for q in qs:
                start = time.perf_counter()
                result = executor.execute(SubtaskPayload(q.prompt, ONE_STEP, 0, final=True, answer_format=infer_format(q.prompt)))
                rows.append((None if result.abstained else result.answer, result.tokens, time.perf_counter() - start))
            return rows

        run = out["agents"][profile.name] = answer_all(questions, f"agent:{profile.name}", reuse, alone)
        right = sum(q.is_correct(a) for q, a in zip(questions, run["answers"]))
        print(f"  (c) {profile.name}: {right}/{len(questions)} in {run['seconds']:.0f} s ({run['reused']} answers reused)", flush=True)
        backend.close()
    return out


# -- (d), (e), (g): the network on chain, in this process ---------------------------------------------------
def run_network(model: str, questions: list, routing: str, chains: int, max_new_tokens: int, workdir: Path) -> dict:
    """The whole network on a fresh embedded anvil, one question after the other; a record per question."""
    from agents.assembly import build_worker
    from agents.capability import encode_vector
    from agents.llm.factory import load_backend
    from agents.network import network_profiles
    from agents.planner import Planner
    from agents.requester import Requester, RequesterSettings
    from agents.settings import LLMSettings
    from chain.bindings import SymphonyContracts
    from chain.client import ChainClient
    from chain.local import local_chain
    from chain.settings import ChainSettings, LocalChainSettings

    shutil.rmtree(workdir, ignore_errors=True)  # a fresh chain: no worker state from an earlier run
    workdir.mkdir(parents=True, exist_ok=True)
    llm = LLMSettings(model=model, device="cpu", max_new_tokens=max_new_tokens, temperature=0.0)
    settings = ChainSettings(commit_window_s=900, reveal_window_s=300, manifest=workdir / "deployment.json",
                             local=LocalChainSettings(port=0))
    records: list[dict] = []
    started = time.perf_counter()
    with local_chain(settings) as local:
        node = local.node
        deployer = ChainClient(node.rpc_url, node.dev_accounts[0].key.to_0x_hex())  # local dev keys only
        chain = ChainSettings(rpc_url=node.rpc_url, manifest=local.manifest_path)
        workers = []
        try:
            for i, profile in enumerate(network_profiles(llm, workdir / "state", capacity=1), start=1):
                workers.append(build_worker(profile, chain, node.dev_accounts[i].key.to_0x_hex()).start())
            names = {w.address: w.profile.name for w in workers}
            contracts = SymphonyContracts.bind(deployer, local.manifest)
            planner = Planner(load_backend(llm), max_new_tokens=40, min_steps=1, max_steps=1)
            requester = Requester(contracts, planner, encode_vector,
                                  RequesterSettings(chains=chains, bid_window_s=1, exec_window_s=600, routing=routing))
            w3 = contracts.client.w3
            for n, q in enumerate(questions, 1):
                first_block = w3.eth.block_number + 1
                result = requester.ask(q.prompt)
                gas_all = sum(int(w3.eth.get_block(b)["gasUsed"]) for b in range(first_block, w3.eth.block_number + 1))
                chain_rows = [{"agent": names.get(c.steps[-1].executor or "", None) if c.steps else None, "answer": c.answer,
                               "weight": c.weight, "score": c.steps[-1].score if c.steps else 0, "plan": list(c.plan.steps),
                               "plan_source": c.plan.source, "error": c.error,
                               "tokens": sum(s.result.tokens for s in c.steps if s.result)} for c in result.chains]
                majority = Counter(c.answer for c in result.chains if c.answer).most_common(1)
                records.append({"id": q.id, "family": family(q), "answer": result.answer,
                                "majority": majority[0][0] if majority else None, "chains": chain_rows,
                                "seconds": result.seconds, "chain_seconds": result.timer.chain_seconds,
                                "auction_seconds": result.timer.auction_seconds, "chain_count": len(result.chains),
                                "tokens": result.planner_tokens + result.executor_tokens, "gas_requester": result.gas_used,
                                "gas_all": gas_all, "task_id": result.task_id})
                print(f"  ({'g' if routing == 'random' else 'd'}) {n}/{len(questions)} {family(q):<18} "
                      f"{result.answer!r:<10} gold {q.accepted[0]!r:<10} "
                      + " ".join(f"{c['agent']}:{c['answer']!r}" for c in chain_rows) + f"  {result.seconds:.0f} s", flush=True)
            requester.close()
        finally:
            for w in workers:
                w.stop(announce=False)
    return {"records": records, "seconds": time.perf_counter() - started}


# -- the report ----------------------------------------------------------------------------------------------
def row(name: str, correct: list[bool], tokens: int | None, seconds: float | None, **extra: object) -> dict:
    k, n = sum(correct), len(correct)
    lo, hi = wilson(k, n)
    return {"method": name, "correct": k, "n": n, "accuracy": k / n, "ci95": [lo, hi], "tokens": tokens, "seconds": seconds, **extra}


def network_row(name: str, questions: list, run: dict, key: str) -> dict:
    recs = run["records"]
    correct = [q.is_correct(r[key]) for q, r in zip(questions, recs)]
    chain_time = sum(r["seconds"] * r["chain_count"] for r in recs)
    return row(name, correct, sum(r["tokens"] for r in recs), run["seconds"],
               chain_ops_share=sum(r["chain_seconds"] for r in recs) / chain_time,
               bid_wait_share=sum(r["auction_seconds"] for r in recs) / chain_time,
               gas_per_question=sum(r["gas_all"] for r in recs) / len(recs),
               requester_gas_per_question=sum(r["gas_requester"] for r in recs) / len(recs))


def per_family(questions: list, answers: list) -> dict[str, float]:
    hits: dict[str, list[bool]] = defaultdict(list)
    for q, a in zip(questions, answers):
        hits[family(q)].append(q.is_correct(a))
    return {f: sum(v) / len(v) for f, v in hits.items()}


def routing_matrix(run: dict) -> dict[str, Counter]:
    """Question family -> which agent's chain weighed most (the one the beacons judged best), over questions."""
    matrix: dict[str, Counter] = defaultdict(Counter)
    for r in run["records"]:
        live = [c for c in r["chains"] if c["agent"]]
        if live:
            matrix[r["family"]][max(live, key=lambda c: c["score"])["agent"]] += 1
    return matrix


def plot(table: list[dict], families: dict[str, dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 5.5))
    names = [t["method"] for t in table]
    acc = [100 * t["accuracy"] for t in table]
    err = [[100 * (t["accuracy"] - t["ci95"][0]) for t in table], [100 * (t["ci95"][1] - t["accuracy"]) for t in table]]
    left.barh(range(len(table)), acc, xerr=err, color="#4a78b5", capsize=3)
    left.set_yticks(range(len(table)), names, fontsize=8)
    left.invert_yaxis()
    left.set_xlabel("accuracy % (95 % Wilson interval)")
    left.set_title("held-out mixed set")
    fams = sorted({f for v in families.values() for f in v})
    width = 0.8 / max(len(families), 1)
    for i, (method, values) in enumerate(families.items()):
        right.bar([x + i * width for x in range(len(fams))], [100 * values.get(f, 0) for f in fams], width, label=method)
    right.set_xticks([x + 0.4 - width / 2 for x in range(len(fams))], fams, fontsize=8, rotation=15)
    right.set_ylabel("accuracy %")
    right.set_title("per task family")
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model folder (default: SmolLM2-135M-Instruct)")
    parser.add_argument("--per-family", type=int, default=20, help="held-out questions per family (6 families)")
    parser.add_argument("--control-per-family", type=int, default=None,
                        help="questions per family for (g), the first ones of the set (default: all)")
    parser.add_argument("--chains", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--cot-tokens", type=int, default=128, help="token budget of (b)'s chain of thought")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench_symphony.json")
    parser.add_argument("--reuse-single", type=Path, default=None, metavar="JSON",
                        help="an earlier run's JSON: reuse its (a)-(c) answers on the same questions where the model "
                             "settings and the agent's signature match (greedy decoding answers them alike)")
    parser.add_argument("--report-only", action="store_true",
                        help="print the report from the measurements the last run with the same --out kept (<out>.raw.json)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from agents.datasets import FAMILIES
    from agents.llm.models import prepare_default_model
    from agents.network import NETWORK

    model = args.model or str(prepare_default_model())
    questions = held_out(args.per_family)
    single_settings = {"model": Path(model).name, "max_new_tokens": args.max_new_tokens, "cot_tokens": args.cot_tokens}
    old = json.loads(args.reuse_single.read_text()) if args.reuse_single else None
    reuse = reusable(old, single_settings)
    header = (f"Symphony benchmark — model {Path(model).name} (+ LoRA specialists), device cpu ({platform.machine()}, "
              f"{os.cpu_count()} cores, 1 torch thread per process), greedy, K={args.chains}, one-step plans, "
              f"{len(NETWORK)} agents, {len(questions)} held-out questions ({args.per_family} per family, seed "
              f"bench_symphony)")
    print(header, flush=True)
    n_control = (args.control_per_family or args.per_family) * len(FAMILIES)
    control_questions = questions[:n_control]
    raw_path = args.out.with_suffix(".raw.json")
    if args.report_only:  # the measurements of a run whose report failed or changed: no model runs again
        raw = json.loads(raw_path.read_text())
        single, symphony, control = raw["single"], raw["symphony"], raw["control"]
    else:
        with ProcessPoolExecutor(max_workers=1) as pool:
            single_future = pool.submit(single_agents, model, args.per_family, args.max_new_tokens, args.cot_tokens, reuse)
            work = ROOT / "build" / "bench_symphony"
            symphony = run_network(model, questions, "question", args.chains, args.max_new_tokens, work / "routed")
            control = run_network(model, control_questions, "random", args.chains, args.max_new_tokens, work / "random")
            single = single_future.result()
        raw_path.parent.mkdir(parents=True, exist_ok=True)
        raw_path.write_text(json.dumps({"single": single, "symphony": symphony, "control": control}, default=str))

    gold_ok = lambda answers, qs=questions: [q.is_correct(a) for q, a in zip(qs, answers)]  # noqa: E731
    table = [row("(a) base model, direct", gold_ok(single["methods"]["a"]["answers"]), single["methods"]["a"]["tokens"],
                 single["methods"]["a"]["seconds"]),
             row("(b) base model, chain of thought", gold_ok(single["methods"]["b"]["answers"]),
                 single["methods"]["b"]["tokens"], single["methods"]["b"]["seconds"])]
    agent_rows = {name: row(f"(c) {name} alone", gold_ok(a["answers"]), a["tokens"], a["seconds"])
                  for name, a in single["agents"].items()}
    best = max(agent_rows, key=lambda name: agent_rows[name]["correct"])
    table += list(agent_rows.values())
    d = network_row(f"(d) Symphony K={args.chains}, weighted vote", questions, symphony, "answer")
    e = network_row(f"(e) K={args.chains} chains, plain majority", questions, symphony, "majority")
    # (f): per family, the agent with the most right answers on that family in (c).
    fam_acc = {name: per_family(questions, a["answers"]) for name, a in single["agents"].items()}
    oracle_pick = {f: max(fam_acc, key=lambda name: fam_acc[name].get(f, 0)) for f in FAMILIES}
    f_answers = [single["agents"][oracle_pick[family(q)]]["answers"][i] for i, q in enumerate(questions)]
    f = row("(f) oracle router (best agent per family)", gold_ok(f_answers), None, None, picks=oracle_pick)
    g = network_row(f"(g) Symphony, random assignment", control_questions, control, "answer")
    table += [d, e, f, g]
    families = {"(a) direct": per_family(questions, single["methods"]["a"]["answers"]),
                f"(c) {best}": fam_acc[best],
                "(d) Symphony": per_family(questions, [r["answer"] for r in symphony["records"]]),
                "(f) oracle": per_family(questions, f_answers),
                "(g) random": per_family(control_questions, [r["answer"] for r in control["records"]])}
    matrix = routing_matrix(symphony)

    print()
    print(header)
    print(f"{'method':<44}{'acc':>7}{'95% CI':>14}{'tokens':>10}{'wall s':>8}{'chain ops':>10}{'bid wait':>9}{'gas/q':>11}")
    for t in table:
        share = lambda key: f"{t[key]:.1%}" if t.get(key) is not None else "-"  # noqa: E731
        gas = f"{t['gas_per_question']:,.0f}" if t.get("gas_per_question") else "-"
        ci = "[{:.0%}, {:.0%}]".format(*t["ci95"])
        tokens = f"{t['tokens']:,}" if t["tokens"] is not None else "-"
        seconds = f"{t['seconds']:.0f}" if t["seconds"] is not None else "-"
        print(f"{t['method']:<44}{t['accuracy']:>7.1%}{ci:>14}{tokens:>10}{seconds:>8}{share('chain_ops_share'):>10}"
              f"{share('bid_wait_share'):>9}{gas:>11}")
    print(f"best single agent: {best}; (g) ran on {len(control_questions)} questions; gas/q = all transactions "
          "of a question (requester and agents); chain ops / bid wait = share of each chain's wall time")
    reused = {k: v["reused"] for k, v in [*single["methods"].items(), *single["agents"].items()] if v["reused"]}
    if reused:
        print(f"(a)-(c) answers reused from {args.reuse_single} (same question, model settings and agent signature; "
              "their tokens and seconds are that run's per-question means): "
              + ", ".join(f"{k} {n}/{len(questions)}" for k, n in reused.items()))
    print("\naccuracy per family")
    print(f"{'':<20}" + "".join(f"{f:>19}" for f in FAMILIES))
    for method, values in families.items():
        print(f"{method:<20}" + "".join(f"{values.get(f, 0):>19.0%}" for f in FAMILIES))
    print("\nrouting matrix (d): question family x agent whose chain weighed most")
    agents = [a.name for a in NETWORK]
    print(f"{'':<20}" + "".join(f"{a:>22}" for a in agents))
    for fam in FAMILIES:
        print(f"{fam:<20}" + "".join(f"{matrix[fam][a]:>22}" for a in agents))
    goal_gain = d["accuracy"] >= agent_rows[best]["accuracy"] + 0.10 and d["ci95"][0] > agent_rows[best]["ci95"][1]
    print("\ngoals")
    print(f"  (d) >= best single agent + 10 points, intervals apart: {'met' if goal_gain else 'MISSED'} "
          f"({d['accuracy']:.1%} vs {best} {agent_rows[best]['accuracy']:.1%})")
    print(f"  (d) > (g): {'met' if d['accuracy'] > g['accuracy'] else 'MISSED'} ({d['accuracy']:.1%} vs {g['accuracy']:.1%})")
    print(f"  chain operations <= 5 % of wall time: {'met' if d['chain_ops_share'] <= 0.05 else 'MISSED'} "
          f"({d['chain_ops_share']:.1%})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    plot(table, families, args.out.with_suffix(".png"))
    args.out.write_text(json.dumps({
        "header": header, "table": table, "best_single_agent": best, "per_family": families,
        "routing_matrix": {f: dict(c) for f, c in matrix.items()}, "oracle_picks": oracle_pick,
        "questions": [{"id": q.id, "family": family(q), "gold": q.accepted} for q in questions],
        "single": single, "symphony": symphony, "control": control,
        "network": [{"name": a.name, "families": a.families, "specialist": a.specialist, "tools": a.tools,
                     "signature": agent_signature(a)} for a in NETWORK],
        "settings": {"single": single_settings, "reused_from": str(args.reuse_single) if args.reuse_single else None},
    }, indent=1, default=str))
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
