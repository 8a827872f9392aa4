#!/usr/bin/env python
"""Structured generation benchmark: free-text parsing vs grammar-constrained decoding, same model, same questions,
one run.

Every part of the system that reads a model's output as data is measured both ways:
1. planner — K = 3 plans per question: share of samples that give a usable 3-8 step plan (parse failures) and
   share of the K plans that came from the LLM rather than the fixed fallback;
2. agents — each profile answers held-out questions as the final step of a one-step chain (the executor as
   deployed): calculator (constrained JSON tool call grounded in the question, exact calculator, answer from the
   computed value), calculator with the tool's schema only (no grounding), librarian (retrieval over
   data/corpus), generalist (no tools). Reported: accuracy with 95 % Wilson intervals per task family, final
   answers that could not be read (free) or did not finish (constrained), tool calls that did not parse/validate;
3. ReAct actions — the Gradientsys planner's first step on GAIA-style tasks against the real MCP tool agents:
   share of steps whose every action names a listed tool with schema-valid arguments;
4. decoding cost — time per generated token with and without constraints, and the share of constrained
   decoding time spent computing masks (goal <= 15 % overhead).

Questions: reasoning-gym basic_arithmetic, chain_sum (2-3 terms, 1-2 digits) and gsm_symbolic, BIG-bench
object_counting and logical_deduction (three objects), seeds agents.datasets.SEEDS["bench_structured"] + family
index (never used in training, calibration or the demo). Greedy decoding. Prints a table, writes
results/bench_structured.json.

Run: .venv/bin/python scripts/bench_structured.py [--per-family 20] [--threads 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from agents.answer_format import infer_format  # noqa: E402
from agents.datasets import FAMILIES, SEEDS, Question, family_questions  # noqa: E402
from agents.llm.base import LLMBackend, SamplingParams  # noqa: E402
from core.stats import wilson  # noqa: E402

MODES = ("free", "constrained")
PROFILES = {
    "calculator": dict(tools=["calculator"], system_prompt="You are a math agent with an exact calculator."),
    "calculator (schema only)": dict(tools=["calculator"], system_prompt="You are a math agent with an exact calculator.",
                                     grounded=False),
    "librarian": dict(tools=["retrieval"], corpus=str(ROOT / "data" / "corpus"),
                      system_prompt="You are a research agent. Use the retrieved notes to answer."),
    "generalist": dict(tools=[], system_prompt="You are a careful assistant."),
}


@dataclass
class Meter:
    """Wraps the one backend so every generation's time, tokens and constraint time are counted by mode."""

    backend: LLMBackend
    stats: dict = field(default_factory=lambda: {m: {"seconds": 0.0, "tokens": 0, "constraint_seconds": 0.0,
                                                     "generations": 0} for m in MODES})

    @property
    def model_id(self) -> str:
        return self.backend.model_id

    def generate(self, conversations, params: SamplingParams):  # noqa: ANN001, ANN201
        result = self.backend.generate(conversations, params)
        s = self.stats["constrained" if params.constraint is not None else "free"]
        s["seconds"] += result.seconds
        s["tokens"] += sum(c.completion_tokens for group in result.completions for c in group)
        s["constraint_seconds"] += result.extra.get("constraint_seconds", 0.0)
        s["generations"] += 1
        return result


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, help="model folder (default: SmolLM2-135M-Instruct)")
    p.add_argument("--per-family", type=int, default=12, help="held-out questions per task family")
    p.add_argument("--planner-questions", type=int, default=2, help="questions per family for the planner section")
    p.add_argument("--react-tasks", type=int, default=12, help="GAIA-style tasks for the ReAct section")
    p.add_argument("--profiles", default=",".join(PROFILES), help="comma-separated agent profiles")
    p.add_argument("--max-new-tokens", type=int, default=96)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=ROOT / "results" / "bench_structured.json")
    return p.parse_args()


def held_out(per_family: int) -> dict[str, list[Question]]:
    base = SEEDS["bench_structured"]
    return {f: family_questions(f, per_family, base + i) for i, f in enumerate(FAMILIES)}


# -- 1. planner ------------------------------------------------------------------------------------------------
def bench_planner(meter: Meter, questions: list[Question], max_new_tokens: int) -> dict:
    from agents.planner import Planner

    out = {}
    for mode in MODES:
        planner = Planner(meter, decoding=mode, max_new_tokens=max_new_tokens)  # type: ignore[arg-type]
        samples = usable = llm_plans = cut = 0
        start = time.perf_counter()
        for q in questions:
            drafts, _tokens, truncated = planner.drafts(q.prompt, 3)
            samples += len(drafts)
            usable += sum(d is not None for d in drafts)
            cut += truncated
            llm_plans += min(len({d for d in drafts if d is not None}), 3)
        out[mode] = {"samples": samples, "parse_failures": samples - usable, "parse_failure_rate": 1 - usable / samples,
                     "cut_by_budget_kept": cut, "llm_plan_share": llm_plans / (3 * len(questions)),
                     "max_new_tokens": max_new_tokens, "seconds": time.perf_counter() - start}
    return out


# -- 2. agents -------------------------------------------------------------------------------------------------
def build_executor(meter: Meter, name: str, mode: str, max_new_tokens: int):  # noqa: ANN201
    from agents.executor import StepExecutor
    from agents.profile import AgentProfile
    from agents.settings import LLMSettings
    from agents.tool_use import CalculatorTool, build_tools

    spec = dict(PROFILES[name])
    grounded = spec.pop("grounded", True)
    profile = AgentProfile(name=name.split()[0], capability=name, decoding=mode, **spec,
                           llm=LLMSettings(max_new_tokens=max_new_tokens, temperature=0.0))
    tools = build_tools(profile.tools, profile.corpus)
    if not grounded:
        tools = [CalculatorTool(grounded=False) if t.name == "calculator" else t for t in tools]
    return StepExecutor(meter, profile, tools)  # type: ignore[arg-type]


def bench_agents(meter: Meter, sets: dict[str, list[Question]], profiles: list[str], max_new_tokens: int) -> list[dict]:
    from agents.payloads import SubtaskPayload

    rows = []
    for name in profiles:
        for mode in MODES:
            if "schema only" in name and mode == "free":
                continue  # the free baseline has no constraint to narrow
            executor = build_executor(meter, name, mode, max_new_tokens)
            for family, questions in sets.items():
                start = time.perf_counter()
                correct = unreadable = calls = invalid = tokens = 0
                answers = []
                for q in questions:
                    payload = SubtaskPayload(q.prompt, ("Answer the question.",), 0, final=True,
                                             answer_format=infer_format(q.prompt))
                    result = executor.execute(payload)
                    ok = q.is_correct(result.answer)
                    correct += ok
                    unreadable += result.abstained or result.answer is None
                    calls += result.extra.get("tool_calls", 0)
                    invalid += result.extra.get("invalid_calls", 0)
                    tokens += result.tokens
                    answers.append({"id": q.id, "answer": result.answer, "gold": q.accepted[0], "correct": ok})
                rows.append({"profile": name, "mode": mode, "family": family, "n": len(questions), "correct": correct,
                             "accuracy": correct / len(questions), "ci95": wilson(correct, len(questions)),
                             "unreadable": unreadable, "tool_calls": calls, "invalid_calls": invalid, "tokens": tokens,
                             "seconds": time.perf_counter() - start, "answers": answers})
                r = rows[-1]
                print(f"  {name:<26}{mode:<12}{family:<18}{r['accuracy']:6.1%}  unreadable {unreadable:>3}  "
                      f"calls {calls:>3} invalid {invalid:>3}  {r['seconds']:.0f} s", flush=True)
    return rows


# -- 3. ReAct --------------------------------------------------------------------------------------------------
def bench_react(meter: Meter, n_tasks: int, max_new_tokens: int) -> dict:
    from agents.llm.structured import find_json_object
    from scheduler.dispatch.dispatcher import Dispatcher
    from scheduler.evaluation.harness import running_agents
    from scheduler.evaluation.tasks import load_tasks
    from scheduler.observe.bus import EventBus
    from scheduler.planning.llm_react import LLMPlanner, step_constraint
    from scheduler.planning.step import step_from_json
    from scheduler.planning.validate import validate_call

    tasks = load_tasks()[:n_tasks]

    async def tool_specs():  # noqa: ANN202
        async with running_agents() as connections:
            return Dispatcher(connections, EventBus()).tools

    tools = asyncio.run(tool_specs())
    out = {}
    for mode in MODES:
        planner = LLMPlanner(meter, max_new_tokens=max_new_tokens, constrained=mode == "constrained")  # type: ignore[arg-type]
        valid = actions = final = 0
        start = time.perf_counter()
        for task in tasks:
            params = SamplingParams(max_new_tokens=max_new_tokens,
                                    constraint=step_constraint(tools) if mode == "constrained" else None)
            completion = meter.generate([planner.messages(task.question, tools, [])], params).completions[0][0]
            try:
                step = step_from_json(find_json_object(completion.text), "a")
            except ValueError:
                continue
            ok = all(validate_call(a, tools) is None for a in step.actions)
            valid += ok
            actions += len(step.actions)
            final += step.final_answer is not None and not step.actions
        out[mode] = {"steps": len(tasks), "valid_steps": valid, "valid_step_rate": valid / len(tasks), "actions": actions,
                     "final_answer_steps": final, "seconds": time.perf_counter() - start}
    return out


# -- report ----------------------------------------------------------------------------------------------------
def summarise_agents(rows: list[dict]) -> list[dict]:
    summary = []
    for name in dict.fromkeys(r["profile"] for r in rows):
        for mode in MODES:
            sub = [r for r in rows if r["profile"] == name and r["mode"] == mode]
            if not sub:
                continue
            n, k = sum(r["n"] for r in sub), sum(r["correct"] for r in sub)
            summary.append({"profile": name, "mode": mode, "n": n, "correct": k, "accuracy": k / n, "ci95": wilson(k, n),
                            "by_family": {r["family"]: r["accuracy"] for r in sub},
                            "unreadable_rate": sum(r["unreadable"] for r in sub) / n,
                            "invalid_call_rate": (sum(r["invalid_calls"] for r in sub) / max(1, sum(r["tool_calls"] for r in sub)))
                            if any(r["tool_calls"] for r in sub) else None,
                            "tokens": sum(r["tokens"] for r in sub), "seconds": sum(r["seconds"] for r in sub)})
    return summary


def print_report(header: str, planner: dict, agents: list[dict], react: dict, cost: dict) -> None:
    print()
    print(header)
    print("\nplanner (K = 3 samples per question)")
    print(f"  {'mode':<12}{'samples':>8}{'parse failures':>16}{'cut, steps kept':>17}{'plans from LLM':>16}{'wall s':>9}")
    for mode, r in planner.items():
        print(f"  {mode:<12}{r['samples']:>8}{r['parse_failure_rate']:>16.1%}{r.get('cut_by_budget_kept', 0):>17}"
              f"{r['llm_plan_share']:>16.1%}{r['seconds']:>9.0f}")
    families = list(FAMILIES)
    print("\nagents: accuracy on held-out questions (final step of a one-step chain)")
    print(f"  {'profile':<26}{'mode':<12}{'all':>7}{'95% CI':>14}" + "".join(f"{f[:12]:>13}" for f in families)
          + f"{'unreadable':>11}{'bad calls':>10}{'tokens':>9}{'wall s':>8}")
    for r in agents:
        lo, hi = r["ci95"]
        bad = "-" if r["invalid_call_rate"] is None else f"{r['invalid_call_rate']:.0%}"
        print(f"  {r['profile']:<26}{r['mode']:<12}{r['accuracy']:>7.1%}{f'[{lo:.0%}, {hi:.0%}]':>14}"
              + "".join(f"{r['by_family'].get(f, 0):>13.0%}" for f in families)
              + f"{r['unreadable_rate']:>11.0%}{bad:>10}{r['tokens']:>9,}{r['seconds']:>8.0f}")
    print("\nReAct first steps on GAIA-style tasks (all actions name a listed tool with schema-valid arguments)")
    for mode, r in react.items():
        print(f"  {mode:<12}{r['valid_step_rate']:>7.1%} valid ({r['valid_steps']}/{r['steps']}), {r['actions']} actions, "
              f"{r['final_answer_steps']} final-answer steps, {r['seconds']:.0f} s")
    print("\ndecoding cost")
    for mode, r in cost.items():
        print(f"  {mode:<12}{r['ms_per_token']:>8.1f} ms/token over {r['tokens']:,} tokens in {r['generations']} generations"
              + (f"; constraint masks {r['constraint_overhead']:.1%} of the rest" if mode == "constrained" else ""))


def main() -> int:
    import torch

    args = parse_args()
    torch.set_num_threads(args.threads)
    from agents.llm.models import prepare_default_model
    from agents.llm.transformers_backend import TransformersBackend

    model = args.model or prepare_default_model()
    meter = Meter(TransformersBackend(model, device="cpu"))
    header = (f"Structured generation benchmark — model {model.name}, device cpu ({platform.machine()}, "
              f"{os.cpu_count()} cores, {args.threads} torch threads), greedy, max_new_tokens {args.max_new_tokens}, "
              f"constraints by llguidance, {args.per_family} held-out questions per family "
              f"(seeds {SEEDS['bench_structured']}+family)")
    print(header, flush=True)
    sets = held_out(args.per_family)
    planner_questions = [q for qs in sets.values() for q in qs[: args.planner_questions]]
    print("planner ...", flush=True)
    planner = bench_planner(meter, planner_questions, 160) if planner_questions else {}
    print("agents ...", flush=True)
    rows = bench_agents(meter, sets, [p.strip() for p in args.profiles.split(",") if p.strip()], args.max_new_tokens)
    print("react ...", flush=True)
    react = bench_react(meter, args.react_tasks, 192) if args.react_tasks else {}
    cost = {}
    for mode, s in meter.stats.items():
        rest = s["seconds"] - s["constraint_seconds"]
        cost[mode] = {**s, "ms_per_token": 1000 * s["seconds"] / max(1, s["tokens"]),
                      "constraint_overhead": s["constraint_seconds"] / rest if rest > 0 else 0.0}
    agents = summarise_agents(rows)
    print_report(header, planner, agents, react, cost)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"header": header, "planner": planner, "agents": agents, "agent_rows": rows,
                                    "react": react, "decoding": cost}, indent=1, default=str))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
