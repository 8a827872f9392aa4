"""Typed binding of TaskBeacon: post a task, bid, close, deliver, reclaim, reopen; views of tasks, steps and bids.

Beacon ids are arithmetic (docs/protocol.md): step `s` of chain `c` is beacon `c · 8 + s`, and a task's chains are
`firstChain .. firstChain + chains - 1`. The helpers below are the one place that rule is written in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Sequence

from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import TxReceipt

from chain.client import ChainClient

MAX_STEPS = 8
# A delivery may assign the next step (ledger reservations for up to 16 bidders) if another party did not first.
DELIVERY_MIN_GAS = 1_500_000
FEE_BPS = 1000  # TaskBeacon.FEE_BPS: the burned posting fee, in basis points of the escrow
ZERO_KIND = bytes(32)


def beacon_id(chain_id: int, step: int) -> int:
    """Beacon id of step `step` of chain `chain_id`."""
    return chain_id * MAX_STEPS + step


def chain_of(beacon: int) -> int:
    return beacon // MAX_STEPS


def step_of(beacon: int) -> int:
    return beacon % MAX_STEPS


def task_value(reward_per_executor: int, executors: int, total_steps: int) -> int:
    """msg.value of postTask: the escrow plus the burned posting fee."""
    escrow = reward_per_executor * executors * total_steps
    return escrow + escrow * FEE_BPS // 10_000


class BeaconStatus(IntEnum):
    NONE = 0
    BIDDING = 1
    ASSIGNED = 2
    COMPLETED = 3
    UNFILLED = 4


@dataclass(frozen=True)
class ChainSpec:
    """One chain of thought as posted: each step's requirement vector (the last step is final) and the payload
    every step of the chain receives."""

    requirements: tuple[bytes, ...]
    payload: bytes


@dataclass(frozen=True)
class PostedTask:
    task_id: bytes
    first_chain: int
    chains: int
    receipt: TxReceipt

    def beacon(self, cot_index: int, step: int) -> int:
        return beacon_id(self.first_chain + cot_index, step)


@dataclass(frozen=True)
class TaskInfo:
    requester: str
    first_chain: int
    chains: int
    expected_voters: int
    settled: bool
    kind: bytes


@dataclass(frozen=True)
class BeaconInfo:
    task_id: bytes
    chain_id: int
    cot_index: int
    step_index: int
    steps: int
    executors: int
    is_final: bool
    status: BeaconStatus
    requester: str
    requirements_hash: bytes
    kind: bytes
    bid_deadline: int
    exec_deadline: int
    exec_window: int
    reward_per_executor: int
    bids: int
    slots: int
    delivered: int
    rounds: int

    @classmethod
    def from_tuple(cls, raw: tuple) -> "BeaconInfo":
        v = list(raw)
        v[0], v[9], v[10] = bytes(v[0]), bytes(v[9]), bytes(v[10])
        v[7] = BeaconStatus(v[7])
        return cls(*v)


@dataclass(frozen=True)
class Bid:
    agent: str
    score: int
    newcomer: bool = False


class TaskBeacon:
    def __init__(self, client: ChainClient, contract: Contract) -> None:
        self.client = client
        self.contract = contract
        self.address = contract.address

    # -- requester ---------------------------------------------------------------------------------------
    def post_task(
        self,
        chains: Sequence[ChainSpec],
        *,
        bid_window: int,
        exec_window: int,
        executors: int = 1,
        reward: int = 0,
        kind: bytes = ZERO_KIND,
    ) -> PostedTask:
        """Post every chain of a task in one transaction; `reward` is wei per delivered slot (the value sent adds
        the burned 10 % posting fee)."""
        spec = (kind, bid_window, exec_window, executors, reward)
        raw = [([bytes(r) for r in c.requirements], c.payload) for c in chains]
        steps = sum(len(c.requirements) for c in chains)
        receipt = self.client.transact(self.contract.functions.postTask(spec, raw), value=task_value(reward, executors, steps))
        (event,) = self.contract.events.TaskPosted().process_receipt(receipt, errors=DISCARD)
        a = event["args"]
        return PostedTask(bytes(a["taskId"]), int(a["firstChain"]), int(a["chains"]), receipt)

    def close(self, beacon: int) -> TxReceipt:
        return self.client.transact(self.contract.functions.close(beacon))

    def reopen(self, beacon: int, bid_window: int, *, reward: int, executors: int) -> TxReceipt:
        """Re-open an Unfilled step (re-escrow reward · executors plus the fee)."""
        return self.client.transact(self.contract.functions.reopen(beacon, bid_window), value=task_value(reward, executors, 1))

    def withdraw_credit(self) -> TxReceipt:
        return self.client.transact(self.contract.functions.withdrawCredit())

    def cancel_task(self, task_id: bytes) -> TxReceipt:
        """Cancel a task (requester only): unassigned steps close with their escrow credited back; assigned ones
        may still deliver (paid) or time out; nothing is re-opened or re-assigned."""
        return self.client.transact(self.contract.functions.cancelTask(task_id))

    def is_cancelled(self, task_id: bytes) -> bool:
        return bool(self.client.call(self.contract.functions.isCancelled(task_id)))

    # -- agents ------------------------------------------------------------------------------------------
    def bid(self, beacon: int, requirements: Sequence[bytes]) -> TxReceipt:
        """Bid on a step, passing its chain's requirement vectors (from ChainPosted) for the contract to check."""
        return self.client.transact(self.contract.functions.bid(beacon, [bytes(r) for r in requirements]))

    def submit_result(self, beacon: int, result: bytes) -> TxReceipt:
        """Deliver a non-final step (the result is public in ResultSubmitted)."""
        return self.client.transact(self.contract.functions.submitResult(beacon, result), min_gas=DELIVERY_MIN_GAS)

    def commit_result(self, beacon: int, commitment: bytes) -> TxReceipt:
        """Deliver a final step: its vote commitment (chain.bindings.vote.commitment)."""
        return self.client.transact(self.contract.functions.commitResult(beacon, commitment), min_gas=DELIVERY_MIN_GAS)

    def reclaim_expired(self, beacon: int) -> TxReceipt:
        return self.client.transact(self.contract.functions.reclaimExpired(beacon))

    # -- views -------------------------------------------------------------------------------------------
    def get(self, beacon: int) -> BeaconInfo:
        return BeaconInfo.from_tuple(self.client.call(self.contract.functions.getBeacon(beacon)))

    def get_task(self, task_id: bytes) -> TaskInfo:
        r = self.client.call(self.contract.functions.getTask(task_id))
        return TaskInfo(r[0], int(r[1]), int(r[2]), int(r[3]), bool(r[4]), bytes(r[5]))

    def task_count(self) -> int:
        return self.client.call(self.contract.functions.taskCount())

    def task_beacons(self, task_id: bytes) -> list[list[int]]:
        """Beacon ids of every step of every chain of a task, chain by chain."""
        task = self.get_task(task_id)
        out: list[list[int]] = []
        for c in range(task.chains):
            first = self.get(beacon_id(task.first_chain + c, 0))
            out.append([beacon_id(task.first_chain + c, s) for s in range(first.steps)])
        return out

    def task_requester(self, task_id: bytes) -> str:
        return self.client.call(self.contract.functions.taskRequester(task_id))

    def expected_voters(self, task_id: bytes) -> int:
        return self.client.call(self.contract.functions.expectedVoters(task_id))

    def bids(self, beacon: int) -> list[Bid]:
        return [Bid(a, int(s), bool(n)) for a, s, n in self.client.call(self.contract.functions.getBids(beacon))]

    def executors(self, beacon: int) -> list[str]:
        return list(self.client.call(self.contract.functions.executorsOf(beacon)))

    def is_executor(self, beacon: int, agent: str) -> bool:
        return self.client.call(self.contract.functions.isExecutor(beacon, agent))

    def has_delivered(self, beacon: int, agent: str) -> bool:
        return self.client.call(self.contract.functions.hasDelivered(beacon, agent))

    def chain_weight(self, chain_id: int) -> int:
        return self.client.call(self.contract.functions.chainWeight(chain_id))

    def experience_of(self, requester: str, agent: str) -> tuple[int, int]:
        """(good, bad): what `requester`'s tasks saw of `agent` (docs/protocol.md "Requester's view")."""
        good, bad = self.client.call(self.contract.functions.experienceOf(requester, agent))
        return int(good), int(bad)

    def kind_of(self, beacon: int) -> bytes:
        return bytes(self.client.call(self.contract.functions.kindOf(beacon)))

    def credits(self, account: str) -> int:
        return self.client.call(self.contract.functions.credits(account))

    def burned_fees(self) -> int:
        return self.client.call(self.contract.functions.burnedFees())
