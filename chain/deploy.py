"""Deploy Symphony's core contracts to any RPC and write the deployment manifest.

Why a manifest: agents, the CLI, `cast` users and the evaluation tools must all find the same addresses and
know which ABI they were deployed with. It records the chain id (so nobody talks to the wrong chain), the
deploy block (where event streams start), every address and the sha256 of every ABI. The ABIs themselves are
written beside it (`abi/<Name>.json`, one per contract the manifest names, as the exact bytes hashed: `sha256sum`
checks them) for tools like cast.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel, Field

from chain.client import ChainClient
from chain.compile import ContractArtifact, compile_contracts
from core.errors import ConfigError
from chain.settings import ChainSettings

CORE_CONTRACTS = ("CapabilityLedger", "TaskBeacon", "VoteCommitment")


class DeployedContract(BaseModel):
    address: str
    abi_sha256: str
    deploy_block: int
    artifact: str | None = None  # compiled contract name, when the manifest name differs (e.g. "HideShill.EvaluationLog")


class Manifest(BaseModel):
    """What was deployed where. Extra systems (Echo, Hide-and-Shill) add their contracts under their own names."""

    chain_id: int
    rpc_url: str
    deployer: str
    deploy_block: int
    created_at: float = Field(default_factory=time.time)
    contracts: dict[str, DeployedContract] = Field(default_factory=dict)
    parameters: dict[str, int] = Field(default_factory=dict)

    def address(self, name: str) -> str:
        if name not in self.contracts:
            raise ConfigError(f"the deployment manifest has no contract {name!r} (deployed: {', '.join(self.contracts) or 'none'})")
        return self.contracts[name].address

    def bind(self, client: ChainClient, name: str, artifacts: dict[str, ContractArtifact] | None = None):
        """A web3 contract for `name`, refusing if the local ABI differs from the one deployed."""
        entry = self.contracts.get(name)
        if entry is None:
            raise ConfigError(f"the deployment manifest has no contract {name!r}")
        artifact = (artifacts or compile_contracts())[entry.artifact or name]
        if artifact.abi_sha256 != entry.abi_sha256:
            raise ConfigError(f"{name} at {entry.address} was deployed with a different ABI than the local sources; redeploy")
        return client.contract(entry.address, artifact.abi, name)

    def add(self, name: str, address: str, artifact: ContractArtifact, block: int) -> None:
        self.contracts[name] = DeployedContract(
            address=address, abi_sha256=artifact.abi_sha256, deploy_block=block, artifact=artifact.name if artifact.name != name else None
        )

    def save(self, path: Path, artifacts: dict[str, ContractArtifact] | None = None) -> Path:
        """Write the manifest atomically and `abi/<Name>.json` beside it for every contract it names (local sources
        compiled when `artifacts` is not given; an ABI that differs from the deployed one is not written)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            handle.write(self.model_dump_json(indent=2))
        os.replace(tmp, path)
        artifacts = artifacts or compile_contracts()
        abi_dir = path.parent / "abi"
        abi_dir.mkdir(exist_ok=True)
        for name, entry in self.contracts.items():
            artifact = artifacts.get(entry.artifact or name)
            if artifact is not None and artifact.abi_sha256 == entry.abi_sha256:
                (abi_dir / f"{name}.json").write_bytes(artifact.abi_json)
        return path

    @classmethod
    def load(cls, path: Path) -> "Manifest":
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"no deployment manifest at {path}; run `symphony chain up` or `symphony deploy` first")
        try:
            return cls.model_validate_json(path.read_text())
        except ValueError as exc:
            raise ConfigError(f"the deployment manifest {path} is not valid: {exc.errors()[0]['msg'] if hasattr(exc, 'errors') else exc}") from None


def deploy_symphony(client: ChainClient, settings: ChainSettings | None = None, *, artifacts: dict[str, ContractArtifact] | None = None) -> Manifest:
    """Deploy CapabilityLedger, TaskBeacon and VoteCommitment; the beacon binds the vote, the ledger authorises the
    beacon (the only core contract that moves stake, evidence, capacity and reputation)."""
    settings = settings or ChainSettings()
    artifacts = artifacts or compile_contracts()
    start_block = client.w3.eth.block_number
    ledger = client.deploy(artifacts["CapabilityLedger"], settings.min_stake_wei, settings.deregister_cooldown_s)
    beacon = client.deploy(artifacts["TaskBeacon"], ledger.address, settings.max_payload_bytes, settings.min_evidence_reward_wei)
    vote = client.deploy(artifacts["VoteCommitment"], beacon.address, settings.commit_window_s, settings.reveal_window_s)
    client.transact(beacon.functions.bindVote(vote.address))
    client.transact(ledger.functions.setAuthorized(beacon.address, True))
    manifest = Manifest(
        chain_id=client.chain_id,
        rpc_url=client.rpc_url,
        deployer=client.address,
        deploy_block=start_block + 1,
        parameters={
            "min_stake_wei": settings.min_stake_wei,
            "deregister_cooldown_s": settings.deregister_cooldown_s,
            "max_payload_bytes": settings.max_payload_bytes,
            "min_evidence_reward_wei": settings.min_evidence_reward_wei,
            "commit_window_s": settings.commit_window_s,
            "reveal_window_s": settings.reveal_window_s,
        },
    )
    for name, contract in zip(CORE_CONTRACTS, (ledger, beacon, vote)):
        manifest.add(name, contract.address, artifacts[name], start_block + 1)
    return manifest
