"""Typed binding of TaskBeacon: post, bid, close, submit, reclaim; views of beacons, bids and chain weights."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import TxReceipt

from chain.client import ChainClient


class BeaconStatus(IntEnum):
    NONE = 0
    BIDDING = 1
    ASSIGNED = 2
    COMPLETED = 3
    UNFILLED = 4


@dataclass(frozen=True)
class BeaconInfo:
    task_id: bytes
    cot_index: int
    step_index: int
    executors: int
    reputation_weighted: bool
    is_final: bool
    status: BeaconStatus
    requester: str
    requirement: bytes
    payload_hash: bytes
    bid_deadline: int
    exec_deadline: int
    exec_window: int
    reward: int
    delivered: int

    @classmethod
    def from_tuple(cls, raw: tuple) -> "BeaconInfo":
        v = list(raw)
        v[0], v[8], v[9] = bytes(v[0]), bytes(v[8]), bytes(v[9])
        v[6] = BeaconStatus(v[6])
        return cls(*v)


@dataclass(frozen=True)
class Bid:
    agent: str
    score: int


class TaskBeacon:
    def __init__(self, client: ChainClient, contract: Contract) -> None:
        self.client = client
        self.contract = contract
        self.address = contract.address

    def post(
        self,
        task_id: bytes,
        cot_index: int,
        step_index: int,
        requirement: bytes,
        payload: bytes,
        *,
        bid_window: int,
        exec_window: int,
        executors: int = 1,
        reputation_weighted: bool = False,
        is_final: bool = False,
        reward: int = 0,
    ) -> tuple[int, TxReceipt]:
        """Post a beacon; returns (beacon id, receipt)."""
        fn = self.contract.functions.postBeacon(
            task_id, cot_index, step_index, requirement, payload, bid_window, exec_window, executors, reputation_weighted, is_final
        )
        receipt = self.client.transact(fn, value=reward)
        (event,) = self.contract.events.BeaconPosted().process_receipt(receipt, errors=DISCARD)
        return int(event["args"]["beaconId"]), receipt

    def open_task(self, task_id: bytes, expected_voters: int) -> TxReceipt:
        """Claim `task_id` and declare how many final voters (chains) its vote waits for."""
        return self.client.transact(self.contract.functions.openTask(task_id, expected_voters))

    def task_requester(self, task_id: bytes) -> str:
        return self.client.call(self.contract.functions.taskRequester(task_id))

    def expected_voters(self, task_id: bytes) -> int:
        return self.client.call(self.contract.functions.expectedVoters(task_id))

    def bid(self, beacon_id: int) -> TxReceipt:
        return self.client.transact(self.contract.functions.bid(beacon_id))

    def close(self, beacon_id: int) -> TxReceipt:
        return self.client.transact(self.contract.functions.close(beacon_id))

    def submit_result(self, beacon_id: int, result: bytes) -> TxReceipt:
        return self.client.transact(self.contract.functions.submitResult(beacon_id, result))

    def reclaim_expired(self, beacon_id: int) -> TxReceipt:
        return self.client.transact(self.contract.functions.reclaimExpired(beacon_id))

    def get(self, beacon_id: int) -> BeaconInfo:
        return BeaconInfo.from_tuple(self.client.call(self.contract.functions.getBeacon(beacon_id)))

    def count(self) -> int:
        return self.client.call(self.contract.functions.beaconCount())

    def bids(self, beacon_id: int) -> list[Bid]:
        return [Bid(a, int(s)) for a, s in self.client.call(self.contract.functions.getBids(beacon_id))]

    def executors(self, beacon_id: int) -> list[str]:
        return list(self.client.call(self.contract.functions.executorsOf(beacon_id)))

    def is_executor(self, beacon_id: int, agent: str) -> bool:
        return self.client.call(self.contract.functions.isExecutor(beacon_id, agent))

    def result_hash(self, beacon_id: int, agent: str) -> bytes:
        return bytes(self.client.call(self.contract.functions.resultHashOf(beacon_id, agent)))

    def chain_weight(self, task_id: bytes, cot_index: int) -> int:
        return self.client.call(self.contract.functions.chainWeight(task_id, cot_index))

    def final_executor_count(self, task_id: bytes) -> int:
        return self.client.call(self.contract.functions.finalExecutorCount(task_id))
