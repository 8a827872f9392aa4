"""Which contracts of a deployment the explorer follows, with their ABIs.

Why ABIs from beside the manifest first: `Manifest.save` writes `abi/<Name>.json` next to every manifest (the exact
bytes its `abi_sha256` hashes), so an explorer pointed at someone else's deployment needs neither the Solidity
sources nor a compiler. Only when that file is missing (a manifest kept in memory, an old deployment) are the
local sources compiled, and then only an ABI whose hash matches the deployed one is used.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from chain.deploy import Manifest
from chain.events import EventSource
from core.errors import ConfigError

# Manifest entries the explorer understands, by role. The optional systems are found by their artifact name.
CORE_ROLES = {"CapabilityLedger": "ledger", "TaskBeacon": "beacon", "VoteCommitment": "vote"}
OPTIONAL_ROLES = {"EvaluationLog": "evaluation", "PolicyRegistry": "policy"}


@dataclass(frozen=True)
class FollowedContract:
    role: str  # ledger | beacon | vote | evaluation | policy
    name: str  # the manifest's name, e.g. "HideShill.EvaluationLog"
    address: str
    abi: list[dict]

    def source(self) -> EventSource:
        return EventSource(self.address, self.abi)


def _abi_from_file(path: Path, sha256: str) -> list[dict] | None:
    if not path.is_file():
        return None
    raw = path.read_bytes()
    if hashlib.sha256(raw).hexdigest() != sha256.removeprefix("0x"):
        return None
    return json.loads(raw)


def followed_contracts(manifest: Manifest, manifest_path: Path | None) -> list[FollowedContract]:
    """The core contracts (required) and an EvaluationLog / PolicyRegistry where the manifest names one."""
    compiled = None
    out = []
    for name, entry in manifest.contracts.items():
        artifact = entry.artifact or name.rsplit(".", 1)[-1]
        role = CORE_ROLES.get(artifact) or OPTIONAL_ROLES.get(artifact)
        if role is None:
            continue
        abi = _abi_from_file(manifest_path.parent / "abi" / f"{name}.json", entry.abi_sha256) if manifest_path else None
        if abi is None:
            if compiled is None:
                from chain.compile import compile_contracts

                compiled = compile_contracts()
            local = compiled.get(artifact)
            if local is None or local.abi_sha256 != entry.abi_sha256:
                raise ConfigError(f"{name} at {entry.address}: no ABI beside the manifest and the local sources differ "
                                  "from the deployed contract; pass the manifest that `symphony chain up` wrote")
            abi = local.abi
        out.append(FollowedContract(role, name, entry.address, abi))
    missing = set(CORE_ROLES.values()) - {c.role for c in out}
    if missing:
        raise ConfigError(f"the deployment manifest has no {', '.join(sorted(missing))} contract")
    return out
