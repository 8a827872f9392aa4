"""`symphony scheduler serve|run|eval`: the Gradientsys scheduler (typed MCP tools, ReAct, parallel dispatch).

Agents come from `--agent NAME=URL[@CAPACITY]`, from the capability ledger (`--from-chain`), or are started
locally over the bundled evaluation files (`--local`). The planner is the LLM (configured model, default
SmolLM2-135M on CPU) unless a scripted plan is given.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from symphony.cli.options import command, config, connection_options, flag, int_csv, setting


def register(subparsers: argparse._SubParsersAction) -> None:
    sched = subparsers.add_parser("scheduler", help="Gradientsys scheduler: plan, dispatch and observe tool runs")
    sub = sched.add_subparsers(dest="scheduler_command", metavar="SUBCOMMAND", required=True)

    serve = command(sub, "serve", "HTTP API + SSE event stream + live page; runs until interrupted")
    _agent_options(serve)
    setting(serve, "--host", path="scheduler.host", help="listen address")
    setting(serve, "--port", path="scheduler.port", type=int, help="listen port")
    serve.set_defaults(func=_serve)

    run = command(sub, "run", "run one task and print its events and answer")
    run.add_argument("task", help="the task, in words")
    _agent_options(run)
    run.add_argument("--plan", type=Path, help="JSON file with a scripted plan (list of steps) instead of the LLM planner")
    run.add_argument("--json", action="store_true", help="print the events as JSON lines")
    run.set_defaults(func=_run)

    evaluate = command(sub, "eval", "run the local GAIA-style suite (data/gaia_local) and score it")
    setting(evaluate, "--planner", path="scheduler.eval.planner", choices=("scripted", "llm"), help="which planner")
    setting(evaluate, "--mode", path="scheduler.eval.mode", choices=("parallel", "sequential"), help="how actions are dispatched")
    setting(evaluate, "--levels", path="scheduler.eval.levels", type=int_csv, help="comma-separated levels")
    setting(evaluate, "--limit", path="scheduler.eval.limit", type=int, help="at most this many tasks")
    setting(evaluate, "--max-steps", path="scheduler.max_steps", type=int, help="ReAct step limit")
    evaluate.set_defaults(func=_eval)


def _agent_options(parser: argparse.ArgumentParser) -> None:
    setting(parser, "--agent", path="scheduler.agents", action="append", metavar="NAME=URL[@CAP]",
            help="a tool agent endpoint (repeatable)")
    flag(parser, "--from-chain", path="scheduler.from_chain", help="discover tool agents on the capability ledger")
    flag(parser, "--local", path="scheduler.local_agents", help="start the built-in agents over data/gaia_local/files")
    connection_options(parser)
    setting(parser, "--max-steps", path="scheduler.max_steps", type=int, help="ReAct step limit")
    setting(parser, "--trace-dir", path="scheduler.trace_dir", type=Path, help="where JSONL traces go")


def _ledger(cfg):  # noqa: ANN001, ANN202 - SymphonyConfig -> CapabilityLedger | None
    if not cfg.scheduler.from_chain:
        return None
    from chain.connection import connect

    return connect(cfg.chain).contracts().ledger


def _local_files(cfg) -> Path | None:  # noqa: ANN001
    if not cfg.scheduler.local_agents:
        return None
    from scheduler.evaluation.tasks import SUITE_DIR

    return SUITE_DIR / "files"


def _llm_planner(cfg):  # noqa: ANN001, ANN202
    from agents.llm.factory import load_backend
    from scheduler.planning.llm_react import LLMPlanner

    return LLMPlanner(load_backend(cfg.llm), max_new_tokens=cfg.scheduler.planner_max_new_tokens)


def _load_plan(path: Path) -> list[dict]:
    from scheduler.errors import SchedulerError

    from core.untrusted_json import loads

    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise SchedulerError(f"cannot read plan {path}: {exc.strerror or exc}") from None
    plan = loads(raw, SchedulerError, f"cannot read plan {path}")
    if not isinstance(plan, list) or not plan:
        raise SchedulerError(f"{path}: a plan is a non-empty JSON list of steps")
    return plan


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from scheduler.assembly import build_dispatcher, connected_agents
    from scheduler.engine import Engine
    from scheduler.observe.bus import ALL
    from scheduler.planning.scripted import ScriptedPlanner

    cfg = config(args)
    settings = cfg.scheduler
    planner = ScriptedPlanner(_load_plan(args.plan)) if args.plan else _llm_planner(cfg)

    async def main() -> int:
        async with connected_agents(settings.agents, _ledger(cfg), _local_files(cfg)) as connections:
            dispatcher = build_dispatcher(connections, settings)
            engine = Engine(dispatcher, max_steps=settings.max_steps)

            async def printer() -> None:
                async for event in dispatcher.bus.subscribe(ALL, replay=False):
                    if args.json:
                        print(event.model_dump_json(), flush=True)
                    else:
                        print(f"{event.type.value:18} {json.dumps(event.data)[:200]}", flush=True)

            follow = asyncio.create_task(printer())
            result = await engine.run(args.task, planner)
            await asyncio.sleep(0)
            follow.cancel()
            print(json.dumps(result.summary(), indent=2))
            print(f"trace: {settings.trace_dir / (result.run_id + '.jsonl')}")
            return 0 if result.ok else 1

    return asyncio.run(main())


def _serve(args: argparse.Namespace) -> int:
    import asyncio

    from core.http import serving
    from core.shutdown import StopSignal
    from scheduler.assembly import build_dispatcher, connected_agents
    from scheduler.engine import Engine
    from scheduler.observe.sse_server import SchedulerService
    from scheduler.planning.scripted import ScriptedPlanner

    cfg = config(args)
    settings = cfg.scheduler
    llm: list = []

    def planner_for(options: dict):
        if options.get("plan") is not None:
            if not isinstance(options["plan"], list) or not options["plan"]:
                raise ValueError('"plan" must be a non-empty list of steps')
            return ScriptedPlanner(options["plan"])
        if not llm:
            llm.append(_llm_planner(cfg))
        return llm[0]

    async def main() -> None:
        with StopSignal() as stop:
            async with connected_agents(settings.agents, _ledger(cfg), _local_files(cfg)) as connections:
                engine = Engine(build_dispatcher(connections, settings), max_steps=settings.max_steps)
                async with serving(SchedulerService(engine, planner_for).app(), settings.host, settings.port) as url:
                    print(f"scheduler at {url}/  (events: /api/events, runs: POST /api/runs)", flush=True)
                    print(f"tools: {', '.join(sorted(k for k in engine.dispatcher.tools if '.' not in k))}", flush=True)
                    await stop.wait_async()
        print("stopped", flush=True)

    asyncio.run(main())
    return 0


def _eval(args: argparse.Namespace) -> int:
    import asyncio

    from scheduler.evaluation.harness import run_suite, running_agents
    from scheduler.evaluation.tasks import load_tasks
    from scheduler.planning.scripted import ScriptedPlanner

    cfg = config(args)
    ev = cfg.scheduler.eval
    tasks = load_tasks(levels=set(ev.levels), limit=ev.limit)
    planner = _llm_planner(cfg) if ev.planner == "llm" else None

    async def main() -> int:
        async with running_agents() as connections:
            report = await run_suite(tasks, connections, (lambda t: planner) if planner else (lambda t: ScriptedPlanner(t.plan)),
                                     mode=ev.mode, max_steps=cfg.scheduler.max_steps)
        for score in report.scores:
            mark = "ok " if score.correct else "BAD"
            print(f"{mark} {score.task_id}  answer={score.answer!r} expected={score.expected!r}  {score.run['seconds']} s")
        print(f"success {report.success:.1%} by level {report.by_level()}  ({report.planner}, {report.mode}, {report.seconds:.1f} s)")
        return 0

    return asyncio.run(main())
