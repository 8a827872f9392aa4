"""The requester: plan a question into K chains of subtasks, post them as one task, settle by weighted vote.

Every chain of thought is posted at once (one transaction for the whole task): each step is a beacon whose
requirement vector is the embedding of the question (`requirement_text`), and every step of a chain receives
the same payload (the question and the plan); the executor of step i reads steps 0..i-1's results from the chain.
Agents bid, the contract assigns the best-scoring bidders (declared match × verified record), step i+1 is assigned when step i
delivers. A chain's last step is final: its executor delivers a vote commitment and reveals answer and result
together; VoteCommitment tallies chain weights (the lowest bid score along each chain). The provenance returned
(agents, scores, weights, tx hashes) can be checked against the chain by anyone.
"""

from __future__ import annotations

import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Literal

from pydantic import Field, model_validator

from agents.answer_format import infer_format
from agents.auction import AskCancelled, AskFailed, AuctionSettings, BeaconAuction, ChainTimer
from agents.payloads import PayloadError, ResultPayload, SubtaskPayload
from agents.planner import STEP_CHARS, Plan, Planner
from agents.progress import Progress, ProgressSink, ignore
from chain.bindings import SymphonyContracts
from chain.bindings.beacon import BeaconStatus, ChainSpec, PostedTask
from core.errors import SymphonyError

log = logging.getLogger("symphony.requester")

__all__ = ["AskFailed", "AskResult", "ChainRecord", "ChainTimer", "Requester", "RequesterSettings", "StepRecord"]


class RequesterSettings(AuctionSettings):
    chains: int = Field(3, ge=1, le=16, description="K independent chains of thought")
    routing: Literal["question", "step", "random"] = Field(
        "question", description="question: every step's requirement is the embedding of the question; step: of the "
                                "question with the step's text; random: the declared vector of a randomly drawn active "
                                "agent (routing disabled, the benchmark's control)")
    routing_seed: int = 0
    min_plan_steps: int = Field(3, ge=1, le=8, description="the planner's shortest plan")
    max_plan_steps: int = Field(8, ge=1, le=8, description="the planner's longest plan (1: each chain is one agent "
                                "answering the question, what agents as small as the demo's do best)")

    @model_validator(mode="after")
    def _plan_range(self) -> "RequesterSettings":
        if self.min_plan_steps > self.max_plan_steps:
            raise ValueError(f"min_plan_steps {self.min_plan_steps} exceeds max_plan_steps {self.max_plan_steps}")
        return self


def requirement_text(question: str, step: str, routing: str = "question") -> str:
    """What a step's requirement vector embeds.

    Why the question by default: which agent can do a step depends on the kind of question far more than on the
    step's own words ("Compute the result."), and a small planner's words mislead. Measured on the five benchmark
    families with centroid capability vectors: nearest-centroid routing is right for 89 % of questions, 87 % of
    (question + fixed step) texts and 20 % of step texts alone; with SmolLM2-135M's own one-line steps (which copy
    the planner's example, "Compute 3 * (2 + 1)..."), question + step sent a logic question to an arithmetic
    specialist. `routing="step"` is for planners whose steps name distinct skills."""
    return f"{question}\n{step}" if routing == "step" else question


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
        self._random = random.Random(self.settings.routing_seed)

    def requirements(self, question: str, plans: list[tuple[str, ...]]) -> list[tuple[bytes, ...]]:
        """The requirement vector of every step of every plan (see RequesterSettings.routing); each distinct text is
        embedded once (by default every step of every chain embeds the same question)."""
        if self.settings.routing == "random":
            agents = self.contracts.ledger.active_agents()
            if not agents:
                raise AskFailed("no active agents to draw a random assignment from")
            return [tuple(self._random.choice(agents).declared_capability for _ in steps) for steps in plans]
        texts = [[requirement_text(question, step, self.settings.routing) for step in steps] for steps in plans]
        vectors = {text: self.encode(text) for text in dict.fromkeys(t for row in texts for t in row)}
        return [tuple(vectors[t] for t in row) for row in texts]

    @property
    def max_payload_bytes(self) -> int:
        return self.contracts.manifest.parameters.get("max_payload_bytes", 8192)

    def chain_now(self) -> float:
        return self.auction.chain_now()

    def close(self) -> None:
        self.auction.close()

    # -- one chain -----------------------------------------------------------------------------------------
    def _run_chain(self, task: PostedTask, chain: ChainRecord, timer: ChainTimer) -> ChainRecord:
        """Drive the chain's steps one after the other until its final step delivered its commitment."""
        auction = self.auction
        try:
            for index, step in enumerate(chain.plan.steps):
                record = StepRecord(step, [task.beacon(chain.cot_index, index)])
                start = time.perf_counter()
                delivery = auction.deliver_step(timer, record.beacon_ids[-1])
                record.executor = delivery.agent
                record.score = auction.executor_score(record.beacon_ids[-1], delivery.agent)
                if delivery.result is not None:
                    record.result = _decode(delivery.result)
                record.seconds = time.perf_counter() - start
                chain.steps.append(record)
        except (SymphonyError, TimeoutError) as exc:
            chain.error = str(exc)
            log.warning("chain %d failed: %s", chain.cot_index, exc)
            # Give the remaining steps up, so their escrow comes back and the vote stops waiting for this chain.
            auction.abandon(timer, [task.beacon(chain.cot_index, i) for i in range(len(chain.steps) + 1, len(chain.plan.steps))])
        return chain

    def cancel(self) -> None:
        """Stop the ask in progress (from another thread, e.g. on Ctrl-C): nothing more is posted or re-opened."""
        self.auction.cancel()

    def _cancelled(self, task: PostedTask, timer: ChainTimer) -> AskCancelled:
        """After a cancel: end the task on chain (its unassigned steps closed, their escrow credited), withdraw the
        refunds and say, in one line, what is still open."""
        beacon = self.contracts.beacon
        statuses = [beacon.get(b).status for ids in beacon.task_beacons(task.task_id) for b in ids]
        bidding = sum(s in (BeaconStatus.NONE, BeaconStatus.BIDDING) for s in statuses)
        assigned = sum(s == BeaconStatus.ASSIGNED for s in statuses)
        self.auction.cancel_task(timer, task.task_id)
        self.auction.collect_credit(timer)
        number = int.from_bytes(task.task_id, "big")
        return AskCancelled(
            f"cancelled task {number}: nothing more posted; {bidding} unassigned step(s) closed on chain and "
            f"{assigned} still assigned (paid if delivered, reclaimable after their deadline); refunds withdrawn; "
            f"see `symphony task show {number}`")

    def _read_votes(self, task: PostedTask, chains: list[ChainRecord]) -> None:
        """Final results come with the reveals: the answer each chain voted for and the result it came from."""
        reveals = self.auction.reveals(task.task_id)
        for c in chains:
            if c.error is not None or not c.steps:
                continue
            final = c.steps[-1]
            revealed = reveals.get(final.beacon_ids[-1])
            if revealed is None:
                c.error = "the final executor never revealed its vote"
                continue
            _voter, answer, result, _weight = revealed
            final.result = _decode(result)
            c.answer = answer or None
            c.weight = self.contracts.beacon.chain_weight(task.first_chain + c.cot_index)

    # -- the whole question ----------------------------------------------------------------------------------
    def chains_for(self, question: str, progress: ProgressSink) -> int:
        """How many chains this question can have, checked before anything is planned or posted.

        Why here: a question too long for a beacon payload would fail only after planning, and K chains need K
        different agents (the contract lets an agent work in one chain per task), so K above the agents that can
        take work re-posts the surplus chains' final steps until they fail (measured: 467 s and 147 transactions
        for one agent and K = 3). Raises AskFailed with one line; asks with fewer chains, saying so."""
        max_bytes = self.max_payload_bytes
        try:
            SubtaskPayload(question, ("x" * STEP_CHARS,) * self.planner.max_steps, 0, (), final=False,
                           answer_format=infer_format(question)).encode(max_bytes)
        except PayloadError:
            raise AskFailed(f"the question is {len(question.encode())} bytes: with its plan it does not fit a beacon "
                            f"payload of {max_bytes} bytes; shorten it") from None
        me = self.contracts.client.address
        ledger = self.contracts.ledger
        voters = [a for a in ledger.can_bid(ledger.active_agents()) if a.agent != me]
        if not voters:
            raise AskFailed("no agent on the ledger can take a step now (none available with the minimum reputation "
                            "and stake): start one with `symphony agent run`")
        if len(voters) < self.settings.chains:
            progress(Progress("notice", f"only {len(voters)} agent(s) can bid now and each works in one chain per task: "
                              f"asking with K = {len(voters)} chains instead of {self.settings.chains}",
                              {"chains": len(voters), "asked": self.settings.chains}))
            return len(voters)
        return self.settings.chains

    def chain_specs(self, question: str, plans: list[tuple[str, ...]]) -> list[ChainSpec]:
        """What postTask carries for each planned chain: its steps' requirement vectors and its payload."""
        answer_format = infer_format(question)
        return [ChainSpec(needs, SubtaskPayload(question, steps, 0, (), final=len(steps) == 1,
                                                answer_format=answer_format).encode(self.max_payload_bytes))
                for steps, needs in zip(plans, self.requirements(question, plans))]

    def ask(self, question: str, *, on_progress: ProgressSink | None = None) -> AskResult:
        """Plan, post, drive and settle one question; `on_progress` hears each step as it happens (agents.progress)."""
        progress = self.auction.progress = on_progress or ignore
        started = time.perf_counter()
        self.auction.receipts = []
        timer = ChainTimer()
        k = self.chains_for(question, progress)
        progress(Progress("planning", f"planning {k} chain(s) ...", {"chains": k}))
        t0 = time.perf_counter()
        plans, planner_tokens = self.planner.plans(question, k)
        planner_seconds = time.perf_counter() - t0
        if self.auction.cancelled:
            raise AskCancelled("cancelled while planning: nothing was posted")
        by_llm = sum(p.source == "llm" for p in plans)
        progress(Progress("planned", f"planned {len(plans)} chains ({by_llm} by the LLM planner) in {planner_seconds:.1f} s",
                          {"chains": len(plans), "by_llm": by_llm, "seconds": round(planner_seconds, 3),
                           "plans": [list(p.steps) for p in plans]}))
        chains = [ChainRecord(i, plan) for i, plan in enumerate(plans)]
        task = self.auction.post_task(timer, self.chain_specs(question, [c.plan.steps for c in chains]))
        task_id = task.task_id
        number = int.from_bytes(task_id, "big")
        progress(Progress("posted", f"posted task {number} ({'0x' + task_id.hex()}): {len(chains)} chain(s)",
                          {"task": number, "task_id": "0x" + task_id.hex(), "chains": len(chains)}))
        with ThreadPoolExecutor(max_workers=len(chains)) as pool:
            done = list(pool.map(lambda c: self._run_chain(task, c, timer), chains))
        if self.auction.cancelled:
            raise self._cancelled(task, timer)
        answer, winning, total = None, 0, 0
        if any(c.error is None for c in done):
            try:
                self.auction.settle_vote(task_id, timer)
            except AskCancelled:
                raise self._cancelled(task, timer) from None
            self._read_votes(task, done)
            info = self.contracts.vote.get(task_id)
            answer, winning, total = info.winning_answer or None, info.winning_weight, info.total_weight
        for c in done:
            progress(Progress("chain", f"chain {c.cot_index}: " + (f"answer {c.answer!r}, weight {c.weight / 1e18:.3f}"
                                                                  if not c.error else f"failed: {c.error}"),
                              {"chain": c.cot_index, "answer": c.answer, "weight": c.weight / 1e18, "error": c.error}))
        self.auction.collect_credit(timer)
        gas, hashes = self.auction.gas_and_hashes()
        return AskResult(question, "0x" + task_id.hex(), answer, winning, total, done, hashes, gas, time.perf_counter() - started,
                         planner_seconds, planner_tokens, timer)


def _decode(data: bytes) -> ResultPayload:
    try:
        return ResultPayload.decode(data)
    except PayloadError:
        return ResultPayload(output=data.decode(errors="replace"), abstained=True)
