"""`symphony tools list|serve`: the built-in typed MCP tool agents.

`serve` runs one agent over MCP Streamable HTTP until interrupted; with --register it also registers the agent
(endpoint, capacity, `schema:0x…` tag) on the capability ledger, signing with the key in $SYMPHONY_PRIVATE_KEY.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "data" / "gaia_local" / "files"


def register(subparsers: argparse._SubParsersAction) -> None:
    tools = subparsers.add_parser("tools", help="typed MCP tool agents (Gradientsys)")
    sub = tools.add_subparsers(dest="tools_command", metavar="SUBCOMMAND", required=True)

    listing = sub.add_parser("list", help="built-in tool agents, their tools and schema hashes")
    listing.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="folder the agents work in")
    listing.set_defaults(func=_list)

    serve = sub.add_parser("serve", help="serve one tool agent over MCP Streamable HTTP until interrupted")
    serve.add_argument("name", help="documents | search | python | webpage | llm")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="folder the agent reads (search: its corpus)")
    serve.add_argument("--output-dir", type=Path, help="webpage: where pages are written")
    serve.add_argument("--capacity", type=int, help="override the declared concurrent-call capacity")
    serve.add_argument("--fault-rate", type=float, default=0.0, help="inject transient faults (testing)")
    serve.add_argument("--latency", type=float, default=0.0, help="add seconds to every call (network emulation)")
    serve.add_argument("--register", action="store_true", help="register on the capability ledger")
    serve.add_argument("--endpoint", help="public endpoint to register (default: the local URL)")
    serve.add_argument("--manifest", type=Path, help="deployment manifest (default: from configuration)")
    serve.add_argument("--rpc-url", help="override the manifest's RPC endpoint")
    serve.add_argument("--key-env", default="SYMPHONY_PRIVATE_KEY", help="environment variable holding the agent's key")
    serve.set_defaults(func=_serve)


def _build(args: argparse.Namespace, name: str):
    from scheduler.toolkit.builtin import build_agent

    root = Path(args.root)
    if name == "search" and (root / "corpus").is_dir() and root == DEFAULT_ROOT:
        root = root / "corpus"
    backend = None
    if name == "llm":
        from agents.llm.factory import load_backend
        from symphony.config import load_config

        backend = load_backend(load_config(getattr(args, "config", None)).llm)
    return build_agent(name, root, output_dir=getattr(args, "output_dir", None), backend=backend)


def _list(args: argparse.Namespace) -> int:
    import asyncio

    from scheduler.toolkit.builtin import BUILTIN_AGENTS

    for name in BUILTIN_AGENTS:
        if name == "llm":
            print("llm        capacity 1  tools: ask_llm (needs a model; schema hash printed by `tools serve llm`)")
            continue
        agent = _build(args, name)
        digest = asyncio.run(agent.schema_hash())
        print(f"{name:10} capacity {agent.capacity}  tools: {', '.join(t.name for t in agent.tools)}  schema:{digest}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import asyncio

    from scheduler.toolkit.faults import FaultPlan

    agent = _build(args, args.name)
    if args.capacity is not None:
        if args.capacity < 1:
            from scheduler.errors import SchedulerError

            raise SchedulerError("--capacity must be >= 1")
        agent.capacity = args.capacity
        agent.__post_init__()
    agent.faults = FaultPlan(transient_rate=args.fault_rate, latency_s=args.latency)

    async def main() -> None:
        async with agent.serve(args.host, args.port) as url:
            digest = await agent.schema_hash()
            print(f"tool agent {agent.name} serving {', '.join(t.name for t in agent.tools)} at {url}", flush=True)
            print(f"capacity {agent.capacity}  schema:{digest}", flush=True)
            if args.register:
                await _register(args, agent, args.endpoint or url)
            await asyncio.Event().wait()

    asyncio.run(main())
    return 0


async def _register(args: argparse.Namespace, agent, endpoint: str) -> None:
    from chain.bindings import SymphonyContracts
    from chain.client import ChainClient, private_key_from_env
    from chain.deploy import Manifest
    from scheduler.client.discovery import register_tool_agent
    from symphony.config import load_config

    cfg = load_config(getattr(args, "config", None))
    manifest = Manifest.load(args.manifest or cfg.chain.manifest)
    client = ChainClient(args.rpc_url or manifest.rpc_url, private_key_from_env(args.key_env), expected_chain_id=manifest.chain_id)
    ledger = SymphonyContracts.bind(client, manifest).ledger
    await register_tool_agent(ledger, agent, endpoint)
    print(f"registered {agent.name} as {client.address} at {endpoint}", flush=True)
