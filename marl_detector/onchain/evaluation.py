"""Open windows, commit, reveal and resolve predictions on `EvaluationLog`, and page through the log.

Why windows: since protocol v2 a detector no longer picks what it is scored on. A requester opens a window
`(pool, t0, H)` for a fee — the base price is fixed in that transaction — and registered, staked detectors commit
one hidden prediction each before `t0` (docs/evaluation_log.md).

Why the commitment is computed here, not by calling the contract: a detector must never send its prediction
to a node before revealing it (an `eth_call` is still a message to somebody's RPC). `commitment()` is the
exact `keccak256(abi.encode(windowId, detector, label, confidence, modelHash, salt))` of the contract.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from enum import IntEnum

from eth_abi import encode
from eth_utils import keccak
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from chain.client import ChainClient
from core.errors import SymphonyError
from marl_detector.outcome import MAX_CONFIDENCE_BP, Label

PAGE = 100


class Status(IntEnum):
    COMMITTED = 0
    REVEALED = 1
    RESOLVED = 2
    EXPIRED = 3
    VOIDED = 4  # the detector traded the window's pool after committing
    TAINTED = 5  # another participant of the window traded its pool: scored 0, no evidence either way


def commitment(window_id: int, detector: str, label: int, confidence: int, model_hash: bytes, salt: bytes) -> bytes:
    """The contract's commitment hash, computed locally (bound to the window and to the committing address)."""
    return keccak(
        encode(
            ["uint256", "address", "uint8", "uint16", "bytes32", "bytes32"],
            [window_id, Web3.to_checksum_address(detector), label, confidence, model_hash, salt],
        )
    )


def model_hash_of(text: str | bytes) -> bytes:
    """A bytes32 identity of a detector version (hash of its weights file or of its rule parameters)."""
    return keccak(text.encode() if isinstance(text, str) else text)


@dataclass(frozen=True)
class Window:
    """One window a requester opened (`EvaluationLog.Window`)."""

    id: int
    pool: str
    t0: int
    horizon: int
    opener: str
    opened_at: int
    checkpointed: int
    settled: bool
    unresolvable: bool
    tainted: bool
    outcome: Label
    base_start: int
    entries: int
    r_peak_bp: int
    r_end_bp: int
    base: int
    cum_open: int
    cum: tuple[int, ...]

    @property
    def quarter(self) -> int:
        return self.horizon // 4

    @property
    def ready_at(self) -> int:
        return self.t0 + self.horizon


def _window_from_tuple(window_id: int, t: tuple) -> Window:
    (pool, t0, horizon, opener, opened_at, checkpointed, settled, unresolvable, tainted, outcome, base_start, entries,
     r_peak, r_end, base, cum_open, cum) = t
    return Window(window_id, Web3.to_checksum_address(pool), int(t0), int(horizon), Web3.to_checksum_address(opener),
                  int(opened_at), int(checkpointed), bool(settled), bool(unresolvable), bool(tainted), Label(outcome),
                  int(base_start),
                  int(entries), int(r_peak), int(r_end), int(base), int(cum_open), tuple(int(c) for c in cum))


@dataclass(frozen=True)
class Evaluation:
    """One log entry with its window's fields (`EvaluationLog.Evaluation`)."""

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
    window_id: int
    committed_at: int
    opener_entry: bool

    @property
    def settled(self) -> bool:
        return self.status in (Status.RESOLVED, Status.EXPIRED, Status.VOIDED, Status.TAINTED)

    def to_json(self) -> dict:
        d = asdict(self)
        d["status"] = self.status.name
        d["outcome"] = self.outcome.name if self.settled else None
        return d


def _from_tuple(eval_id: int, t: tuple) -> Evaluation:
    (detector, t0, horizon, pool, status, predicted, confidence, outcome, score, base, com, mh, r_peak, r_end,
     window_id, committed_at, opener_entry) = t
    return Evaluation(
        eval_id, Web3.to_checksum_address(detector), int(t0), int(horizon), Web3.to_checksum_address(pool),
        Status(status), int(predicted), int(confidence), Label(outcome), int(score), int(base),
        "0x" + bytes(com).hex(), "0x" + bytes(mh).hex(), int(r_peak), int(r_end), int(window_id), int(committed_at),
        bool(opener_entry),
    )


@dataclass(frozen=True)
class PendingPrediction:
    """What a detector must keep between commit and reveal (the salt is the secret)."""

    eval_id: int
    window_id: int
    pool: str
    horizon: int
    label: int
    confidence: int
    model_hash: bytes
    salt: bytes
    t0: int


class EvaluationLogClient:
    """A requester's, a detector's (or a reader's) handle on one EvaluationLog."""

    def __init__(self, client: ChainClient, log: Contract) -> None:
        self.client = client
        self.log = log

    # -- parameters ------------------------------------------------------------------------------------
    def min_horizon(self) -> int:
        return int(self.client.call(self.log.functions.minHorizon()))

    def window_fee(self) -> int:
        return int(self.client.call(self.log.functions.windowFee()))

    # -- writing ---------------------------------------------------------------------------------------
    def open_window(self, pool: str, horizon: int, *, t0: int | None = None, lead: int = 60) -> Window:
        """Open the window `[t0, t0 + horizon]` on `pool`, paying the log's fee. Without `t0`, it starts `lead`
        seconds after the latest block (capped at H/4, the furthest the contract allows)."""
        if t0 is None:
            now = int(self.client.w3.eth.get_block("latest")["timestamp"])
            t0 = now + 1 + max(1, min(lead, horizon // 4 - 1))
        receipt = self.client.transact(self.log.functions.openWindow(Web3.to_checksum_address(pool), t0, horizon),
                                       value=self.window_fee())
        (event,) = self.log.events.WindowOpened().process_receipt(receipt, errors=DISCARD)
        return self.window(int(event["args"]["windowId"]))

    def commit(self, window_id: int, label: int, confidence: int, model_hash: bytes,
               salt: bytes | None = None) -> PendingPrediction:
        if label not in (0, 1):
            raise SymphonyError(f"label must be 0 or 1, got {label}")
        if not 0 <= confidence <= MAX_CONFIDENCE_BP:
            raise SymphonyError(f"confidence must be in [0, {MAX_CONFIDENCE_BP}] bp, got {confidence}")
        salt = salt or os.urandom(32)
        c = commitment(window_id, self.client.address, label, confidence, model_hash, salt)
        receipt = self.client.transact(self.log.functions.commit(window_id, c))
        (event,) = self.log.events.Committed().process_receipt(receipt, errors=DISCARD)
        w = self.window(window_id)
        return PendingPrediction(int(event["args"]["id"]), window_id, w.pool, w.horizon, label, confidence, model_hash,
                                 salt, w.t0)

    def reveal(self, p: PendingPrediction) -> None:
        self.client.transact(self.log.functions.reveal(p.eval_id, p.label, p.confidence, p.model_hash, p.salt))

    def resolve(self, eval_id: int) -> Evaluation:
        self.client.transact(self.log.functions.resolve(eval_id))
        return self.get(eval_id)

    def checkpoint(self, window_id: int) -> None:
        self.client.transact(self.log.functions.checkpoint(window_id))

    # -- reading ---------------------------------------------------------------------------------------
    def window_count(self) -> int:
        return int(self.client.call(self.log.functions.windowCount()))

    def window(self, window_id: int) -> Window:
        return _window_from_tuple(window_id, self.client.call(self.log.functions.getWindow(window_id)))

    def windows(self, start: int = 0) -> list[Window]:
        """Windows from id `start` on, paging through the contract's bounded view."""
        out: list[Window] = []
        total = self.window_count()
        for offset in range(start, total, PAGE):
            page = self.client.call(self.log.functions.getWindows(offset, PAGE))
            out += [_window_from_tuple(offset + i, t) for i, t in enumerate(page)]
        return out

    def participants(self, window_id: int) -> list[str]:
        """The detectors with an entry in the window, in commit order."""
        return [Web3.to_checksum_address(a) for a in self.client.call(self.log.functions.windowParticipants(window_id))]

    def entry_of(self, window_id: int, detector: str) -> int | None:
        """The id of `detector`'s entry in the window, or None."""
        committed, eval_id = self.client.call(self.log.functions.entryOf(window_id, Web3.to_checksum_address(detector)))
        return int(eval_id) if committed else None

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
        keys = ("commits", "true_positives", "false_positives", "true_negatives", "false_negatives", "expired",
                "voided", "tainted", "total_score")
        return dict(zip(keys, (int(x) for x in s)))
