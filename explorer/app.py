"""Putting the explorer together from a deployment: contracts, state, stream, server.

Why from a `Deployment` (chain.connection.connect): it is the one place that picks the RPC endpoint (option or
manifest) and refuses a manifest of another chain, the same rules as every other command. The explorer holds no
key: `connect` is called without `signer`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chain.checkpoints import CheckpointStore
from chain.connection import Deployment
from explorer.follower import Follower, Hub
from explorer.server import ExplorerService, Network
from explorer.settings import ExplorerSettings
from explorer.sources import followed_contracts
from explorer.state import ExplorerState


def _no_provider_retries(w3: Any) -> None:
    """Turn off web3's in-request retries for the explorer's own connection.

    Why: the follower already retries every `retry_s` and tells the page "disconnected" on the first failed poll;
    a client that rides out an outage inside each read (chain.client's retry allowlist, ~32 s) would keep the page
    saying "live" for half a minute while the node is gone (issue #18: the page says so and reconnects)."""
    provider = getattr(w3, "provider", None)
    if provider is not None and hasattr(provider, "exception_retry_configuration"):
        provider.exception_retry_configuration = None


def build_explorer(deployment: Deployment, settings: ExplorerSettings | None = None) -> ExplorerService:
    settings = settings or ExplorerSettings()
    manifest, client = deployment.manifest, deployment.client
    contracts = followed_contracts(manifest, Path(deployment.manifest_path) if deployment.manifest_path else None)
    state = ExplorerState({c.address: c.role for c in contracts})
    _no_provider_retries(client.w3)
    hub = Hub()
    store = CheckpointStore(settings.checkpoints) if settings.checkpoints else CheckpointStore()
    follower = Follower(client.w3, contracts, state, hub, start_block=manifest.deploy_block, store=store,
                        poll_interval_s=settings.poll_interval_s, retry_s=settings.retry_s)
    network = Network(client.chain_id, client.rpc_url, manifest.deploy_block, contracts)
    return ExplorerService(network, state, hub, follower)
