"""Commit, reveal and resolve predictions on `EvaluationLog`, and page through the log.

Why the commitment is computed here, not by calling the contract: a detector must never send its prediction
to a node before revealing it (an `eth_call` is still a message to somebody's RPC). `commitment()` is the
exact `keccak256(abi.encode(pool, horizon, label, confidence, modelHash, salt))` of the contract.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from enum import IntEnum

from eth_abi import encode
from eth_utils import keccak
from web3 import Web3
from web3.contract import Contract

from chain.client import ChainClient
from core.errors import SymphonyError
from marl_detector.outcome import MAX_CONFIDENCE_BP, Label

PAGE = 100


class Status(IntEnum):
    COMMITTED = 0
    REVEALED = 1
    RESOLVED = 2
    EXPIRED = 3


def commitment(pool: str, horizon: int, label: int, confidence: int, model_hash: bytes, salt: bytes) -> bytes:
    """The contract's commitment hash, computed locally."""
    return keccak(
        encode(
            ["address", "uint256", "uint8", "uint16", "bytes32", "bytes32"],
            [Web3.to_checksum_address(pool), horizon, label, confidence, model_hash, salt],
        )
    )


def model_hash_of(text: str | bytes) -> bytes:
    """A bytes32 identity of a detector version (hash of its weights file or of its rule parameters)."""
    return keccak(text.encode() if isinstance(text, str) else text)


@dataclass(frozen=True)
class Evaluation:
    """One log entry as stored on chain (`EvaluationLog.Evaluation`)."""

    id: int
    detector: str
    t0: int
    horizon: int
    pool: str
    status: Status
    predicted: int
    confidence: int
    outcome: Label
    score: int
    base: int
    commitment: str
    model_hash: str
    r_peak_bp: int
    r_end_bp: int

    @property
    def settled(self) -> bool:
        return self.status in (Status.RESOLVED, Status.EXPIRED)

    def to_json(self) -> dict:
        d = asdict(self)
        d["status"] = self.status.name
        d["outcome"] = self.outcome.name if self.settled else None
        return d


def _from_tuple(eval_id: int, t: tuple) -> Evaluation:
    (detector, t0, horizon, pool, status, predicted, confidence, outcome, score, base, com, mh, r_peak, r_end) = t
    return Evaluation(
        eval_id, Web3.to_checksum_address(detector), int(t0), int(horizon), Web3.to_checksum_address(pool),
        Status(status), int(predicted), int(confidence), Label(outcome), int(score), int(base),
        "0x" + bytes(com).hex(), "0x" + bytes(mh).hex(), int(r_peak), int(r_end),
    )


@dataclass(frozen=True)
class PendingPrediction:
    """What a detector must keep between commit and reveal (the salt is the secret)."""

    eval_id: int
    pool: str
    horizon: int
    label: int
    confidence: int
    model_hash: bytes
    salt: bytes
    t0: int


class EvaluationLogClient:
    """A detector's (or a reader's) handle on one EvaluationLog."""

    def __init__(self, client: ChainClient, log: Contract) -> None:
        self.client = client
        self.log = log

    # -- writing ---------------------------------------------------------------------------------------
    def commit(self, pool: str, horizon: int, label: int, confidence: int, model_hash: bytes,
               salt: bytes | None = None) -> PendingPrediction:
        if label not in (0, 1):
            raise SymphonyError(f"label must be 0 or 1, got {label}")
        if not 0 <= confidence <= MAX_CONFIDENCE_BP:
            raise SymphonyError(f"confidence must be in [0, {MAX_CONFIDENCE_BP}] bp, got {confidence}")
        salt = salt or os.urandom(32)
        c = commitment(pool, horizon, label, confidence, model_hash, salt)
        receipt = self.client.transact(self.log.functions.commit(Web3.to_checksum_address(pool), horizon, c))
        (event,) = self.log.events.Committed().process_receipt(receipt)
        return PendingPrediction(int(event["args"]["id"]), pool, horizon, label, confidence, model_hash, salt,
                                 int(event["args"]["t0"]))

    def reveal(self, p: PendingPrediction) -> None:
        self.client.transact(self.log.functions.reveal(p.eval_id, p.label, p.confidence, p.model_hash, p.salt))

    def resolve(self, eval_id: int) -> Evaluation:
        self.client.transact(self.log.functions.resolve(eval_id))
        return self.get(eval_id)

    # -- reading ---------------------------------------------------------------------------------------
    def count(self) -> int:
        return int(self.client.call(self.log.functions.evaluationCount()))

    def get(self, eval_id: int) -> Evaluation:
        return _from_tuple(eval_id, self.client.call(self.log.functions.getEvaluation(eval_id)))

    def all(self, detector: str | None = None) -> list[Evaluation]:
        """Every entry (or one detector's), paging through the contract's bounded views."""
        if detector is None:
            out: list[Evaluation] = []
            total = self.count()
            for offset in range(0, total, PAGE):
                page = self.client.call(self.log.functions.getEvaluations(offset, PAGE))
                out += [_from_tuple(offset + i, t) for i, t in enumerate(page)]
            return out
        detector = Web3.to_checksum_address(detector)
        n = int(self.client.call(self.log.functions.detectorEvaluationCount(detector)))
        ids: list[int] = []
        for offset in range(0, n, PAGE):
            ids += [int(i) for i in self.client.call(self.log.functions.getDetectorEvaluationIds(detector, offset, PAGE))]
        return [self.get(i) for i in ids]

    def stats(self, detector: str) -> dict[str, int]:
        s = self.client.call(self.log.functions.statsOf(Web3.to_checksum_address(detector)))
        keys = ("commits", "true_positives", "false_positives", "true_negatives", "false_negatives", "expired", "total_score")
        return dict(zip(keys, (int(x) for x in s)))
