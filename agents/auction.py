"""The requester's side of the protocol, for any kind of task: auction a beacon, collect its result, settle the vote.

Why one module: a reasoning question (agents.requester) and a pump-and-dump detection request
(marl_detector.committee) differ only in what their beacons carry and how answers are read; posting a
beacon until somebody takes it, closing its bid window on the chain's clock, reclaiming an executor that missed
its deadline and driving the commit-reveal vote to its end are the same protocol, with the same pitfalls
(chain time vs local time, phases that another party may advance first), and live here once.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

from pydantic import BaseModel, Field

from agents.event_router import EventRouter
from chain.bindings import SymphonyContracts
from chain.bindings.vote import VotePhase
from core.errors import SymphonyError
from chain.events import ChainEvent, EventSource, EventStream
from chain.reverts import ContractRevert


class AuctionSettings(BaseModel):
    bid_window_s: int = Field(1, ge=1)
    exec_window_s: int = Field(600, ge=1)
    executors: int = Field(1, ge=1, le=8)
    reputation_weighted: bool = True
    max_reposts: int = Field(20, ge=0, description="re-post a beacon nobody bid on (agents busy) this many times")
    repost_delay_s: float = Field(1.0, ge=0)
    reward_wei: int = Field(0, ge=0)
    vote_timeout_s: float = Field(600.0, gt=0)


class AskFailed(SymphonyError):
    """The task could not be completed (no agents, every chain failed, vote not finalized in time)."""


@dataclass
class ChainTimer:
    """Wall time spent waiting on the chain (transactions, calls, events) vs in auction windows."""

    chain_seconds: float = 0.0
    auction_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float) -> None:
        with self.lock:
            if kind == "auction":
                self.auction_seconds += seconds
            else:
                self.chain_seconds += seconds


class BeaconAuction:
    """Posts beacons for one requester account and follows their TaskBeacon/VoteCommitment events."""

    def __init__(self, contracts: SymphonyContracts, settings: AuctionSettings, *, name: str = "requester") -> None:
        self.contracts = contracts
        self.settings = settings
        beacon, vote = contracts.beacon.contract, contracts.vote.contract
        stream = EventStream(contracts.client.w3, f"{name}:{contracts.client.address}:{uuid.uuid4().hex[:8]}",
                             [EventSource(beacon.address, beacon.abi), EventSource(vote.address, vote.abi)],
                             start_block=contracts.client.w3.eth.block_number)
        self.router = EventRouter(stream, poll_interval=0.05).start()
        self.receipts: list = []
        self._clock_offset = 0.0  # chain time minus local time, learned from our own blocks

    def close(self) -> None:
        self.router.stop()

    # -- clock and transactions ------------------------------------------------------------------------------
    def chain_now(self) -> float:
        """The timestamp the next block will (at least) carry: local time plus the chain's observed lead.

        Why: deadlines are in block time, and a chain's clock can run ahead of ours (anvil after
        evm_increaseTime, a testnet's skew); waiting on local time alone would close beacons too early.
        """
        return time.time() + self._clock_offset

    def tx(self, timer: ChainTimer, fn: Callable, *args, **kwargs):
        """Send one transaction through a binding method; keeps the receipt and learns the chain's clock."""
        start = time.perf_counter()
        out = fn(*args, **kwargs)  # ChainClient serialises transactions (nonces) itself
        receipt = out[1] if isinstance(out, tuple) else out
        self.receipts.append(receipt)
        block = self.contracts.client.w3.eth.get_block(receipt["blockNumber"])
        # Block timestamps are whole seconds, so the newest observation is within a second of the truth.
        self._clock_offset = float(block["timestamp"]) - time.time()
        timer.add("chain", time.perf_counter() - start)
        return out

    def wait(self, timer: ChainTimer | None, predicate: Callable[[ChainEvent], bool], timeout: float) -> ChainEvent | None:
        """Wait for an event; counted as chain time only when `timer` is given (waiting on the chain itself)."""
        start = time.perf_counter()
        event = self.router.wait_for(predicate, timeout)
        if timer is not None:
            timer.add("chain", time.perf_counter() - start)
        return event

    # -- one beacon --------------------------------------------------------------------------------------------
    def post_until_assigned(self, timer: ChainTimer, task_id: bytes, cot_index: int, step_index: int, requirement: bytes,
                            payload: bytes, *, is_final: bool) -> list[int]:
        """Post the beacon, close it after its bid window, and re-post while nobody bid (every agent busy).

        Returns every beacon id posted for this step; the last one has executors assigned.
        """
        s = self.settings
        posted: list[int] = []
        for _ in range(s.max_reposts + 1):
            beacon_id, _ = self.tx(timer, self.contracts.beacon.post, task_id, cot_index, step_index, requirement, payload,
                                   bid_window=s.bid_window_s, exec_window=s.exec_window_s, executors=s.executors,
                                   reputation_weighted=s.reputation_weighted, is_final=is_final, reward=s.reward_wei)
            posted.append(beacon_id)
            self.close_after_window(beacon_id, timer)
            unfilled = self.router.wait_for(lambda e, b=beacon_id: e.name == "BeaconUnfilled" and e.args["beaconId"] == b, 0.0)
            if unfilled is None and self.contracts.beacon.executors(beacon_id):
                return posted
            time.sleep(s.repost_delay_s)
        raise AskFailed(f"no agent bid on step {step_index + 1} of chain {cot_index} after {s.max_reposts + 1} beacons")

    def close_after_window(self, beacon_id: int, timer: ChainTimer) -> None:
        deadline = self.contracts.beacon.get(beacon_id).bid_deadline
        wait = deadline + 1 - self.chain_now()  # close needs a block with timestamp > bidDeadline
        if wait > 0:
            start = time.perf_counter()
            time.sleep(wait)
            timer.add("auction", time.perf_counter() - start)
        for _ in range(50):
            try:
                self.tx(timer, self.contracts.beacon.close, beacon_id)
                return
            except ContractRevert as exc:
                if exc.error_name == "BiddingOpen":
                    time.sleep(0.1)
                    continue
                if exc.error_name == "WrongStatus":  # somebody else closed it
                    return
                raise
        raise AskFailed(f"beacon {beacon_id} could not be closed")

    def await_result(self, beacon_id: int, timer: ChainTimer) -> ChainEvent:
        """The first result for the beacon; past the exec deadline, reclaim (reassign) and keep waiting."""
        while True:
            info = self.contracts.beacon.get(beacon_id)
            remaining = max(info.exec_deadline - self.chain_now() + 1, 0.5)
            event = self.wait(None, lambda e: e.name == "ResultSubmitted" and e.args["beaconId"] == beacon_id, remaining)
            if event is not None:
                return event
            try:
                self.tx(timer, self.contracts.beacon.reclaim_expired, beacon_id)
            except ContractRevert as exc:
                if exc.error_name not in ("DeadlineNotPassed", "WrongStatus"):
                    raise
            if self.contracts.beacon.get(beacon_id).status.name == "UNFILLED":
                raise AskFailed(f"beacon {beacon_id}: every executor missed its deadline and no bidder was left")

    def executor_score(self, beacon_id: int, agent: str) -> int:
        """The on-chain bid score the executor won `beacon_id` with (its weight in the chain)."""
        return next((b.score for b in self.contracts.beacon.bids(beacon_id) if b.agent == agent), 0)

    # -- the vote ----------------------------------------------------------------------------------------------
    def settle_vote(self, task_id: bytes, voters: int, timer: ChainTimer) -> None:
        """Drive the vote to its end. `voters` is the number of distinct final executors of finished chains: once
        that many committed, the requester (the task's owner) starts the reveal phase instead of waiting out the
        window for chains that failed."""
        tid = "0x" + task_id.hex()
        vote = self.contracts.vote
        deadline = time.monotonic() + self.settings.vote_timeout_s
        while time.monotonic() < deadline:
            info = vote.get(task_id)
            if info.phase == VotePhase.FINALIZED:
                return
            if info.phase == VotePhase.COMMIT and (info.commits >= voters or self.chain_now() > info.commit_deadline + 1):
                self._try(timer, vote.start_reveal, task_id)
            elif info.phase == VotePhase.REVEAL and (info.reveals >= info.commits or self.chain_now() > info.reveal_deadline + 1):
                self._try(timer, vote.finalize, task_id)
            elif info.phase == VotePhase.NONE and voters == 0:
                raise AskFailed("no chain produced an answer to vote on")
            self.wait(timer, lambda e: e.name in ("VoteCommitted", "RevealPhaseStarted", "VoteRevealed", "VoteFinalized") and e.args["taskId"] == tid, 1.0)
        raise AskFailed(f"the vote on task {tid} was not finalized within {self.settings.vote_timeout_s:.0f} s")

    def _try(self, timer: ChainTimer, fn: Callable, *args) -> None:
        try:
            self.tx(timer, fn, *args)
        except ContractRevert as exc:
            if exc.error_name not in ("WrongPhase", "RevealNotOver", "CommitWindowOpen"):
                raise

    def gas_and_hashes(self) -> tuple[int, list[str]]:
        return sum(int(r["gasUsed"]) for r in self.receipts), [r["transactionHash"].to_0x_hex() for r in self.receipts]
