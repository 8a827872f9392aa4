"""A local chain with the core contracts deployed: what `symphony chain up` and the demos start.

Why a context manager: the node, the deployment and the manifest belong together — a manifest that outlives
its anvil points at nothing — so leaving the block stops the node (dumping its state when asked to).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from chain.client import ChainClient
from chain.compile import compile_contracts
from chain.deploy import Manifest, deploy_symphony
from chain.node import AnvilNode
from chain.settings import ChainSettings


@dataclass(frozen=True)
class LocalChain:
    node: AnvilNode
    manifest: Manifest
    manifest_path: Path


@contextlib.contextmanager
def local_chain(settings: ChainSettings) -> Iterator[LocalChain]:
    """Start anvil as `settings.local` says, deploy the core contracts with dev account 0, write the manifest.

    A state file that exists is loaded (the contracts are deployed again on top only when the loaded state has
    no code at the manifest's addresses, so a restart keeps the earlier deployment)."""
    local = settings.local
    state = local.state_path
    artifacts = compile_contracts()
    node = AnvilNode(
        port=local.port,
        chain_id=None if local.fork_url else local.chain_id,
        fork_url=local.fork_url,
        load_state=state if state is not None and Path(state).exists() else None,
        dump_state=state,
        block_time=local.block_time_s,
    )
    with node:
        deployer = ChainClient(node.rpc_url, node.dev_accounts[0].key.to_0x_hex())  # local dev key, never printed
        manifest = _existing(settings.manifest, deployer) if node.load_state else None
        if manifest is None:
            manifest = deploy_symphony(deployer, settings, artifacts=artifacts)
            manifest.save(settings.manifest, artifacts)
        yield LocalChain(node, manifest, Path(settings.manifest))


def _existing(path: Path, client: ChainClient) -> Manifest | None:
    """The manifest at `path` if the chain (restored from a state file) still has its contracts' code."""
    try:
        manifest = Manifest.load(path)
    except Exception:  # noqa: BLE001 - a missing or foreign manifest just means: deploy again
        return None
    if manifest.chain_id != client.chain_id:
        return None
    if not all(len(client.w3.eth.get_code(entry.address)) > 0 for entry in manifest.contracts.values()):
        return None
    if manifest.rpc_url != client.rpc_url:  # same chain state, served on another port
        manifest = manifest.model_copy(update={"rpc_url": client.rpc_url})
        manifest.save(path)
    return manifest
