"""Benchmark: Gradientsys parallel dispatch vs a sequential (MinionS-style, one call at a time) baseline.

Same tasks (data/gaia_local), same planner, same agents. Gradientsys: the planner puts independent calls
in one step and the dispatcher runs them in parallel. Baseline (MinionS-style): the planner issues one tool
call per step (the scripted plan split into single-call steps; the LLM prompted and held to one call per
step) and the dispatcher runs one call at a time (`max_parallel=1`). Each configuration also runs with injected transient tool faults (server-side,
seeded). Tool agents are real MCP servers on 127.0.0.1; `--latency` adds an emulated network round trip to
every tool call (remote agents are not on localhost), and is printed with the results.

Prints a table and writes results/bench_scheduler.json. Planners:
- scripted: the plan stored with each task (protocol figures: measures the scheduler, not a model);
- scripted-think: the same with an emulated planner latency per step (`--think-s`, printed), which is
  what makes one-call-per-step expensive with a real LLM;
- llm: the ReAct LLM planner on the configured model (default SmolLM2-135M-Instruct on CPU), on a small
  subset because CPU generation is slow (honest end-to-end figures).

Run: .venv/bin/python scripts/bench_scheduler.py [--planners scripted,llm] [--latency 0.2] [--fault-rate 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--planners", default="scripted,scripted-think,llm",
                   help="comma-separated: scripted, scripted-think, llm (constrained steps), llm-free (free-text baseline)")
    p.add_argument("--think-s", type=float, default=0.5, help="scripted-think: emulated planner latency per step, seconds")
    p.add_argument("--latency", type=float, default=0.2, help="emulated network latency per tool call, seconds")
    p.add_argument("--fault-rate", type=float, default=0.2, help="probability of a transient fault per tool call")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--replicas", type=int, default=1, help="serve this many copies of each tool agent")
    p.add_argument("--retry-attempts", type=int, default=5)
    p.add_argument("--retry-base-delay", type=float, default=0.05)
    p.add_argument("--limit", type=int, help="scripted planner: at most this many tasks")
    p.add_argument("--llm-tasks", type=int, default=51, help="LLM planner: N tasks spread over the levels (51: all)")
    p.add_argument("--llm-max-steps", type=int, default=4)
    p.add_argument("--llm-max-new-tokens", type=int, default=192)
    p.add_argument("--llm-faults", action="store_true", help="also run the LLM planner with faults (slow)")
    p.add_argument("--model", help="model folder for the LLM planner (default: the configured/default model)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads for the LLM planner")
    p.add_argument("--out", type=Path, default=ROOT / "results" / "bench_scheduler.json")
    p.add_argument("--merge", action="store_true", help="keep the other planners' entries already in --out")
    return p.parse_args()


def spread(tasks, n):
    """n tasks spread over the levels (round robin), so every level is represented."""
    by_level = {lvl: [t for t in tasks if t.level == lvl] for lvl in (1, 2, 3)}
    chosen = []
    while len(chosen) < n and any(by_level.values()):
        for lvl in (1, 2, 3):
            if by_level[lvl] and len(chosen) < n:
                chosen.append(by_level[lvl].pop(0))
    return chosen


def summarise(report, mode: str, faults: float) -> dict:
    par = [x for x in report.scores if x.parallelisable]
    return {
        "mode": mode, "fault_rate": faults, "planner": report.planner, "tasks": len(report.scores),
        "success": round(report.success, 4),
        "success_by_level": {str(k): round(v, 4) for k, v in report.by_level().items()},
        "makespan_s": round(sum(x.run["seconds"] for x in report.scores), 3),
        "makespan_parallelisable_s": round(sum(x.run["seconds"] for x in par), 3),
        "parallelisable_tasks": len(par),
        "tool_calls": sum(x.run["tool_calls"] for x in report.scores),
        "retries": sum(x.run["retries"] for x in report.scores),
        "replans": sum(x.run["replans"] for x in report.scores),
        "llm_calls": sum(x.run["llm_calls"] for x in report.scores),
        "tokens": sum(x.run["tokens"] for x in report.scores),
        "planner_steps": sum(x.run["steps"] for x in report.scores),
        "invalid_steps": sum(x.run["invalid_steps"] for x in report.scores),
        "valid_step_rate": round(1 - sum(x.run["invalid_steps"] for x in report.scores) / max(1, sum(x.run["steps"] for x in report.scores)), 4),
        "per_task": [{"id": x.task_id, "level": x.level, "correct": x.correct, "answer": x.answer, "expected": x.expected,
                      "seconds": x.run["seconds"], "steps": x.run["steps"], "error": x.run["error"]} for x in report.scores],
    }


async def paired_runs(tasks, make_planner, faults, args, max_steps) -> list[dict]:
    """Both modes on the same live agents, task by task, alternating which mode goes first.

    Why paired: the machine is shared, and its load swings; running the two modes of a task back to back
    exposes both to the same conditions, which a whole-suite-then-whole-suite comparison does not.
    """
    from scheduler.dispatch.retry import RetryPolicy
    from scheduler.evaluation.harness import SuiteReport, run_suite, running_agents
    from scheduler.toolkit.faults import FaultPlan

    plan = FaultPlan(transient_rate=faults, latency_s=args.latency, seed=args.seed)
    retry = RetryPolicy(max_attempts=args.retry_attempts, base_delay_s=args.retry_base_delay)
    reports = {mode: SuiteReport(mode=mode, planner="") for mode in ("parallel", "sequential")}
    async with running_agents(faults=plan, replicas=args.replicas) as connections:
        for index, task in enumerate(tasks):
            order = ("parallel", "sequential") if index % 2 == 0 else ("sequential", "parallel")
            for mode in order:
                for connection in connections:  # both modes meet the same faults for the same calls
                    connection.served_by.faults.reset()
                one = await run_suite([task], connections, lambda t, mode=mode: make_planner(t, mode == "sequential"),
                                      mode=mode, retry=retry, max_steps=max_steps)
                reports[mode].scores.extend(one.scores)
                reports[mode].planner = one.planner
            print(f"  {task.id}: parallel {reports['parallel'].scores[-1].run['seconds']:.2f} s, "
                  f"sequential {reports['sequential'].scores[-1].run['seconds']:.2f} s", flush=True)
    return [summarise(reports[mode], mode, faults) for mode in ("parallel", "sequential")]


def ideal_ratio(tasks, replicas: int) -> float:
    """Best possible parallel/sequential ratio of the stored plans on parallelisable tasks: dispatch rounds
    (each step's calls per agent over its declared capacity) over calls, if every call cost the same."""
    import math

    from scheduler.evaluation.harness import EVAL_AGENTS
    from scheduler.toolkit.builtin import build_agent

    capacity, owner = {}, {}
    for name in EVAL_AGENTS:
        agent = build_agent(name, ROOT / "data" / "gaia_local" / "files" / ("corpus" if name == "search" else ""))
        capacity[name] = agent.capacity * replicas
        owner.update({t.name: name for t in agent.tools})
    rounds = calls = 0
    for task in tasks:
        if not task.parallelisable:
            continue
        for step in task.plan:
            actions = step.get("actions", [])
            per: dict[str, int] = {}
            for action in actions:
                per[owner[action["tool"]]] = per.get(owner[action["tool"]], 0) + 1
            rounds += max((math.ceil(n / capacity[a]) for a, n in per.items()), default=0)
            calls += len(actions)
    return round(rounds / max(1, calls), 4)


def compare(runs: list[dict]) -> dict:
    get = lambda mode, f: next(r for r in runs if r["mode"] == mode and r["fault_rate"] == f)
    out = {}
    faults = sorted({r["fault_rate"] for r in runs})
    clean_p, clean_s = get("parallel", 0.0), get("sequential", 0.0)
    out["makespan_ratio_parallelisable"] = round(clean_p["makespan_parallelisable_s"] / max(1e-9, clean_s["makespan_parallelisable_s"]), 4)
    out["makespan_ratio_all"] = round(clean_p["makespan_s"] / max(1e-9, clean_s["makespan_s"]), 4)
    out["success_parallel_minus_sequential"] = round(clean_p["success"] - clean_s["success"], 4)
    by_level = {}
    for level in sorted({t["level"] for t in clean_p["per_task"]}):
        p_s = sum(t["seconds"] for t in clean_p["per_task"] if t["level"] == level)
        s_s = sum(t["seconds"] for t in clean_s["per_task"] if t["level"] == level)
        by_level[str(level)] = round(p_s / max(1e-9, s_s), 4)
    out["makespan_ratio_by_level"] = by_level
    out["planner_steps_parallel_vs_sequential"] = [sum(t["steps"] for t in clean_p["per_task"]), sum(t["steps"] for t in clean_s["per_task"])]
    for f in faults:
        if f == 0.0:
            continue
        for mode in ("parallel", "sequential"):
            try:
                faulty = get(mode, f)
            except StopIteration:
                continue
            clean = get(mode, 0.0)
            out[f"success_retention_{mode}"] = round(faulty["success"] / clean["success"], 4) if clean["success"] else None
    return out


def print_table(name: str, runs: list[dict], summary: dict) -> None:
    print(f"\n== planner: {name}")
    header = f"{'mode':11} {'faults':>6} {'tasks':>5} {'succ':>6} {'L1':>6} {'L2':>6} {'L3':>6} {'makespan s':>10} {'par. s':>8} {'calls':>6} {'retries':>7} {'replans':>7} {'LLM calls':>9} {'tokens':>7} {'valid steps':>11}"
    print(header)
    print("-" * len(header))
    for r in runs:
        lv = r["success_by_level"]
        print(f"{r['mode']:11} {r['fault_rate']:>6.2f} {r['tasks']:>5} {r['success']:>6.1%} {lv.get('1', float('nan')):>6.1%} {lv.get('2', float('nan')):>6.1%} "
              f"{lv.get('3', float('nan')):>6.1%} {r['makespan_s']:>10.2f} {r['makespan_parallelisable_s']:>8.2f} {r['tool_calls']:>6} {r['retries']:>7} "
              f"{r['replans']:>7} {r['llm_calls']:>9} {r['tokens']:>7} {r['valid_step_rate']:>11.1%}")
    for key, value in summary.items():
        print(f"  {key}: {value}")


async def main() -> int:
    args = parse_args()
    sys.path.insert(0, str(ROOT))
    from scheduler.evaluation.tasks import load_tasks
    from scheduler.planning.scripted import ScriptedPlanner
    from scheduler.toolkit.agent_server import quiet_sdk_logs

    quiet_sdk_logs()
    planners = [p.strip() for p in args.planners.split(",") if p.strip()]
    tasks = load_tasks(limit=args.limit)
    result = {
        "benchmark": "bench_scheduler", "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
                    "load_avg_at_start": os.getloadavg()},
        "settings": {"replicas_per_agent": args.replicas, "latency_s_per_call": args.latency, "fault_rate": args.fault_rate, "seed": args.seed,
                     "retry_attempts": args.retry_attempts, "retry_base_delay_s": args.retry_base_delay,
                     "agents": "documents, search, python, webpage (real MCP Streamable-HTTP servers on 127.0.0.1)",
                     "baseline": "MinionS-style: one tool call per planner step, and the same dispatcher with max_parallel=1"},
        "planners": {},
    }
    for name in planners:
        started = time.monotonic()
        all_configs = [("parallel", 0.0), ("sequential", 0.0), ("parallel", args.fault_rate), ("sequential", args.fault_rate)]
        if name in ("scripted", "scripted-think"):
            think = args.think_s if name == "scripted-think" else 0.0
            chosen = tasks
            make_planner = lambda task, one, think=think: ScriptedPlanner(task.plan, one_call_per_step=one, think_s=think)
            configs, max_steps = all_configs, 40
            info = {"planner": f"scripted (stored plan per task), emulated planner latency {think} s per step", "device": "n/a (no model)"}
        elif name in ("llm", "llm-free"):
            import torch

            from agents.llm.factory import load_backend
            from agents.settings import LLMSettings
            from scheduler.planning.llm_react import LLMPlanner

            torch.set_num_threads(args.threads)
            settings = LLMSettings(model=args.model, device="cpu") if args.model else LLMSettings(device="cpu")
            backend = load_backend(settings)
            from agents.llm.base import SamplingParams

            backend.generate([[{"role": "user", "content": "warm-up"}]], SamplingParams(max_new_tokens=8))  # not timed
            constrained = name == "llm"
            planners = {one: LLMPlanner(backend, max_new_tokens=args.llm_max_new_tokens, one_call_per_step=one,
                                        constrained=constrained) for one in (False, True)}
            chosen = spread(tasks, args.llm_tasks)
            make_planner = lambda task, one: planners[one]
            configs, max_steps = (all_configs if args.llm_faults else all_configs[:2]), args.llm_max_steps
            info = {"planner": f"LLMPlanner greedy, {'constrained steps' if constrained else 'free text'}, "
                               f"max_new_tokens={args.llm_max_new_tokens}, max_steps={args.llm_max_steps}",
                    "model": backend.model_id, "device": "cpu", "torch_threads": args.threads, "tasks": [t.id for t in chosen],
                    "warm_up": "one untimed 8-token generation before the runs"}
        else:
            print(f"unknown planner {name!r}", file=sys.stderr)
            return 2
        runs = []
        for faults in sorted({f for _, f in configs}):
            print(f"[{name}] parallel vs sequential, faults={faults}, {len(chosen)} tasks", flush=True)
            runs.extend(await paired_runs(chosen, make_planner, faults, args, max_steps))
        summary = compare(runs)
        if name.startswith("scripted"):
            summary["ideal_ratio_parallelisable (plan rounds / calls)"] = ideal_ratio(chosen, args.replicas)
        result["planners"][name] = {"info": info, "runs": runs, "summary": summary, "wall_s": round(time.monotonic() - started, 1)}
        print_table(f"{name} — {info}", runs, summary)
    if args.merge and args.out.exists():
        previous = json.loads(args.out.read_text())
        for name, entry in previous.get("planners", {}).items():
            if name not in result["planners"]:
                entry.setdefault("info", {})["from_earlier_run"] = previous.get("created")
                result["planners"][name] = entry
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
