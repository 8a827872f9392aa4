"""Putting the explorer together from a deployment: contracts, state, stream, server.

Why from a `Deployment` (chain.connection.connect): it is the one place that picks the RPC endpoint (option or
manifest) and refuses a manifest of another chain, the same rules as every other command. The explorer holds no
key: `connect` is called without `signer`.
"""

from __future__ import annotations

from pathlib import Path

from chain.checkpoints import CheckpointStore
from chain.connection import Deployment
from explorer.follower import Follower, Hub
from explorer.server import ExplorerService, Network
from explorer.settings import ExplorerSettings
from explorer.sources import followed_contracts
from explorer.state import ExplorerState


def build_explorer(deployment: Deployment, settings: ExplorerSettings | None = None) -> ExplorerService:
    settings = settings or ExplorerSettings()
    manifest, client = deployment.manifest, deployment.client
    contracts = followed_contracts(manifest, Path(deployment.manifest_path) if deployment.manifest_path else None)
    state = ExplorerState({c.address: c.role for c in contracts})
    hub = Hub()
    store = CheckpointStore(settings.checkpoints) if settings.checkpoints else CheckpointStore()
    follower = Follower(client.w3, contracts, state, hub, start_block=manifest.deploy_block, store=store,
                        poll_interval_s=settings.poll_interval_s, retry_s=settings.retry_s)
    network = Network(client.chain_id, client.rpc_url, manifest.deploy_block, contracts)
    return ExplorerService(network, state, hub, follower)
