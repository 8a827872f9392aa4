"""The requester: plan a question into K chains of subtasks, run them through beacons, settle by weighted vote.

For each chain of thought (in parallel), each step is posted as a beacon whose requirement vector is the
embedding of the step text; agents bid, the best match executes, and the result is carried into the next step's
payload. Final beacons are flagged `isFinal`: their executors commit and reveal their answers, and the
VoteCommitment contract tallies weights (mean on-chain match score along each chain). The requester only
finalizes and reads the outcome; the provenance it returns (agents, scores, weights, tx hashes) can be checked
against the chain by anyone.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from eth_utils import keccak
from pydantic import BaseModel, Field

from agents.event_router import EventRouter
from agents.payloads import ResultPayload, StepResult, SubtaskPayload
from agents.planner import Plan, Planner
from chain.bindings import SymphonyContracts
from chain.bindings.vote import VotePhase
from chain.errors import SymphonyError
from chain.events import ChainEvent, EventSource, EventStream
from chain.reverts import ContractRevert

log = logging.getLogger("symphony.requester")


class RequesterSettings(BaseModel):
    chains: int = Field(3, ge=1, le=16, description="K independent chains of thought")
    bid_window_s: int = Field(1, ge=1)
    exec_window_s: int = Field(600, ge=1)
    executors: int = Field(1, ge=1, le=8)
    reputation_weighted: bool = True
    max_reposts: int = Field(20, ge=0, description="re-post a beacon nobody bid on (agents busy) this many times")
    repost_delay_s: float = Field(1.0, ge=0)
    reward_wei: int = Field(0, ge=0)
    vote_timeout_s: float = Field(600.0, gt=0)


class AskFailed(SymphonyError):
    """The question could not be answered (no agents, every chain failed, vote not finalized in time)."""


@dataclass
class StepRecord:
    step: str
    beacon_ids: list[int] = field(default_factory=list)  # more than one if re-posted
    executor: str | None = None
    score: int = 0
    result: ResultPayload | None = None
    seconds: float = 0.0


@dataclass
class ChainRecord:
    cot_index: int
    plan: Plan
    steps: list[StepRecord] = field(default_factory=list)
    weight: int = 0
    answer: str | None = None
    error: str | None = None


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


@dataclass
class AskResult:
    question: str
    task_id: str
    answer: str | None
    winning_weight: int
    total_weight: int
    chains: list[ChainRecord]
    tx_hashes: list[str]
    gas_used: int
    seconds: float
    planner_seconds: float
    planner_tokens: int
    timer: ChainTimer

    @property
    def executor_tokens(self) -> int:
        return sum(s.result.tokens for c in self.chains for s in c.steps if s.result)


class Requester:
    def __init__(self, contracts: SymphonyContracts, planner: Planner, encode: Callable[[str], bytes], settings: RequesterSettings | None = None) -> None:
        self.contracts = contracts
        self.planner = planner
        self.encode = encode
        self.settings = settings or RequesterSettings()
        beacon, vote = contracts.beacon.contract, contracts.vote.contract
        stream = EventStream(contracts.client.w3, f"requester:{contracts.client.address}:{uuid.uuid4().hex[:8]}",
                             [EventSource(beacon.address, beacon.abi), EventSource(vote.address, vote.abi)],
                             start_block=contracts.client.w3.eth.block_number)
        self.router = EventRouter(stream, poll_interval=0.05).start()
        self.encode("warm up")  # load the embedding model once, not once per chain thread
        self._receipts: list = []
        self._clock_offset = 0.0  # chain time minus local time, learned from our own blocks

    def chain_now(self) -> float:
        """The timestamp the next block will (at least) carry: local time plus the chain's observed lead.

        Why: deadlines are in block time, and a chain's clock can run ahead of ours (anvil after
        evm_increaseTime, a testnet's skew); waiting on local time alone would close beacons too early.
        """
        return time.time() + self._clock_offset

    def _learn_clock(self, receipt) -> None:
        block = self.contracts.client.w3.eth.get_block(receipt["blockNumber"])
        # Block timestamps are whole seconds, so the newest observation is within a second of the truth.
        self._clock_offset = float(block["timestamp"]) - time.time()

    def close(self) -> None:
        self.router.stop()

    # -- chain plumbing ------------------------------------------------------------------------------------
    def _tx(self, timer: ChainTimer, fn, *args, **kwargs):
        start = time.perf_counter()
        out = fn(*args, **kwargs)  # ChainClient serialises transactions (nonces) itself
        receipt = out[1] if isinstance(out, tuple) else out
        self._receipts.append(receipt)
        self._learn_clock(receipt)
        timer.add("chain", time.perf_counter() - start)
        return out

    def _wait(self, timer: ChainTimer | None, predicate, timeout: float) -> ChainEvent | None:
        """Wait for an event; counted as chain time only when `timer` is given (waiting on the chain itself)."""
        start = time.perf_counter()
        event = self.router.wait_for(predicate, timeout)
        if timer is not None:
            timer.add("chain", time.perf_counter() - start)
        return event

    # -- one step ------------------------------------------------------------------------------------------
    def _run_step(self, task_id: bytes, chain: ChainRecord, index: int, timer: ChainTimer) -> StepRecord:
        s = self.settings
        record = StepRecord(chain.plan.steps[index])
        previous = tuple(StepResult(p.step, (p.result.answer or p.result.output) if p.result else "") for p in chain.steps)
        payload = SubtaskPayload(self._question, chain.plan.steps, index, previous, final=index == len(chain.plan.steps) - 1)
        data = payload.encode(self.contracts.manifest.parameters.get("max_payload_bytes", 8192))
        requirement = self.encode(record.step)
        start = time.perf_counter()
        for attempt in range(s.max_reposts + 1):
            beacon_id, _ = self._tx(timer, self.contracts.beacon.post, task_id, chain.cot_index, index, requirement, data,
                                    bid_window=s.bid_window_s, exec_window=s.exec_window_s, executors=s.executors,
                                    reputation_weighted=s.reputation_weighted, is_final=payload.final, reward=s.reward_wei)
            record.beacon_ids.append(beacon_id)
            self._close_after_window(beacon_id, timer)
            unfilled = self.router.wait_for(lambda e, b=beacon_id: e.name == "BeaconUnfilled" and e.args["beaconId"] == b, 0.0)
            if unfilled is None and self.contracts.beacon.executors(beacon_id):
                break
            time.sleep(s.repost_delay_s)  # every agent was busy: try again shortly
        else:
            raise AskFailed(f"no agent bid on step {index + 1} of chain {chain.cot_index} after {s.max_reposts + 1} beacons")
        assigned_at = time.perf_counter()
        result_event = self._await_result(beacon_id, timer)
        record.executor = result_event.args["agent"]
        record.score = next((b.score for b in self.contracts.beacon.bids(beacon_id) if b.agent == record.executor), 0)
        record.result = ResultPayload.decode(result_event.bytes_arg("result"))
        # Time between assignment and the result event that the executor did not spend computing: event delivery
        # to the agent, its submit transaction, event delivery back to us (the executor reports its own seconds).
        timer.add("chain", max(time.perf_counter() - assigned_at - record.result.seconds, 0.0))
        record.seconds = time.perf_counter() - start
        return record

    def _close_after_window(self, beacon_id: int, timer: ChainTimer) -> None:
        deadline = self.contracts.beacon.get(beacon_id).bid_deadline
        wait = deadline + 1 - self.chain_now()  # close needs a block with timestamp > bidDeadline
        if wait > 0:
            start = time.perf_counter()
            time.sleep(wait)
            timer.add("auction", time.perf_counter() - start)
        for _ in range(50):
            try:
                self._tx(timer, self.contracts.beacon.close, beacon_id)
                return
            except ContractRevert as exc:
                if exc.error_name == "BiddingOpen":
                    time.sleep(0.1)
                    continue
                if exc.error_name == "WrongStatus":  # somebody else closed it
                    return
                raise
        raise AskFailed(f"beacon {beacon_id} could not be closed")

    def _await_result(self, beacon_id: int, timer: ChainTimer) -> ChainEvent:
        """The first result for the beacon; past the exec deadline, reclaim (reassign) and keep waiting."""
        while True:
            info = self.contracts.beacon.get(beacon_id)
            remaining = max(info.exec_deadline - self.chain_now() + 1, 0.5)
            event = self._wait(None, lambda e: e.name == "ResultSubmitted" and e.args["beaconId"] == beacon_id, remaining)
            if event is not None:
                return event
            try:
                self._tx(timer, self.contracts.beacon.reclaim_expired, beacon_id)
            except ContractRevert as exc:
                if exc.error_name not in ("DeadlineNotPassed", "WrongStatus"):
                    raise
            if self.contracts.beacon.get(beacon_id).status.name == "UNFILLED":
                raise AskFailed(f"beacon {beacon_id}: every executor missed its deadline and no bidder was left")

    def _run_chain(self, task_id: bytes, chain: ChainRecord, timer: ChainTimer) -> ChainRecord:
        try:
            for index in range(len(chain.plan.steps)):
                chain.steps.append(self._run_step(task_id, chain, index, timer))
            final = chain.steps[-1].result
            chain.answer = None if final is None or final.abstained or not final.answer else final.answer
            chain.weight = self.contracts.beacon.chain_weight(task_id, chain.cot_index)
        except (SymphonyError, TimeoutError) as exc:
            chain.error = str(exc)
            log.warning("chain %d failed: %s", chain.cot_index, exc)
        return chain

    # -- the vote ------------------------------------------------------------------------------------------
    def _settle_vote(self, task_id: bytes, voters: int, timer: ChainTimer) -> None:
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
            self._wait(timer, lambda e: e.name in ("VoteCommitted", "RevealPhaseStarted", "VoteRevealed", "VoteFinalized") and e.args["taskId"] == tid, 1.0)
        raise AskFailed(f"the vote on task {tid} was not finalized within {self.settings.vote_timeout_s:.0f} s")

    def _try(self, timer: ChainTimer, fn, *args) -> None:
        try:
            self._tx(timer, fn, *args)
        except ContractRevert as exc:
            if exc.error_name not in ("WrongPhase", "RevealNotOver", "CommitWindowOpen"):
                raise

    # -- the whole question ----------------------------------------------------------------------------------
    def ask(self, question: str, *, on_progress: Callable[[str], None] | None = None) -> AskResult:
        progress = on_progress or (lambda _m: None)
        started = time.perf_counter()
        self._question = question
        self._receipts = []
        timer = ChainTimer()
        task_id = keccak(f"{question}|{uuid.uuid4()}".encode())
        t0 = time.perf_counter()
        plans, planner_tokens = self.planner.plans(question, self.settings.chains)
        planner_seconds = time.perf_counter() - t0
        progress(f"planned {len(plans)} chains ({sum(p.source == 'llm' for p in plans)} by the LLM planner) in {planner_seconds:.1f} s")
        chains = [ChainRecord(i, plan) for i, plan in enumerate(plans)]
        # Claim the task and declare K voters up front, so a fast chain cannot close the vote before a slow one.
        self._tx(timer, self.contracts.beacon.open_task, task_id, len(chains))
        with ThreadPoolExecutor(max_workers=len(chains)) as pool:
            done = list(pool.map(lambda c: self._run_chain(task_id, c, timer), chains))
        for c in done:
            progress(f"chain {c.cot_index}: " + (f"answer {c.answer!r}, weight {c.weight / 1e18:.3f}" if not c.error else f"failed: {c.error}"))
        # Abstaining chains vote too (an empty answer); an agent that ended two chains casts one vote.
        voters = len({c.steps[-1].executor for c in done if c.error is None and c.steps})
        answer, winning, total = None, 0, 0
        if voters:
            self._settle_vote(task_id, voters, timer)
            info = self.contracts.vote.get(task_id)
            answer, winning, total = info.winning_answer or None, info.winning_weight, info.total_weight
        gas = sum(int(r["gasUsed"]) for r in self._receipts)
        hashes = [r["transactionHash"].to_0x_hex() for r in self._receipts]
        return AskResult(question, "0x" + task_id.hex(), answer, winning, total, done, hashes, gas, time.perf_counter() - started,
                         planner_seconds, planner_tokens, timer)
