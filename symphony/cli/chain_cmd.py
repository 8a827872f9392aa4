"""`symphony chain up|status`, `symphony deploy` and `symphony agents list`."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.errors import ConfigError
from core.shutdown import StopSignal


def register(subparsers: argparse._SubParsersAction) -> None:
    chain = subparsers.add_parser("chain", help="run or inspect the chain")
    chain_sub = chain.add_subparsers(dest="chain_command", metavar="SUBCOMMAND", required=True)

    up = chain_sub.add_parser("up", help="start an embedded anvil, deploy the contracts, write the manifest; runs until interrupted")
    up.add_argument("--port", type=int, default=8545, help="port on 127.0.0.1 (0: any free port; default 8545)")
    up.add_argument("--chain-id", type=int, default=31337)
    up.add_argument("--fork-url", help="fork this RPC endpoint instead of starting an empty chain")
    up.add_argument("--state", type=Path, help="load chain state from this file if it exists and dump it there on exit")
    up.add_argument("--manifest", type=Path, help="where to write the deployment manifest")
    up.add_argument("--block-time", type=float, help="mine blocks every N seconds instead of on every transaction")
    up.set_defaults(func=_chain_up)

    status = chain_sub.add_parser("status", help="chain, block height and the deployed contracts")
    _add_connection_options(status)
    status.set_defaults(func=_chain_status)

    deploy = subparsers.add_parser("deploy", help="deploy the core contracts to an RPC endpoint (key from $SYMPHONY_PRIVATE_KEY)")
    deploy.add_argument("--rpc-url", required=True)
    deploy.add_argument("--chain-id", type=int, help="refuse to deploy unless the endpoint is this chain")
    deploy.add_argument("--key-env", default="SYMPHONY_PRIVATE_KEY", help="environment variable holding the deployer key")
    deploy.add_argument("--manifest", type=Path)
    deploy.set_defaults(func=_deploy)

    agents = subparsers.add_parser("agents", help="agents on the capability ledger")
    agents_sub = agents.add_subparsers(dest="agents_command", metavar="SUBCOMMAND", required=True)
    listing = agents_sub.add_parser("list", help="active agents with capability, capacity and reputation")
    _add_connection_options(listing)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=_agents_list)


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--manifest", type=Path, help="deployment manifest (default: from configuration)")
    parser.add_argument("--rpc-url", help="override the manifest's RPC endpoint")


def _config(args: argparse.Namespace):
    from symphony.config import load_config

    return load_config(getattr(args, "config", None))


def _read_only_contracts(args: argparse.Namespace):
    """Bind the core contracts with a key-less client from the manifest (and an optional RPC override)."""
    from chain.bindings import SymphonyContracts
    from chain.client import ChainClient
    from chain.deploy import Manifest

    cfg = _config(args)
    manifest = Manifest.load(args.manifest or cfg.chain.manifest)
    client = ChainClient(args.rpc_url or manifest.rpc_url, expected_chain_id=manifest.chain_id)
    return manifest, client, SymphonyContracts.bind(client, manifest)


def _print_manifest(manifest, path: Path) -> None:
    print(f"chain id     {manifest.chain_id}")
    print(f"rpc url      {manifest.rpc_url}")
    print(f"deploy block {manifest.deploy_block}")
    for name, entry in manifest.contracts.items():
        print(f"{name:<17}{entry.address}")
    print(f"manifest     {path}")


def _chain_up(args: argparse.Namespace) -> int:
    from chain.client import ChainClient
    from chain.compile import compile_contracts
    from chain.deploy import deploy_symphony
    from chain.node import AnvilNode

    cfg = _config(args)
    manifest_path = args.manifest or cfg.chain.manifest
    if args.port < 0 or args.port > 65535:
        raise ConfigError(f"invalid port {args.port}")
    artifacts = compile_contracts()
    node = AnvilNode(
        port=args.port,
        chain_id=args.chain_id if not args.fork_url else None,
        fork_url=args.fork_url,
        load_state=args.state if args.state and args.state.exists() else None,
        dump_state=args.state,
        block_time=args.block_time,
    )
    with node:
        deployer = node.dev_accounts[0]  # anvil's dev key: local chain only, never printed
        client = ChainClient(node.rpc_url, deployer.key.to_0x_hex())
        manifest = deploy_symphony(client, cfg.chain, artifacts=artifacts)
        manifest.save(manifest_path, artifacts)
        print(f"anvil running at {node.rpc_url} (websocket {node.ws_url})")
        _print_manifest(manifest, manifest_path)
        def alive() -> None:
            if not node.running:
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

    cfg = _config(args)
    key = private_key_from_env(args.key_env)
    client = ChainClient(args.rpc_url, key, expected_chain_id=args.chain_id)
    if client.balance() == 0:
        raise ConfigError(f"deployer {client.address} has no funds on chain {client.chain_id}")
    artifacts = compile_contracts()
    manifest = deploy_symphony(client, cfg.chain, artifacts=artifacts)
    path = manifest.save(args.manifest or cfg.chain.manifest, artifacts)
    _print_manifest(manifest, path)
    return 0


def _chain_status(args: argparse.Namespace) -> int:
    manifest, client, contracts = _read_only_contracts(args)
    w3 = client.w3
    print(f"chain id     {client.chain_id}")
    print(f"block        {w3.eth.block_number}")
    for name, entry in manifest.contracts.items():
        has_code = len(w3.eth.get_code(entry.address)) > 0
        print(f"{name:<17}{entry.address} {'ok' if has_code else 'NO CODE'}")
    print(f"agents       {contracts.ledger.active_count()} active")
    print(f"beacons      {contracts.beacon.count()}")
    return 0


def _agents_list(args: argparse.Namespace) -> int:
    import json

    _, _, contracts = _read_only_contracts(args)
    agents = contracts.ledger.active_agents()
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
