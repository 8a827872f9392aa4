"""`symphony scheduler serve|run|eval`: the Gradientsys scheduler (typed MCP tools, ReAct, parallel dispatch).

Agents come from `--agent NAME=URL[@CAPACITY]`, from the capability ledger (`--from-chain`), or are started
locally over the bundled evaluation files (`--local`). The planner is the LLM (configured model, default
SmolLM2-135M on CPU) unless a scripted plan is given.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    sched = subparsers.add_parser("scheduler", help="Gradientsys scheduler: plan, dispatch and observe tool runs")
    sub = sched.add_subparsers(dest="scheduler_command", metavar="SUBCOMMAND", required=True)

    serve = sub.add_parser("serve", help="HTTP API + SSE event stream + live page; runs until interrupted")
    _agent_options(serve)
    serve.add_argument("--host", help="listen address (default from configuration: 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default from configuration: 8765)")
    serve.set_defaults(func=_serve)

    run = sub.add_parser("run", help="run one task and print its events and answer")
    run.add_argument("task", help="the task, in words")
    _agent_options(run)
    run.add_argument("--plan", type=Path, help="JSON file with a scripted plan (list of steps) instead of the LLM planner")
    run.add_argument("--json", action="store_true", help="print the events as JSON lines")
    run.set_defaults(func=_run)

    evaluate = sub.add_parser("eval", help="run the local GAIA-style suite (data/gaia_local) and score it")
    evaluate.add_argument("--planner", choices=("scripted", "llm"), default="scripted")
    evaluate.add_argument("--mode", choices=("parallel", "sequential"), default="parallel")
    evaluate.add_argument("--levels", default="1,2,3", help="comma-separated levels")
    evaluate.add_argument("--limit", type=int, help="at most this many tasks")
    evaluate.set_defaults(func=_eval)


def _agent_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agent", action="append", default=[], metavar="NAME=URL[@CAP]", help="a tool agent endpoint (repeatable)")
    parser.add_argument("--from-chain", action="store_true", help="discover tool agents on the capability ledger")
    parser.add_argument("--local", action="store_true", help="start the built-in agents over data/gaia_local/files")
    parser.add_argument("--manifest", type=Path, help="deployment manifest for --from-chain")
    parser.add_argument("--rpc-url", help="override the manifest's RPC endpoint")
    parser.add_argument("--max-steps", type=int, help="ReAct step limit")
    parser.add_argument("--trace-dir", type=Path, help="where JSONL traces go (default build/traces)")


def _settings(args: argparse.Namespace):
    from scheduler.settings import SchedulerSettings
    from symphony.config import load_config

    cfg = load_config(getattr(args, "config", None))
    settings = getattr(cfg, "scheduler", None) or SchedulerSettings()
    updates = {k: v for k, v in {"max_steps": getattr(args, "max_steps", None), "trace_dir": getattr(args, "trace_dir", None),
                                 "host": getattr(args, "host", None), "port": getattr(args, "port", None)}.items() if v is not None}
    return cfg, settings.model_copy(update=updates)


def _ledger(args: argparse.Namespace, cfg):
    if not args.from_chain:
        return None
    from chain.bindings import SymphonyContracts
    from chain.client import ChainClient
    from chain.deploy import Manifest

    manifest = Manifest.load(args.manifest or cfg.chain.manifest)
    client = ChainClient(args.rpc_url or manifest.rpc_url, expected_chain_id=manifest.chain_id)
    return SymphonyContracts.bind(client, manifest).ledger


def _local_files(args: argparse.Namespace) -> Path | None:
    if not args.local:
        return None
    from scheduler.evaluation.tasks import SUITE_DIR

    return SUITE_DIR / "files"


def _llm_planner(cfg, settings):
    from agents.llm.factory import load_backend
    from scheduler.planning.llm_react import LLMPlanner

    return LLMPlanner(load_backend(cfg.llm), max_new_tokens=settings.planner_max_new_tokens)


def _load_plan(path: Path) -> list[dict]:
    from scheduler.errors import SchedulerError

    try:
        plan = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SchedulerError(f"cannot read plan {path}: {exc}") from None
    if not isinstance(plan, list) or not plan:
        raise SchedulerError(f"{path}: a plan is a non-empty JSON list of steps")
    return plan


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from scheduler.assembly import build_dispatcher, connected_agents
    from scheduler.engine import Engine
    from scheduler.observe.bus import ALL
    from scheduler.planning.scripted import ScriptedPlanner

    cfg, settings = _settings(args)
    planner = ScriptedPlanner(_load_plan(args.plan)) if args.plan else _llm_planner(cfg, settings)

    async def main() -> int:
        async with connected_agents(args.agent, _ledger(args, cfg), _local_files(args)) as connections:
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

    from aiohttp import web

    from scheduler.assembly import build_dispatcher, connected_agents
    from scheduler.engine import Engine
    from scheduler.observe.sse_server import SchedulerService
    from scheduler.planning.scripted import ScriptedPlanner

    cfg, settings = _settings(args)
    llm: list = []

    def planner_for(options: dict):
        if options.get("plan") is not None:
            if not isinstance(options["plan"], list) or not options["plan"]:
                raise ValueError('"plan" must be a non-empty list of steps')
            return ScriptedPlanner(options["plan"])
        if not llm:
            llm.append(_llm_planner(cfg, settings))
        return llm[0]

    async def main() -> None:
        async with connected_agents(args.agent, _ledger(args, cfg), _local_files(args)) as connections:
            engine = Engine(build_dispatcher(connections, settings), max_steps=settings.max_steps)
            service = SchedulerService(engine, planner_for)
            runner = web.AppRunner(service.app())
            await runner.setup()
            site = web.TCPSite(runner, settings.host, settings.port)
            await site.start()
            print(f"scheduler at http://{settings.host}:{settings.port}/  (events: /api/events, runs: POST /api/runs)", flush=True)
            print(f"tools: {', '.join(sorted(k for k in engine.dispatcher.tools if '.' not in k))}", flush=True)
            try:
                await asyncio.Event().wait()
            finally:
                await runner.cleanup()

    asyncio.run(main())
    return 0


def _eval(args: argparse.Namespace) -> int:
    import asyncio

    from scheduler.evaluation.harness import run_suite, running_agents
    from scheduler.evaluation.tasks import load_tasks
    from scheduler.planning.scripted import ScriptedPlanner

    cfg, settings = _settings(args)
    levels = {int(x) for x in args.levels.split(",") if x.strip()}
    tasks = load_tasks(levels=levels, limit=args.limit)
    planner = _llm_planner(cfg, settings) if args.planner == "llm" else None

    async def main() -> int:
        async with running_agents() as connections:
            report = await run_suite(tasks, connections, (lambda t: planner) if planner else (lambda t: ScriptedPlanner(t.plan)),
                                     mode=args.mode, max_steps=settings.max_steps)
        for score in report.scores:
            mark = "ok " if score.correct else "BAD"
            print(f"{mark} {score.task_id}  answer={score.answer!r} expected={score.expected!r}  {score.run['seconds']} s")
        print(f"success {report.success:.1%} by level {report.by_level()}  ({report.planner}, {report.mode}, {report.seconds:.1f} s)")
        return 0

    return asyncio.run(main())
