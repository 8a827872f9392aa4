"""Typed binding of VoteCommitment: commit, reveal, finalize, with the commitment computed locally."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from eth_abi import encode
from eth_utils import keccak, to_checksum_address
from web3.contract import Contract
from web3.types import TxReceipt

from chain.client import ChainClient


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


def commitment(task_id: bytes, voter: str, answer: str, cot_hash: bytes, salt: bytes) -> bytes:
    """keccak256(abi.encode(taskId, voter, answer, cotHash, salt)) — the same bytes the contract checks at reveal."""
    return keccak(encode(["bytes32", "address", "string", "bytes32", "bytes32"], [task_id, to_checksum_address(voter), answer, cot_hash, salt]))


class VoteCommitment:
    def __init__(self, client: ChainClient, contract: Contract) -> None:
        self.client = client
        self.contract = contract
        self.address = contract.address

    def commit(self, task_id: bytes, beacon_id: int, answer: str, cot_hash: bytes, salt: bytes) -> TxReceipt:
        digest = commitment(task_id, self.client.address, answer, cot_hash, salt)
        return self.client.transact(self.contract.functions.commit(task_id, beacon_id, digest))

    def start_reveal(self, task_id: bytes) -> TxReceipt:
        return self.client.transact(self.contract.functions.startReveal(task_id))

    def reveal(self, task_id: bytes, answer: str, cot_hash: bytes, salt: bytes) -> TxReceipt:
        return self.client.transact(self.contract.functions.reveal(task_id, answer, cot_hash, salt))

    def finalize(self, task_id: bytes) -> TxReceipt:
        return self.client.transact(self.contract.functions.finalize(task_id))

    def get(self, task_id: bytes) -> VoteInfo:
        return VoteInfo.from_tuple(self.client.call(self.contract.functions.getVote(task_id)))

    def commitment_of(self, task_id: bytes, voter: str) -> bytes:
        return bytes(self.client.call(self.contract.functions.commitmentOf(task_id, voter)))

    def voters(self, task_id: bytes) -> list[str]:
        return list(self.client.call(self.contract.functions.votersOf(task_id)))
