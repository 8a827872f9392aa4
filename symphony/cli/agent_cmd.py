"""`symphony agent run`, `symphony ask` and `symphony demo` — the Symphony agents on the chain."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from symphony.cli.options import command, config, connection_options, csv, setting


def register(subparsers: argparse._SubParsersAction) -> None:
    agent = subparsers.add_parser("agent", help="run a Symphony agent worker")
    agent_sub = agent.add_subparsers(dest="agent_command", metavar="SUBCOMMAND", required=True)
    run = command(agent_sub, "run", "register, heartbeat, bid, execute subtasks and vote (key from the environment); "
                                    "the [agent] section of --config says who the agent is")
    connection_options(run, signer=True)
    run.set_defaults(func=_agent_run)

    ask = command(subparsers, "ask", "ask the agent network a question (planner + beacons + weighted vote)")
    ask.add_argument("question", help="the question, in words")
    setting(ask, "--chains", path="requester.chains", type=int, help="K chains of thought")
    connection_options(ask, signer=True)
    ask.add_argument("--json", action="store_true", help="print progress as JSON lines on stdout (one object per "
                     "event: planning, each beacon's bids and assignment, deliveries, commits, reveals, the vote), "
                     "then the provenance as the last line, {\"event\": \"result\", ...}")
    ask.set_defaults(func=_ask)

    demo = command(subparsers, "demo", "end-to-end demo: anvil, contracts, agent workers, a few questions")
    setting(demo, "--questions", path="demo.questions", type=int, help="how many demo questions to ask")
    setting(demo, "--chains", path="requester.chains", type=int, help="K chains of thought per question")
    setting(demo, "--model", path="llm.model", help="model folder for every agent (none: SmolLM2-135M-Instruct)")
    setting(demo, "--families", path="demo.families", type=csv, help="comma-separated task families to ask")
    setting(demo, "--offset", path="demo.offset", type=int, help="question seed offset, to ask a run's questions again")
    setting(demo, "--workdir", path="demo.workdir", type=Path, help="keep the demo's files here")
    demo.set_defaults(func=_demo)


def _ask_until_stopped(requester, question: str, show):  # noqa: ANN001 - show: agents.progress.ProgressSink
    """Ask on a worker thread while the main thread watches for Ctrl-C / SIGTERM (core.shutdown: the signal only
    sets a flag), and cancel the ask when one comes: it then posts nothing more and says what was left open."""
    import threading

    from agents.auction import AskCancelled
    from core.shutdown import StopSignal

    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = requester.ask(question, on_progress=show)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which raises it
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="ask", daemon=True)
    with StopSignal() as stop:
        worker.start()
        while worker.is_alive():
            if stop.wait(timeout=0.2):
                print("cancelling: nothing new is posted; the task's open steps are closed (Ctrl-C again stops at once) ...", file=sys.stderr, flush=True)
                requester.cancel()
                stop.requested = False
                while worker.is_alive():
                    if stop.wait(timeout=0.2):
                        raise AskCancelled("stopped at once: the task may still be open (`symphony task show` says)")
        worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def _agent_run(args: argparse.Namespace) -> int:
    from agents.assembly import build_worker
    from core.errors import ConfigError
    from core.shutdown import StopSignal

    cfg = config(args)
    if cfg.agent is None:
        raise ConfigError("no [agent] section: pass --config with an agent configuration (see README)")
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {cfg.agent.name} %(message)s", stream=sys.stdout)
    worker = build_worker(cfg.agent, cfg.chain)
    with StopSignal() as stop:
        worker.start()
        print(f"agent {cfg.agent.name} running as {worker.address}", flush=True)
        stop.wait()
        worker.stop()
    print(f"agent {cfg.agent.name} stopped: {worker.stats}", flush=True)
    return 0


def _ask(args: argparse.Namespace) -> int:
    from agents.capability import encode_vector
    from agents.llm.factory import load_backend
    from agents.planner import Planner
    from agents.report import print_provenance, provenance
    from agents.progress import Progress, line_printer
    from agents.auction import AskCancelled
    from agents.requester import Requester
    from chain.connection import connect
    from core.errors import ConfigError

    cfg = config(args)
    contracts = connect(cfg.chain, signer=True).contracts()
    if contracts.ledger.active_count() == 0:
        raise ConfigError("no active agents on the ledger: start some with `symphony agent run`")
    planner = Planner(load_backend(cfg.llm), min_steps=cfg.requester.min_plan_steps, max_steps=cfg.requester.max_plan_steps)
    requester = Requester(contracts, planner, encode_vector, cfg.requester)
    show = line_printer(sys.stdout, Progress.json_line) if args.json else line_printer(sys.stderr, str)
    try:
        result = _ask_until_stopped(requester, args.question, show)
    except AskCancelled as exc:
        print(f"symphony: {exc}", file=sys.stderr)
        return 130
    finally:
        requester.close()
    if args.json:
        print(json.dumps({"event": "result", **provenance(result)}), flush=True)
    else:
        print_provenance(result)
    return 0 if result.answer is not None else 1


def _demo(args: argparse.Namespace) -> int:
    from symphony.demo import run_demo

    cfg = config(args)
    return run_demo(cfg.demo, cfg.requester, cfg.llm)
