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
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from eth_utils import keccak
from pydantic import Field

from agents.answer_format import infer_format
from agents.auction import AskFailed, AuctionSettings, BeaconAuction, ChainTimer
from agents.payloads import ResultPayload, StepResult, SubtaskPayload
from agents.planner import Plan, Planner
from chain.bindings import SymphonyContracts
from core.errors import SymphonyError

log = logging.getLogger("symphony.requester")

__all__ = ["AskFailed", "AskResult", "ChainRecord", "ChainTimer", "Requester", "RequesterSettings", "StepRecord"]


class RequesterSettings(AuctionSettings):
    chains: int = Field(3, ge=1, le=16, description="K independent chains of thought")


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
        self.auction = BeaconAuction(contracts, self.settings)
        self.encode("warm up")  # load the embedding model once, not once per chain thread

    def chain_now(self) -> float:
        return self.auction.chain_now()

    def close(self) -> None:
        self.auction.close()

    # -- one step ------------------------------------------------------------------------------------------
    def _run_step(self, task_id: bytes, chain: ChainRecord, index: int, timer: ChainTimer) -> StepRecord:
        auction = self.auction
        record = StepRecord(chain.plan.steps[index])
        previous = tuple(StepResult(p.step, (p.result.answer or p.result.output) if p.result else "") for p in chain.steps)
        payload = SubtaskPayload(self._question, chain.plan.steps, index, previous, final=index == len(chain.plan.steps) - 1,
                                 answer_format=self._format)
        data = payload.encode(self.contracts.manifest.parameters.get("max_payload_bytes", 8192))
        start = time.perf_counter()
        record.beacon_ids = auction.post_until_assigned(timer, task_id, chain.cot_index, index, self.encode(record.step), data,
                                                        is_final=payload.final)
        beacon_id = record.beacon_ids[-1]
        assigned_at = time.perf_counter()
        result_event = auction.await_result(beacon_id, timer)
        record.executor = result_event.args["agent"]
        record.score = auction.executor_score(beacon_id, record.executor)
        record.result = ResultPayload.decode(result_event.bytes_arg("result"))
        # Time between assignment and the result event that the executor did not spend computing: event delivery
        # to the agent, its submit transaction, event delivery back to us (the executor reports its own seconds).
        timer.add("chain", max(time.perf_counter() - assigned_at - record.result.seconds, 0.0))
        record.seconds = time.perf_counter() - start
        return record

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

    # -- the whole question ----------------------------------------------------------------------------------
    def ask(self, question: str, *, on_progress: Callable[[str], None] | None = None) -> AskResult:
        progress = on_progress or (lambda _m: None)
        started = time.perf_counter()
        self._question = question
        self._format = infer_format(question)
        self.auction.receipts = []
        timer = ChainTimer()
        task_id = keccak(f"{question}|{uuid.uuid4()}".encode())
        t0 = time.perf_counter()
        plans, planner_tokens = self.planner.plans(question, self.settings.chains)
        planner_seconds = time.perf_counter() - t0
        progress(f"planned {len(plans)} chains ({sum(p.source == 'llm' for p in plans)} by the LLM planner) in {planner_seconds:.1f} s")
        chains = [ChainRecord(i, plan) for i, plan in enumerate(plans)]
        # Claim the task and declare K voters up front, so a fast chain cannot close the vote before a slow one.
        self.auction.tx(timer, self.contracts.beacon.open_task, task_id, len(chains))
        with ThreadPoolExecutor(max_workers=len(chains)) as pool:
            done = list(pool.map(lambda c: self._run_chain(task_id, c, timer), chains))
        for c in done:
            progress(f"chain {c.cot_index}: " + (f"answer {c.answer!r}, weight {c.weight / 1e18:.3f}" if not c.error else f"failed: {c.error}"))
        # Abstaining chains vote too (an empty answer); an agent that ended two chains casts one vote.
        voters = len({c.steps[-1].executor for c in done if c.error is None and c.steps})
        answer, winning, total = None, 0, 0
        if voters:
            self.auction.settle_vote(task_id, voters, timer)
            info = self.contracts.vote.get(task_id)
            answer, winning, total = info.winning_answer or None, info.winning_weight, info.total_weight
        gas, hashes = self.auction.gas_and_hashes()
        return AskResult(question, "0x" + task_id.hex(), answer, winning, total, done, hashes, gas, time.perf_counter() - started,
                         planner_seconds, planner_tokens, timer)
