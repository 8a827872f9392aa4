"""`symphony explorer` — a read-only web page that follows one deployment live (agents, tasks, votes, evaluation
log, policy versions), with the `cast` command that reads each item.

It takes no key: it only reads logs through the durable event stream and serves what it derived. A manifest of
another chain is refused with one line (the same check as every command, chain.connection.connect).
"""

from __future__ import annotations

import argparse

from symphony.cli.options import command, config, connection_options, setting


def register(subparsers: argparse._SubParsersAction) -> None:
    explorer = command(subparsers, "explorer", "network explorer: a live page of agents, tasks, bids, votes, the "
                                               "evaluation log and policy versions; runs until interrupted")
    connection_options(explorer)
    setting(explorer, "--host", path="explorer.host", help="listen address")
    setting(explorer, "--port", path="explorer.port", type=int, help="listen port (0: a free port)")
    setting(explorer, "--poll-interval", path="explorer.poll_interval_s", type=float, help="seconds between polls of the chain")
    setting(explorer, "--checkpoints", path="explorer.checkpoints", type=str,
            help="SQLite file keeping the explorer's place in the event stream across restarts (none: in memory)")
    explorer.set_defaults(func=_explorer)


def _explorer(args: argparse.Namespace) -> int:
    import asyncio

    from chain.connection import connect
    from core.http import serving
    from core.shutdown import StopSignal
    from explorer.app import build_explorer

    cfg = config(args)
    service = build_explorer(connect(cfg.chain), cfg.explorer)

    async def main() -> None:
        with StopSignal() as stop:
            async with serving(service.app(), cfg.explorer.host, cfg.explorer.port) as url:
                print(f"explorer at {url}/  (chain {service.network.chain_id} at {service.network.rpc_url}; "
                      f"JSON: /api/state, /api/task/ID, /api/agent/ADDRESS, /api/search?q=)", flush=True)
                await stop.wait_async()
        print("stopped", flush=True)

    asyncio.run(main())
    return 0
