"""Typed access to the on-chain PolicyRegistry (contracts/echo/PolicyRegistry.sol).

Why on chain: the registry is the one place trainer and samplers — possibly run by different parties —
agree on which weights *are* version v. A sampler trusts only the sha256 recorded here, never the HTTP
server that hands it the bytes. Since protocol v2 versions are consecutive (latest + 1) and revocable: samplers
and trainers follow `latest_valid_version()`, the newest version not revoked.
"""

from __future__ import annotations

from dataclasses import dataclass

from chain.client import ChainClient
from chain.compile import ContractArtifact, compile_contracts
from chain.reverts import ContractRevert

CONTRACT = "PolicyRegistry"
_ZERO = "00" * 32


@dataclass(frozen=True)
class PolicyRecord:
    version: int
    sha256: str  # hex, no 0x
    uri: str
    published_at: int
    publisher: str
    revoked: bool = False


class PolicyRegistryClient:
    def __init__(self, client: ChainClient, address: str, abi: list[dict] | None = None):
        self.client = client
        self.address = address
        self.contract = client.contract(address, abi or compile_contracts()[CONTRACT].abi, CONTRACT)

    @classmethod
    def deploy(cls, client: ChainClient, artifact: ContractArtifact | None = None) -> "PolicyRegistryClient":
        """Deploy a fresh registry (the project's PolicyRegistry unless `artifact` is given); the deployer is
        its first authorised publisher."""
        artifact = artifact or compile_contracts()[CONTRACT]
        contract = client.deploy(artifact)
        return cls(client, contract.address, artifact.abi)

    def publish(self, version: int, sha256_hex: str, uri: str) -> None:
        digest = bytes.fromhex(sha256_hex.lower().removeprefix("0x"))
        if len(digest) != 32:
            raise ValueError(f"sha256 must be 32 bytes, got {len(digest)}")
        self.client.transact(self.contract.functions.publish(version, digest, uri))

    def revoke(self, version: int, reason: str = "") -> None:
        """Revoke `version` (the owner, or the publisher that published it)."""
        self.client.transact(self.contract.functions.revoke(version, reason))

    def announce_serving(self, version: int, sha256_hex: str) -> None:
        """Announce on chain (a `PolicyServed` event from this client's account) that it now serves `version` with
        weights `sha256_hex`; `announce_serving(0, "")` says it stopped. The contract refuses unknown or revoked
        versions and a digest that is not the recorded one (ContractRevert with the decoded custom error)."""
        digest = bytes.fromhex(sha256_hex.lower().removeprefix("0x")) if sha256_hex else bytes(32)
        if len(digest) != 32:
            raise ValueError(f"sha256 must be 32 bytes, got {len(digest)}")
        self.client.transact(self.contract.functions.announceServing(version, digest))

    def latest_version(self) -> int:
        """Highest published version, revoked or not; the next publication must be this + 1."""
        return int(self.client.call(self.contract.functions.latestVersion()))

    def latest_valid_version(self) -> int:
        """Highest published version that is not revoked (0: none)."""
        return int(self.client.call(self.contract.functions.latestValidVersion()))

    def is_revoked(self, version: int) -> bool:
        return bool(self.client.call(self.contract.functions.isRevoked(version)))

    def get(self, version: int) -> PolicyRecord | None:
        """The record for `version`, or None if it was never published."""
        if version < 0 or version > self.latest_version():
            return None
        try:
            sha, uri, published_at, publisher, revoked = self.client.call(self.contract.functions.getPolicy(version))
        except ContractRevert:  # e.g. an UnknownVersion custom error
            return None
        sha_hex = bytes(sha).hex()
        if sha_hex == _ZERO:
            return None
        return PolicyRecord(version, sha_hex, str(uri), int(published_at), str(publisher), bool(revoked))
