"""`symphony network up` — a local Symphony network in one command: anvil, the contracts and agent workers."""

from __future__ import annotations

import argparse
from pathlib import Path

from symphony.cli.options import command, config, csv, setting


def register(subparsers: argparse._SubParsersAction) -> None:
    network = subparsers.add_parser("network", help="a local network: chain, contracts and agent workers")
    network_sub = network.add_subparsers(dest="network_command", metavar="SUBCOMMAND", required=True)
    up = command(network_sub, "up", "start anvil, deploy the contracts and run the agent network's workers (agents.network); "
                                    "runs until interrupted")
    setting(up, "--port", path="chain.local.port", type=int, help="port on 127.0.0.1 (0: any free port)")
    setting(up, "--manifest", path="chain.manifest", type=Path, help="where to write the deployment manifest")
    setting(up, "--model", path="llm.model", help="model folder for every agent (none: SmolLM2-135M-Instruct)")
    up.add_argument("--agents", type=csv, default=None,
                    help="comma-separated agents of the network to run (default: all; names in docs/network.md)")
    up.add_argument("--workdir", type=Path, default=None,
                    help="worker configurations, state and logs (default: <state dir>/network)")
    up.set_defaults(func=_up)


def _up(args: argparse.Namespace) -> int:
    from agents.network import network_profiles
    from chain.bindings import SymphonyContracts
    from chain.client import ChainClient
    from chain.local import local_chain
    from core.errors import ServiceStartError
    from core.paths import state_dir
    from core.shutdown import StopSignal
    from symphony.workers import agent_llm, start_workers

    cfg = config(args)
    work = args.workdir or state_dir() / "network"
    work.mkdir(parents=True, exist_ok=True)
    profiles = network_profiles(agent_llm(cfg.llm), work / "state", names=args.agents)
    chains = cfg.requester.chains
    with local_chain(cfg.chain) as local:
        node = local.node
        print(f"anvil running at {node.rpc_url} (websocket {node.ws_url}); manifest {local.manifest_path}", flush=True)
        print(f"starting {len(profiles)} agent workers (logs in {work}) ...", flush=True)
        workers = start_workers(profiles, node, local.manifest_path, work)
        try:
            contracts = SymphonyContracts.bind(ChainClient(node.rpc_url), local.manifest)
            workers.wait_registered(contracts, timeout=600)
            models = {a.agent: a.model_id for a in contracts.ledger.active_agents()}
            print(f"{len(profiles)} agents registered:")
            for w in workers.running:
                print(f"  {w.name:<22} {w.address}  dev account #{w.account}  model {models.get(w.address, '?')}")
            if len(profiles) < chains:
                print(f"note: `symphony ask` asks K = {chains} chains and each agent works in one chain of a task; with "
                      f"{len(profiles)} agents it asks {len(profiles)} (or pass --chains)")
            free = node.dev_accounts[1 + len(profiles)]
            print("local dev key for asking (anvil's well-known test account; never use it on a real chain):")
            print(f'  SYMPHONY_PRIVATE_KEY={free.key.to_0x_hex()} symphony ask "What is 12 + 35?"', flush=True)

            def alive() -> None:
                if not node.running:
                    raise ServiceStartError("anvil exited unexpectedly")
                workers.check_alive()

            with StopSignal() as stop:
                print("press Ctrl-C to stop", flush=True)
                stop.wait(check=alive)
        finally:
            workers.stop()
    print("stopped", flush=True)
    return 0
