"""`symphony chain up|status`, `symphony deploy` and `symphony agents list`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from symphony.cli.options import command, config, connection_options, setting


def register(subparsers: argparse._SubParsersAction) -> None:
    chain = subparsers.add_parser("chain", help="run or inspect the chain")
    chain_sub = chain.add_subparsers(dest="chain_command", metavar="SUBCOMMAND", required=True)

    up = command(chain_sub, "up", "start an embedded anvil, deploy the contracts, write the manifest; runs until interrupted")
    setting(up, "--port", path="chain.local.port", type=int, help="port on 127.0.0.1 (0: any free port)")
    setting(up, "--chain-id", path="chain.local.chain_id", type=int, help="chain id of the new chain")
    setting(up, "--fork-url", path="chain.local.fork_url", help="fork this RPC endpoint instead of starting an empty chain")
    setting(up, "--state", path="chain.local.state_path", type=Path,
            help="load chain state from this file if it exists and dump it there on exit")
    setting(up, "--manifest", path="chain.manifest", type=Path, help="where to write the deployment manifest")
    setting(up, "--block-time", path="chain.local.block_time_s", type=float,
            help="mine blocks every N seconds instead of on every transaction")
    up.set_defaults(func=_chain_up)

    status = command(chain_sub, "status", "chain, block height and the deployed contracts")
    connection_options(status)
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(func=_chain_status)

    deploy = command(subparsers, "deploy", "deploy the core contracts to an RPC endpoint (key from the environment)")
    setting(deploy, "--rpc-url", path="chain.rpc_url", help="the endpoint to deploy to (required)")
    setting(deploy, "--chain-id", path="chain.chain_id", type=int, help="refuse to deploy unless the endpoint is this chain")
    setting(deploy, "--key-env", path="chain.private_key_env", help="environment variable holding the deployer key")
    setting(deploy, "--manifest", path="chain.manifest", type=Path, help="where to write the deployment manifest")
    deploy.set_defaults(func=_deploy)

    agents = subparsers.add_parser("agents", help="agents on the capability ledger")
    agents_sub = agents.add_subparsers(dest="agents_command", metavar="SUBCOMMAND", required=True)
    listing = command(agents_sub, "list", "active agents with capability, capacity and reputation")
    connection_options(listing)
    listing.add_argument("--json", action="store_true", help="print the agents as JSON")
    listing.set_defaults(func=_agents_list)


def _print_manifest(manifest, path: Path) -> None:
    print(f"chain id     {manifest.chain_id}")
    print(f"rpc url      {manifest.rpc_url}")
    print(f"deploy block {manifest.deploy_block}")
    for name, entry in manifest.contracts.items():
        print(f"{name:<17}{entry.address}")
    print(f"manifest     {path}")


def _chain_up(args: argparse.Namespace) -> int:
    from chain.local import local_chain
    from core.errors import ConfigError
    from core.shutdown import StopSignal

    cfg = config(args)
    with local_chain(cfg.chain) as local:
        print(f"anvil running at {local.node.rpc_url} (websocket {local.node.ws_url})")
        _print_manifest(local.manifest, local.manifest_path)
        print("dev accounts (anvil's well-known test keys, funded on this chain only; #0 deployed the contracts):")
        for i, account in enumerate(local.node.dev_accounts):
            print(f"  #{i} {account.address} {account.key.to_0x_hex()}")

        def alive() -> None:
            if not local.node.running:
                raise ConfigError("anvil exited unexpectedly")

        with StopSignal() as stop:  # Ctrl-C / SIGTERM (see core.shutdown for why not KeyboardInterrupt)
            print("press Ctrl-C to stop", flush=True)
            stop.wait(check=alive)
    print("stopped")
    return 0


def _deploy(args: argparse.Namespace) -> int:
    from chain.client import ChainClient, private_key_from_env
    from chain.compile import compile_contracts
    from chain.deploy import deploy_symphony
    from core.errors import ConfigError

    cfg = config(args)
    if not cfg.chain.rpc_url:
        raise ConfigError("deploy needs an RPC endpoint: --rpc-url or SYMPHONY_CHAIN__RPC_URL")
    client = ChainClient(cfg.chain.rpc_url, private_key_from_env(cfg.chain.private_key_env),
                         expected_chain_id=cfg.chain.chain_id)
    if client.balance() == 0:
        raise ConfigError(f"deployer {client.address} has no funds on chain {client.chain_id}")
    artifacts = compile_contracts()
    manifest = deploy_symphony(client, cfg.chain, artifacts=artifacts)
    _print_manifest(manifest, manifest.save(cfg.chain.manifest, artifacts))
    return 0


def _chain_status(args: argparse.Namespace) -> int:
    from chain.connection import connect

    deployment = connect(config(args).chain)
    w3 = deployment.client.w3
    contracts = deployment.contracts()
    status = {
        "chain_id": deployment.client.chain_id, "rpc_url": deployment.client.rpc_url, "block": w3.eth.block_number,
        "manifest": str(deployment.manifest_path),
        "contracts": {name: {"address": entry.address, "has_code": len(w3.eth.get_code(entry.address)) > 0}
                      for name, entry in deployment.manifest.contracts.items()},
        "active_agents": contracts.ledger.active_count(), "tasks": contracts.beacon.task_count(),
    }
    if args.json:
        print(json.dumps(status, indent=1))
        return 0
    print(f"chain id     {status['chain_id']}")
    print(f"block        {status['block']}")
    for name, entry in status["contracts"].items():
        print(f"{name:<17}{entry['address']} {'ok' if entry['has_code'] else 'NO CODE'}")
    print(f"agents       {status['active_agents']} active")
    print(f"tasks        {status['tasks']}")
    return 0


def _agents_list(args: argparse.Namespace) -> int:
    from chain.connection import connect

    agents = connect(config(args).chain).contracts().ledger.active_agents()
    if args.json:
        print(json.dumps([{**a.__dict__, "capability": "0x" + a.capability.hex(), "tags": list(a.tags)} for a in agents], indent=1))
        return 0
    if not agents:
        print("no active agents")
        return 0
    print(f"{'address':<44}{'name':<18}{'model':<28}{'cap':>4}{'free':>5}{'avail':>6}{'reputation':>11}  tags")
    for a in agents:
        print(
            f"{a.agent:<44}{a.name[:17]:<18}{a.model_id[:27]:<28}{a.capacity:>4}{a.free_capacity:>5}"
            f"{'yes' if a.available else 'no':>6}{a.reputation / 1e18:>11.3f}  {','.join(a.tags)}"
        )
    return 0
