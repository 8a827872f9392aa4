"""`symphony tools list|serve`: the built-in typed MCP tool agents.

`serve` runs one agent over MCP Streamable HTTP until interrupted; with --register it also registers the agent
(endpoint, capacity, `schema:0x…` tag) on the capability ledger, signing with the key named by
`chain.private_key_env`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from symphony.cli.options import command, config, connection_options, setting

DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "data" / "gaia_local" / "files"


def register(subparsers: argparse._SubParsersAction) -> None:
    tools = subparsers.add_parser("tools", help="typed MCP tool agents (Gradientsys)")
    sub = tools.add_subparsers(dest="tools_command", metavar="SUBCOMMAND", required=True)

    listing = command(sub, "list", "built-in tool agents, their tools and schema hashes")
    setting(listing, "--root", path="scheduler.tool_server.root", type=Path, help="folder the agents work in")
    listing.add_argument("--json", action="store_true", help="print the agents as JSON")
    listing.set_defaults(func=_list)

    serve = command(sub, "serve", "serve one tool agent over MCP Streamable HTTP until interrupted")
    serve.add_argument("name", help="documents | search | python | webpage | llm")
    setting(serve, "--host", path="scheduler.tool_server.host", help="listen address")
    setting(serve, "--port", path="scheduler.tool_server.port", type=int, help="listen port (0 picks a free port)")
    setting(serve, "--root", path="scheduler.tool_server.root", type=Path, help="folder the agent reads (search: its corpus)")
    setting(serve, "--output-dir", path="scheduler.tool_server.output_dir", type=Path, help="webpage: where pages are written")
    setting(serve, "--capacity", path="scheduler.tool_server.capacity", type=int, help="concurrent-call capacity")
    setting(serve, "--fault-rate", path="scheduler.tool_server.fault_rate", type=float, help="inject transient faults (testing)")
    setting(serve, "--latency", path="scheduler.tool_server.latency_s", type=float, help="add seconds to every call")
    serve.add_argument("--register", action="store_true", help="also register the agent on the capability ledger")
    setting(serve, "--endpoint", path="scheduler.tool_server.endpoint", help="public endpoint to register")
    connection_options(serve, signer=True)
    serve.set_defaults(func=_serve)


def _build(cfg, name: str):  # noqa: ANN001 - SymphonyConfig -> ToolAgent
    from scheduler.toolkit.builtin import build_agent

    server = cfg.scheduler.tool_server
    root = Path(server.root or DEFAULT_ROOT)
    if name == "search" and server.root is None and (root / "corpus").is_dir():
        root = root / "corpus"
    backend = None
    if name == "llm":
        from agents.llm.factory import load_backend

        backend = load_backend(cfg.llm)
    agent = build_agent(name, root, output_dir=server.output_dir, backend=backend)
    if server.capacity is not None:
        agent.set_capacity(server.capacity)
    return agent


def _list(args: argparse.Namespace) -> int:
    import asyncio

    from scheduler.toolkit.builtin import BUILTIN_AGENTS

    cfg = config(args)
    rows = []
    for name in BUILTIN_AGENTS:
        if name == "llm":  # building it would load a model: its hash is printed by `tools serve llm`
            rows.append({"agent": "llm", "capacity": 1, "tools": ["ask_llm"], "schema_hash": None})
            continue
        agent = _build(cfg, name)
        rows.append({"agent": name, "capacity": agent.capacity, "tools": [t.name for t in agent.tools],
                     "schema_hash": asyncio.run(agent.schema_hash())})
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    for row in rows:
        digest = f"schema:{row['schema_hash']}" if row["schema_hash"] else "(needs a model; schema hash printed by `tools serve llm`)"
        print(f"{row['agent']:10} capacity {row['capacity']}  tools: {', '.join(row['tools'])}  {digest}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import asyncio

    from core.shutdown import StopSignal
    from scheduler.toolkit.faults import FaultPlan

    cfg = config(args)
    server = cfg.scheduler.tool_server
    agent = _build(cfg, args.name)
    agent.faults = FaultPlan(transient_rate=server.fault_rate, latency_s=server.latency_s)

    async def main() -> None:
        with StopSignal() as stop:
            async with agent.serve(server.host, server.port) as url:
                digest = await agent.schema_hash()
                print(f"tool agent {agent.name} serving {', '.join(t.name for t in agent.tools)} at {url}", flush=True)
                print(f"capacity {agent.capacity}  schema:{digest}", flush=True)
                if args.register:
                    await _register(cfg, agent, server.endpoint or url)
                await stop.wait_async()
        print("stopped", flush=True)

    asyncio.run(main())
    return 0


async def _register(cfg, agent, endpoint: str) -> None:  # noqa: ANN001
    from chain.connection import connect
    from scheduler.client.discovery import register_tool_agent

    deployment = connect(cfg.chain, signer=True)
    await register_tool_agent(deployment.contracts().ledger, agent, endpoint)
    print(f"registered {agent.name} as {deployment.client.address} at {endpoint}", flush=True)
