"""`symphony agent run`, `symphony ask` and `symphony demo` — the Symphony agents on the chain."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from core.errors import ConfigError
from core.shutdown import StopSignal


def register(subparsers: argparse._SubParsersAction) -> None:
    agent = subparsers.add_parser("agent", help="run a Symphony agent worker")
    agent_sub = agent.add_subparsers(dest="agent_command", metavar="SUBCOMMAND", required=True)
    run = agent_sub.add_parser("run", help="register, heartbeat, bid, execute subtasks and vote (key from the environment)")
    run.add_argument("--config", dest="agent_config", required=True, type=Path, help="configuration file with an [agent] section")
    run.set_defaults(func=_agent_run)

    ask = subparsers.add_parser("ask", help="ask the agent network a question (planner + beacons + weighted vote)")
    ask.add_argument("question")
    ask.add_argument("--chains", type=int, help="K chains of thought (default from configuration: 3)")
    ask.add_argument("--manifest", type=Path)
    ask.add_argument("--json", action="store_true", help="print the provenance as JSON")
    ask.set_defaults(func=_ask)

    demo = subparsers.add_parser("demo", help="end-to-end demo: anvil, contracts, 4 agent workers, a few questions")
    demo.add_argument("--questions", type=int, default=5, help="how many demo questions to ask (max 5)")
    demo.add_argument("--chains", type=int, default=3)
    demo.add_argument("--model", help="model folder for every agent (default: SmolLM2-135M-Instruct)")
    demo.add_argument("--workdir", type=Path, help="keep the demo's files here (default: a temporary folder)")
    demo.set_defaults(func=_demo)


def _agent_run(args: argparse.Namespace) -> int:
    from agents.assembly import build_worker
    from chain.client import private_key_from_env
    from symphony.config import load_config

    cfg = load_config(args.agent_config)
    if cfg.agent is None:
        raise ConfigError(f"{args.agent_config} has no [agent] section")
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {cfg.agent.name} %(message)s", stream=sys.stdout)
    worker = build_worker(cfg.agent, cfg.chain, private_key_from_env(cfg.chain.private_key_env))
    with StopSignal() as stop:
        worker.start()
        print(f"agent {cfg.agent.name} running as {worker.address}", flush=True)
        stop.wait()
        worker.stop()
    print(f"agent {cfg.agent.name} stopped: {worker.stats}", flush=True)
    return 0


def _ask(args: argparse.Namespace) -> int:
    import json

    from agents.assembly import bind_contracts
    from agents.capability import encode_vector
    from agents.llm.factory import load_backend
    from agents.planner import Planner
    from agents.report import provenance, print_provenance
    from agents.requester import Requester
    from chain.client import private_key_from_env
    from symphony.config import load_config

    cfg = load_config(getattr(args, "config", None), requester={"chains": args.chains})
    contracts = bind_contracts(cfg.chain, private_key_from_env(cfg.chain.private_key_env), args.manifest)
    if contracts.ledger.active_count() == 0:
        raise ConfigError("no active agents on the ledger: start some with `symphony agent run`")
    requester = Requester(contracts, Planner(load_backend(cfg.llm)), encode_vector, cfg.requester)
    try:
        result = requester.ask(args.question, on_progress=lambda m: print(m, file=sys.stderr, flush=True))
    finally:
        requester.close()
    if args.json:
        print(json.dumps(provenance(result), indent=1))
    else:
        print_provenance(result)
    return 0 if result.answer is not None else 1


def _demo(args: argparse.Namespace) -> int:
    from symphony.demo import run_demo

    return run_demo(questions=args.questions, chains=args.chains, model=args.model, workdir=args.workdir)
