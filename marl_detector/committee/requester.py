"""Ask the network of detector agents about one pool; settle their verdicts by weighted vote; log the verdict.

A detection request opens an `EvaluationLog` window (the requester pays its fee: windows are what detectors are
scored on, and only requesters choose them) and is a Symphony task of K one-step chains, posted in one transaction.
Each chain is a final beacon carrying the same `DetectionRequest` (the window: pool, start `t0`, horizon) and the
kind `DETECTION_KIND`; every detector bids on all of them, and since an agent holds at most one final slot per task,
the K chains go to the K best-scoring detectors, one each. A bid's score (capability match × the detector's verified
record for detection work — won votes and resolved EvaluationLog entries — computed by the contracts) is its
chain's weight, so the VoteCommitment tally is weighted by evidence, not by claims.

The settled verdict is then committed to the same window as the opener's entry, under the requester's address,
with `modelHash = taskId`: anyone can look the vote up from the log entry and check that the label is its winning
answer. It must land before the window's `t0`, so the window starts `lead_s` after the request (at most H/4); a
vote that ends later is reported, not logged. Every detector also committed its own prediction (see `executor.py`), so resolution scores each of
them and moves their reputation; the committee entry scores the ensemble itself.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from pydantic import Field, model_validator
from web3 import Web3

from agents.auction import AskFailed, AuctionSettings, BeaconAuction, ChainTimer
from agents.payloads import PayloadError, ResultPayload
from chain.bindings import SymphonyContracts
from chain.bindings.beacon import ChainSpec, PostedTask
from core.errors import ConfigError, SymphonyError
from marl_detector.committee.agent import DETECTOR_TAG
from marl_detector.committee.request import DETECTION_KIND, REQUIREMENT, DetectionRequest, label_of
from marl_detector.onchain.book import PredictionBook
from marl_detector.onchain.deployment import Market

log = logging.getLogger("symphony.detection_requester")


class CommitteeSettings(AuctionSettings):
    detectors: int = Field(3, ge=1, le=16, description="K detector agents asked (fewer if fewer are available)")
    horizon_s: int = Field(14_400, gt=0, le=30 * 86_400, description="the verdict is about [t0, t0 + horizon] (multiple of 4)")
    lookback_s: int = Field(14_400, gt=0, description="history before t0 the detectors may look at")
    max_reposts: int = Field(2, ge=0, description="re-post a detection beacon nobody bid on this many times")
    lead_s: int = Field(600, ge=1, description="the window starts this many seconds after the request (capped at "
                        "H/4): time for the auctions, the detectors' commits and the vote")
    state_path: Path | None = Field(None, description="file remembering the committee's log entries until resolved "
                                    "(none: <state dir>/committee-<chain>-<address>.json)")

    @model_validator(mode="after")
    def _check(self) -> "CommitteeSettings":
        if self.horizon_s % 4:
            raise ValueError(f"horizon_s must be a multiple of 4, got {self.horizon_s}")
        return self


@dataclass
class DetectorVote:
    cot_index: int
    beacon_ids: list[int]
    agent: str | None = None
    score: int = 0  # the bid score the agent won its beacon with = its vote weight
    result: ResultPayload | None = None
    revealed_answer: str | None = None
    weight: int = 0  # as counted by the vote contract at reveal
    error: str | None = None

    @property
    def confidence_bp(self) -> int | None:
        return self._extra_int("confidence_bp")

    @property
    def evaluation_id(self) -> int | None:
        return self._extra_int("evaluation_id")

    def _extra_int(self, key: str) -> int | None:
        """An integer the detector put in its result's `extra`, or None: the result came from chain, written by
        whoever won the beacon, so a value that is not an integer (text, a float, a list, a bool) counts as absent."""
        value = self.result.extra.get(key) if self.result else None
        return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass
class Verdict:
    ticker: str
    pool: str
    task_id: str
    t0: int
    horizon: int
    answer: str | None  # the vote's winning answer
    label: int | None  # 1 manipulation, 0 organic, None if the vote had no valid answer
    confidence_bp: int | None  # weighted mean of the voters' P(manipulation)
    winning_weight: int
    total_weight: int
    votes: list[DetectorVote]
    evaluation_id: int | None  # the committee's own EvaluationLog entry
    window_id: int = -1  # the EvaluationLog window the request opened
    note: str | None = None  # why the verdict was not logged, if it was not
    tx_hashes: list[str] = field(default_factory=list)
    gas_used: int = 0
    seconds: float = 0.0


class DetectionRequester:
    def __init__(self, contracts: SymphonyContracts, market: Market, encode: Callable[[str], bytes], book: PredictionBook,
                 settings: CommitteeSettings | None = None) -> None:
        self.contracts = contracts
        self.market = market
        self.book = book
        self.settings = settings or CommitteeSettings()
        self.requirement = encode(REQUIREMENT)
        self.auction = BeaconAuction(contracts, self.settings, name="detection-requester")

    def close(self) -> None:
        self.auction.close()

    def available_detectors(self) -> list[str]:
        """Detector agents that are registered, active and announce free capacity (read from the ledger)."""
        me = self.contracts.client.address
        return [a.agent for a in self.contracts.ledger.active_agents()
                if DETECTOR_TAG in a.tags and a.available and a.free_capacity > 0 and a.agent != me]

    def request(self, ticker: str, *, on_progress: Callable[[str], None] | None = None) -> Verdict:
        progress = on_progress or (lambda _m: None)
        started = time.perf_counter()
        s = self.settings
        entry = self.market.pools.get(ticker)
        if entry is None:
            raise ConfigError(f"no pool for {ticker!r} in this market (pools: {', '.join(sorted(self.market.pools)) or 'none'})")
        k = min(s.detectors, len(self.available_detectors()))
        if k == 0:
            raise AskFailed(f"no detector agent (tag {DETECTOR_TAG!r}) is registered and available on the ledger")
        auction, timer = self.auction, ChainTimer()
        auction.receipts = []
        w3 = self.contracts.client.w3
        pool = Web3.to_checksum_address(entry.pool.address)
        window = self.book.log.open_window(pool, s.horizon_s, lead=s.lead_s)
        t0 = window.t0
        request = DetectionRequest(Web3.to_checksum_address(self.market.log.address), pool, ticker, t0, s.horizon_s,
                                   s.lookback_s, window.id)
        task = auction.post_task(timer, [ChainSpec((self.requirement,), request.encode())] * k, kind=DETECTION_KIND)
        task_id = task.task_id
        progress(f"task 0x{task_id.hex()[:16]}…: {ticker}, window #{window.id} from t0={t0}, horizon {s.horizon_s} s, "
                 f"{k} detectors")

        votes = [DetectorVote(i, [task.beacon(i, 0)]) for i in range(k)]
        with ThreadPoolExecutor(max_workers=k) as pool_threads:
            list(pool_threads.map(lambda v: self._collect(v, timer), votes))
        if all(v.agent is None for v in votes):
            raise AskFailed(f"no detector answered the request on {ticker}: " + "; ".join(v.error or "?" for v in votes))
        auction.settle_vote(task_id, timer)
        info = self.contracts.vote.get(task_id)
        self._read_reveals(task, votes)
        for v in votes:
            progress(f"chain {v.cot_index}: " + (f"{v.agent} answered {v.result.answer or 'abstained'} "
                                                 f"(score {v.score / 1e18:.3f})" if v.result else f"failed: {v.error}"))
        label = label_of(info.winning_answer)
        confidence = self._ensemble_confidence(votes)
        verdict = Verdict(ticker, pool, "0x" + task_id.hex(), t0, s.horizon_s, info.winning_answer or None, label, confidence,
                          info.winning_weight, info.total_weight, votes, None, window.id)
        if label is not None:
            if int(w3.eth.get_block("latest")["timestamp"]) + 1 >= t0:
                verdict.note = f"the vote ended after the window's start t0={t0}: the verdict is not logged"
                progress(verdict.note)
            else:
                verdict.evaluation_id = self._log_verdict(window.id, label, confidence if confidence is not None
                                                          else label * 10_000, task_id, timer)
                progress(f"verdict {info.winning_answer} ({info.winning_weight / 1e18:.3f} of "
                         f"{info.total_weight / 1e18:.3f}) logged as evaluation #{verdict.evaluation_id}")
        auction.collect_credit(timer)
        verdict.gas_used, verdict.tx_hashes = auction.gas_and_hashes()
        verdict.seconds = time.perf_counter() - started
        return verdict

    # -- pieces ------------------------------------------------------------------------------------------
    def _collect(self, vote: DetectorVote, timer: ChainTimer) -> None:
        """Drive one detection beacon to its delivery (the detector's vote commitment)."""
        beacon_id = vote.beacon_ids[-1]
        try:
            delivery = self.auction.deliver_step(timer, beacon_id)
        except (SymphonyError, TimeoutError) as exc:
            vote.error = str(exc)
            return
        vote.agent = delivery.agent
        vote.score = self.auction.executor_score(beacon_id, vote.agent)

    def _read_reveals(self, task: PostedTask, votes: list[DetectorVote]) -> None:
        """Each voter's revealed answer, result and counted weight, from the vote contract's own events."""
        reveals = self.auction.reveals(task.task_id)
        for v in votes:
            revealed = reveals.get(v.beacon_ids[-1])
            if revealed is None:
                if v.agent is not None and v.error is None:
                    v.error = "the detector never revealed its vote"
                continue
            _voter, v.revealed_answer, result, v.weight = revealed
            try:
                v.result = ResultPayload.decode(result)
            except PayloadError as exc:  # the agent delivered garbage: it still voted (the contract opened its commitment)
                v.result = ResultPayload(output=f"unreadable result: {exc}", abstained=True)

    @staticmethod
    def _ensemble_confidence(votes: list[DetectorVote]) -> int | None:
        """P(manipulation) of the committee: the voters' confidences weighted like their votes."""
        pairs = [(v.weight, v.confidence_bp) for v in votes if v.weight > 0 and v.confidence_bp is not None
                 and label_of(v.revealed_answer or "") is not None]
        total = sum(w for w, _ in pairs)
        return round(sum(w * c for w, c in pairs) / total) if total else None

    def _log_verdict(self, window_id: int, label: int, confidence_bp: int, task_id: bytes, timer: ChainTimer) -> int:
        """Commit the committee's verdict to its window (the opener's entry, modelHash = taskId) and reveal it at
        once: the vote made it public."""
        start = time.perf_counter()
        p = self.book.commit(window_id, label, max(0, min(10_000, confidence_bp)), task_id)
        self.book.reveal_now(p.eval_id)
        timer.add("chain", time.perf_counter() - start)
        return p.eval_id
