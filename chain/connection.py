"""From configuration to a connected deployment: the one way commands, workers and tools reach the chain.

Why one helper: every entry point needs the same rules, and eight hand-written copies drifted — the RPC
endpoint is the configured `chain.rpc_url` or else the manifest's; the chain id that must answer is the
configured `chain.chain_id` or else the manifest's (so a manifest of another chain is refused at once, with
one line); the signing key is read from the environment variable named by `chain.private_key_env`, and only
when the caller needs to sign (read-only commands hold no key).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chain.bindings import SymphonyContracts
from chain.client import ChainClient, private_key_from_env
from chain.deploy import Manifest
from chain.settings import ChainSettings


@dataclass(frozen=True)
class Deployment:
    """A manifest and a client on the chain it describes (signing, or read-only when `client.account` is None)."""

    manifest: Manifest
    manifest_path: Path
    client: ChainClient

    def contracts(self) -> SymphonyContracts:
        """The core contracts (ledger, beacon, vote) bound to this client."""
        return SymphonyContracts.bind(self.client, self.manifest)


def connect(settings: ChainSettings, *, signer: bool = False, private_key: str | None = None) -> Deployment:
    """Load `settings.manifest` and connect to its chain; `signer=True` reads the key from the environment
    (`private_key` instead supplies one directly, e.g. a local dev key held by a launcher)."""
    manifest = Manifest.load(settings.manifest)
    key = private_key or (private_key_from_env(settings.private_key_env) if signer else None)
    client = ChainClient(
        settings.rpc_url or manifest.rpc_url, key, expected_chain_id=settings.chain_id or manifest.chain_id
    )
    return Deployment(manifest, Path(settings.manifest), client)
