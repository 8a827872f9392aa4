"""The requester's side of the protocol, for any kind of task: post a task, drive each step to a delivery, settle the vote.

Why one module: a reasoning question (agents.requester) and a pump-and-dump detection request
(marl_detector.committee) differ only in what their chains carry and how answers are read; posting every chain in
one transaction, closing a chain's first step on the chain's clock, re-opening a step nobody could take, reclaiming
an executor that missed its deadline and waiting out the vote are the same protocol, with the same pitfalls
(chain time vs local time, steps another party may advance first), and live here once.

What the requester does per task (docs/protocol.md): one `postTask`, one `close` per chain (later steps are assigned
inside their predecessor's delivery), `reopen` for a step that found nobody, `reclaimExpired` for a late executor,
and nothing for the vote unless a voter stays silent (the reveal that completes a vote finalizes it).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable, Sequence

from pydantic import BaseModel, Field

from agents.event_router import EventRouter
from agents.progress import Progress, ProgressSink, ignore
from chain.bindings import SymphonyContracts
from chain.bindings.beacon import BeaconStatus, ChainSpec, PostedTask, step_of
from chain.bindings.vote import VotePhase
from chain.events import ChainEvent, EventSource, EventStream
from chain.reverts import ContractRevert
from core.errors import SymphonyError

# Reverts that only say "not due (yet) or done already": another party (a worker's keeper, the predecessor's delivery,
# the last reveal) made the move first, or its time has not come. Anyone driving a task forward ignores them.
NOT_DUE = frozenset({"WrongPhase", "RevealNotOver", "CommitWindowOpen", "WrongStatus", "DeadlineNotPassed",
                     "NothingToWithdraw", "PredecessorPending", "BiddingOpen"})


class AuctionSettings(BaseModel):
    bid_window_s: int = Field(1, ge=1, le=1800)
    exec_window_s: int = Field(600, ge=1)
    executors: int = Field(1, ge=1, le=8)
    max_reposts: int = Field(20, ge=0, description="re-open a step nobody could take (agents busy) this many times")
    repost_delay_s: float = Field(1.0, ge=0)
    reward_wei: int = Field(0, ge=0, description="wei per delivered slot (10 % on top is the burned posting fee)")
    vote_timeout_s: float = Field(600.0, gt=0)
    poll_interval_s: float = Field(0.1, gt=0, le=30, description="how often the requester asks the chain for new events")


class AskFailed(SymphonyError):
    """The task could not be completed (no agents, every chain failed, vote not finalized in time)."""


class AskCancelled(AskFailed):
    """The requester was told to stop (Ctrl-C, SIGTERM): it posts, re-opens and reclaims nothing more."""


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


@dataclass(frozen=True)
class Delivery:
    """A step's first delivery: a non-final step's ResultSubmitted, or a final step's VoteCommitted."""

    beacon_id: int
    agent: str
    result: bytes | None  # None for a final step (its result is revealed with the vote)
    event: ChainEvent


class BeaconAuction:
    """Posts tasks for one requester account and follows their TaskBeacon/VoteCommitment events."""

    def __init__(self, contracts: SymphonyContracts, settings: AuctionSettings, *, name: str = "requester") -> None:
        self.contracts = contracts
        self.settings = settings
        beacon, vote = contracts.beacon.contract, contracts.vote.contract
        stream = EventStream(contracts.client.w3, f"{name}:{contracts.client.address}:{uuid.uuid4().hex[:8]}",
                             [EventSource(beacon.address, beacon.abi), EventSource(vote.address, vote.abi)],
                             start_block=contracts.client.w3.eth.block_number)
        self.router = EventRouter(stream, poll_interval=settings.poll_interval_s).start()
        self.receipts: list = []
        self._clock_offset = 0.0  # chain time minus local time, learned from our own blocks
        self._cancelled = threading.Event()
        self.progress: ProgressSink = ignore  # the ask in progress sets it (agents.progress)

    def close(self) -> None:
        self.router.stop()

    # -- cancelling ------------------------------------------------------------------------------------------
    def cancel(self) -> None:
        """Stop driving tasks: every wait below ends within half a second with AskCancelled, and nothing new is
        sent. (Callable from any thread; a signal handler should only set a flag that a thread then passes on.)"""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def _check(self) -> None:
        if self._cancelled.is_set():
            raise AskCancelled("cancelled")

    def _sleep(self, seconds: float) -> None:
        """Sleep, but end at once (AskCancelled) when cancelled."""
        if self._cancelled.wait(max(seconds, 0.0)):
            raise AskCancelled("cancelled")

    # -- clock and transactions ------------------------------------------------------------------------------
    def chain_now(self) -> float:
        """The timestamp the next block will (at least) carry: local time plus the chain's observed lead.

        Why: deadlines are in block time, and a chain's clock can run ahead of ours (anvil after
        evm_increaseTime, a testnet's skew); waiting on local time alone would close steps too early.
        """
        return time.time() + self._clock_offset

    def tx(self, timer: ChainTimer, fn: Callable, *args, **kwargs):
        """Send one transaction through a binding method; keeps the receipt and learns the chain's clock."""
        start = time.perf_counter()
        out = fn(*args, **kwargs)  # ChainClient serialises transactions (nonces) itself
        receipt = out.receipt if isinstance(out, PostedTask) else out
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

    # -- a task ------------------------------------------------------------------------------------------------
    def post_task(self, timer: ChainTimer, chains: Sequence[ChainSpec], *, kind: bytes = bytes(32)) -> PostedTask:
        s = self.settings
        return self.tx(timer, self.contracts.beacon.post_task, chains, bid_window=s.bid_window_s, exec_window=s.exec_window_s,
                       executors=s.executors, reward=s.reward_wei, kind=kind)

    def deliver_step(self, timer: ChainTimer, beacon_id: int) -> Delivery:
        """Drive one step until its first delivery: close it once closable, re-open it while nobody could take
        it, reclaim it past its deadline. The predecessor (if any) must already have delivered."""
        reposts, announced = 0, False
        while True:
            self._check()
            info = self.contracts.beacon.get(beacon_id)
            where = {"beacon": beacon_id, "chain": info.cot_index, "step": info.step_index}
            if info.status == BeaconStatus.BIDDING:
                self._close_after_window(timer, beacon_id, info.bid_deadline)
            elif info.status == BeaconStatus.UNFILLED:
                if reposts >= self.settings.max_reposts:
                    raise AskFailed(f"nobody could take step {info.step_index} of chain {info.cot_index} "
                                    f"after {reposts + 1} bid windows")
                reposts += 1
                self._sleep(self.settings.repost_delay_s)
                self._try(timer, self.contracts.beacon.reopen, beacon_id, self.settings.bid_window_s,
                          reward=info.reward_per_executor, executors=info.executors)
                self.progress(Progress("reopened", f"chain {info.cot_index} step {info.step_index}: nobody took beacon "
                                       f"{beacon_id}; re-opened ({reposts} of {self.settings.max_reposts})",
                                       {**where, "reposts": reposts}))
                announced = False
            else:
                if not announced:
                    self._announce_assignment(beacon_id, where)
                    announced = True
                delivered = self._await_delivery(timer, beacon_id, info.is_final)
                if delivered is not None:
                    kind = "committed" if info.is_final else "delivered"
                    what = "delivered and committed its vote" if info.is_final else "delivered its result"
                    self.progress(Progress(kind, f"chain {info.cot_index} step {info.step_index}: {delivered.agent} {what}",
                                           {**where, "agent": delivered.agent}))
                    return delivered

    def _announce_assignment(self, beacon_id: int, where: dict) -> None:
        bids = [{"agent": b.agent, "score": b.score / 1e18} for b in self.contracts.beacon.bids(beacon_id)]
        executors = self.contracts.beacon.executors(beacon_id)
        shown = ", ".join(f"{b['agent'][:10]} {b['score']:.3f}" for b in bids) or "none"
        self.progress(Progress("assigned", f"chain {where['chain']} step {where['step']}: beacon {beacon_id} bids "
                               f"[{shown}] -> {', '.join(e[:10] for e in executors)}",
                               {**where, "bids": bids, "executors": list(executors)}))

    def _await_delivery(self, timer: ChainTimer, beacon_id: int, is_final: bool) -> Delivery | None:
        """The first delivery of an assigned step, or None after reclaiming it (the caller looks at it again)."""
        info = self.contracts.beacon.get(beacon_id)
        remaining = max(info.exec_deadline - self.chain_now() + 1, 0.5)
        # A final delivery made after the vote left its commit phase is a LateCommitment, not a VoteCommitted: still
        # the step's delivery (the beacon completes), and without it the wait spun for ever on a completed step.
        names = ("VoteCommitted", "LateCommitment") if is_final else ("ResultSubmitted",)
        until = time.monotonic() + remaining
        event = None
        while event is None and time.monotonic() < until:  # in slices, so a cancel ends the wait
            self._check()
            event = self.wait(None, lambda e: e.name in names and int(e.args["beaconId"]) == beacon_id,
                              min(until - time.monotonic(), 0.5))
        if event is not None:
            result = None if is_final else event.bytes_arg("result")
            return Delivery(beacon_id, event.args["voter" if is_final else "agent"], result, event)
        if info.status == BeaconStatus.ASSIGNED and self.chain_now() > info.exec_deadline:
            self._try(timer, self.contracts.beacon.reclaim_expired, beacon_id)
            self.progress(Progress("reclaimed", f"chain {info.cot_index} step {info.step_index}: the executor missed its "
                                   f"deadline; beacon {beacon_id} reclaimed",
                                   {"beacon": beacon_id, "chain": info.cot_index, "step": info.step_index}))
            if self.contracts.beacon.get(beacon_id).status == BeaconStatus.UNFILLED and info.delivered == 0:
                return None  # every executor missed its deadline and nobody was left: re-open it
        return None

    def _close_after_window(self, timer: ChainTimer, beacon_id: int, bid_deadline: int) -> None:
        wait = bid_deadline + 1 - self.chain_now()  # close needs a block with timestamp > bidDeadline
        if wait > 0:
            start = time.perf_counter()
            try:
                self._sleep(wait)
            finally:
                timer.add("auction", time.perf_counter() - start)
        for _ in range(50):
            self._check()
            try:
                self.tx(timer, self.contracts.beacon.close, beacon_id)
                return
            except ContractRevert as exc:
                if exc.error_name == "BiddingOpen":
                    time.sleep(0.1)
                    continue
                if exc.error_name == "WrongStatus":  # the predecessor's delivery (or somebody else) closed it
                    return
                if exc.error_name == "PredecessorPending" and step_of(beacon_id) > 0:
                    time.sleep(0.2)
                    continue
                raise
        raise AskFailed(f"beacon {beacon_id} could not be closed")

    def abandon(self, timer: ChainTimer, beacon_ids: Sequence[int]) -> None:
        """Close the steps after an Unfilled one as Unfilled too (the requester may), in chain order."""
        for beacon_id in beacon_ids:
            self._try(timer, self.contracts.beacon.close, beacon_id)

    def executor_score(self, beacon_id: int, agent: str) -> int:
        """The on-chain bid score the executor won `beacon_id` with (its weight in the chain)."""
        return next((b.score for b in self.contracts.beacon.bids(beacon_id) if b.agent == agent), 0)

    # -- the vote ----------------------------------------------------------------------------------------------
    def settle_vote(self, task_id: bytes, timer: ChainTimer) -> None:
        """Wait until the task's vote is finalized. The contracts end each phase as soon as every live final slot
        has acted; the requester only starts the reveal phase or finalizes after a window ran out."""
        tid = "0x" + task_id.hex()
        vote = self.contracts.vote
        deadline = time.monotonic() + self.settings.vote_timeout_s
        seen: set[str] = set()
        while time.monotonic() < deadline:
            self._check()
            info = vote.get(task_id)
            if info.phase == VotePhase.FINALIZED:
                for beacon_id, (voter, answer, _result, weight) in sorted(self.reveals(task_id).items()):
                    self._announce_reveal(beacon_id, voter, answer, weight, seen)  # any the event wait missed
                self.progress(Progress("finalized", f"vote finalized: {info.winning_answer!r} with weight "
                                       f"{info.winning_weight / 1e18:.3f} of {info.total_weight / 1e18:.3f}",
                                       {"answer": info.winning_answer, "weight": info.winning_weight / 1e18,
                                        "total_weight": info.total_weight / 1e18}))
                return
            if info.phase == VotePhase.COMMIT and (info.commits >= info.expected_voters or self.chain_now() > info.commit_deadline + 1):
                self._try(timer, vote.start_reveal, task_id)
            elif info.phase == VotePhase.REVEAL and self.chain_now() > info.reveal_deadline + 1:
                self._try(timer, vote.finalize, task_id)
            elif info.phase == VotePhase.NONE and info.expected_voters == 0:
                raise AskFailed("no chain produced a final delivery to vote on")
            event = self.wait(timer, lambda e: e.name in ("VoteCommitted", "RevealPhaseStarted", "VoteRevealed", "VoteFinalized")
                              and e.args["taskId"] == tid, 1.0)
            if event is not None and event.name in ("RevealPhaseStarted", "VoteRevealed"):
                self._announce_vote(event, seen)
        raise AskFailed(f"the vote on task {tid} was not finalized within {self.settings.vote_timeout_s:.0f} s")

    def _announce_vote(self, event: ChainEvent, seen: set[str]) -> None:
        if event.name == "RevealPhaseStarted":
            if "reveal" not in seen:
                seen.add("reveal")
                self.progress(Progress("reveal_started", "the commit phase is over: reveal phase started"))
        else:
            self._announce_reveal(int(event.args["beaconId"]), event.args["voter"], event.args["answer"],
                                  int(event.args["weight"]), seen)

    def _announce_reveal(self, beacon_id: int, voter: str, answer: str, weight: int, seen: set[str]) -> None:
        if f"revealed:{beacon_id}" in seen:
            return
        seen.add(f"revealed:{beacon_id}")
        self.progress(Progress("revealed", f"{voter[:10]} revealed {answer!r} (weight {weight / 1e18:.3f})",
                               {"beacon": beacon_id, "agent": voter, "answer": answer, "weight": weight / 1e18}))

    def reveals(self, task_id: bytes) -> dict[int, tuple[str, str, bytes, int]]:
        """Every reveal of the task's vote, by final beacon id: (voter, answer, result, counted weight)."""
        events = self.contracts.vote.contract.events.VoteRevealed().get_logs(
            from_block=self.contracts.manifest.deploy_block, argument_filters={"taskId": task_id})
        return {int(e["args"]["beaconId"]): (e["args"]["voter"], e["args"]["answer"], bytes(e["args"]["result"]),
                                             int(e["args"]["weight"])) for e in events}

    def collect_credit(self, timer: ChainTimer) -> None:
        """Withdraw refunds credited to this requester (unfilled or reclaimed slots), if any."""
        if self.contracts.beacon.credits(self.contracts.client.address) > 0:
            self._try(timer, self.contracts.beacon.withdraw_credit)

    def cancel_task(self, timer: ChainTimer, task_id: bytes) -> None:
        """End a task on chain after a cancel: its unassigned steps close with their escrow credited back (a task
        already settled has nothing left to close)."""
        try:
            self.tx(timer, self.contracts.beacon.cancel_task, task_id)
        except ContractRevert as exc:
            if exc.error_name not in ("AlreadySettled", "TaskIsCancelled"):
                raise

    def _try(self, timer: ChainTimer, fn: Callable, *args, **kwargs) -> None:
        try:
            self.tx(timer, fn, *args, **kwargs)
        except ContractRevert as exc:
            if exc.error_name not in NOT_DUE:
                raise

    def gas_and_hashes(self) -> tuple[int, list[str]]:
        return sum(int(r["gasUsed"]) for r in self.receipts), [r["transactionHash"].to_0x_hex() for r in self.receipts]
