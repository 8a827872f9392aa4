"""Typed binding of VoteCommitment: reveal, start the reveal phase, finalize; the commitment computed locally.

The commitment itself is delivered through TaskBeacon.commitResult (a final step's delivery *is* its vote);
`commitment()` computes the exact bytes the contract checks at reveal.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from eth_abi import encode
from eth_utils import keccak, to_checksum_address
from web3.contract import Contract
from web3.types import TxReceipt

from chain.client import ChainClient

# The reveal that completes a vote settles the whole task (evidence and slashes for every executor of every
# chain: at most 16 chains of 8 steps); which reveal that is depends on who is first.
REVEAL_MIN_GAS = 6_000_000


class VotePhase(IntEnum):
    NONE = 0
    COMMIT = 1
    REVEAL = 2
    FINALIZED = 3


@dataclass(frozen=True)
class VoteInfo:
    phase: VotePhase
    commit_deadline: int
    reveal_deadline: int
    commits: int
    reveals: int
    expected_voters: int
    winning_answer: str
    winning_weight: int
    total_weight: int

    @classmethod
    def from_tuple(cls, raw: tuple) -> "VoteInfo":
        v = list(raw)
        v[0] = VotePhase(v[0])
        return cls(*v)


@dataclass(frozen=True)
class Voter:
    beacon_id: int
    position: int
    revealed: bool
    abstained: bool
    answer: str


def commitment(task_id: bytes, voter: str, answer: str, result: bytes, salt: bytes) -> bytes:
    """keccak256(abi.encode(taskId, voter, answer, keccak256(result), salt)): what a final executor delivers."""
    return keccak(encode(["bytes32", "address", "string", "bytes32", "bytes32"],
                         [task_id, to_checksum_address(voter), answer, keccak(result), salt]))


class VoteCommitment:
    def __init__(self, client: ChainClient, contract: Contract) -> None:
        self.client = client
        self.contract = contract
        self.address = contract.address

    def start_reveal(self, task_id: bytes) -> TxReceipt:
        return self.client.transact(self.contract.functions.startReveal(task_id))

    def reveal(self, task_id: bytes, answer: str, result: bytes, salt: bytes) -> TxReceipt:
        """Open the delivered commitment; the reveal that completes the vote also finalizes it."""
        return self.client.transact(self.contract.functions.reveal(task_id, answer, result, salt), min_gas=REVEAL_MIN_GAS)

    def finalize(self, task_id: bytes) -> TxReceipt:
        """Close a vote whose reveal window is over with reveals missing."""
        return self.client.transact(self.contract.functions.finalize(task_id))

    def get(self, task_id: bytes) -> VoteInfo:
        return VoteInfo.from_tuple(self.client.call(self.contract.functions.getVote(task_id)))

    def voters(self, task_id: bytes) -> list[Voter]:
        return [Voter(int(b), int(p), bool(r), bool(a), str(s)) for b, p, r, a, s in self.client.call(self.contract.functions.votersOf(task_id))]
