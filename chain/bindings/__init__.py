"""Typed Python bindings of Symphony's core contracts (one module per contract) and a facade binding all three."""

from __future__ import annotations

from dataclasses import dataclass

from chain.bindings.beacon import BeaconInfo, Bid, ChainSpec, PostedTask, TaskBeacon, TaskInfo
from chain.bindings.ledger import AgentInfo, CapabilityLedger
from chain.bindings.vote import VoteCommitment, VoteInfo
from chain.client import ChainClient
from chain.deploy import Manifest

__all__ = ["AgentInfo", "BeaconInfo", "Bid", "CapabilityLedger", "ChainSpec", "PostedTask", "SymphonyContracts", "TaskBeacon",
           "TaskInfo", "VoteCommitment", "VoteInfo"]


@dataclass
class SymphonyContracts:
    """The three core contracts bound to one client (one account)."""

    client: ChainClient
    manifest: Manifest
    ledger: CapabilityLedger
    beacon: TaskBeacon
    vote: VoteCommitment

    @classmethod
    def bind(cls, client: ChainClient, manifest: Manifest) -> "SymphonyContracts":
        from chain.compile import compile_contracts

        artifacts = compile_contracts()
        return cls(
            client,
            manifest,
            CapabilityLedger(client, manifest.bind(client, "CapabilityLedger", artifacts)),
            TaskBeacon(client, manifest.bind(client, "TaskBeacon", artifacts)),
            VoteCommitment(client, manifest.bind(client, "VoteCommitment", artifacts)),
        )

    def as_account(self, client: ChainClient) -> "SymphonyContracts":
        """The same contracts, signing with another account."""
        return SymphonyContracts.bind(client, self.manifest)
