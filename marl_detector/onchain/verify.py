"""Re-derive every logged outcome from the pools' own logs, independently of what EvaluationLog stored.

Why a second implementation: the contract's resolver is the thing being audited, so the verifier must not
ask it (or the pool's oracle code) for numbers. It rebuilds each pool's price path from `Sync` events and
block timestamps, integrates it with its own piecewise-constant cumulative price, applies the Python outcome
rule (`marl_detector.outcome.classify` / `score`) and checks, for every entry: the stored base price, the
realised outcome, both returns, the score, and (for revealed entries) that the commitment opens to the
revealed prediction with the salt published in `Revealed`. Any difference is a mismatch.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from web3 import Web3

from chain.bindings import SymphonyContracts
from chain.checkpoints import CheckpointStore
from chain.events import ChainEvent, EventSource, EventStream
from core.errors import SymphonyError
from marl_detector.committee.audit import audit_entry, is_committee_entry
from marl_detector.onchain.deployment import Market
from marl_detector.onchain.evaluation import Evaluation, EvaluationLogClient, Status, commitment
from marl_detector.outcome import Label, classify, score

WAD = 10**18
EXPIRED_SCORE = -15
INT128 = (-(2**127), 2**127 - 1)


def stored_return(bp: int) -> int:
    """What the contract stores for a return: saturated at the int128 range (the label uses the exact value)."""
    return min(max(bp, INT128[0]), INT128[1])


class HistoryGap(SymphonyError):
    """The logs do not cover a time the verification needs."""


@dataclass
class PricePath:
    """A pool's spot price as a step function of time, rebuilt from its Sync events."""

    starts: list[int] = field(default_factory=list)  # distinct timestamps with a reserve change
    prices: list[int] = field(default_factory=list)  # spot price in force from starts[i] (after its last change)

    def add(self, timestamp: int, reserve_q: int, reserve_t: int) -> None:
        price = reserve_q * WAD // reserve_t
        if self.starts and timestamp == self.starts[-1]:
            self.prices[-1] = price  # the last change at a timestamp sets the price in force after it
        elif self.starts and timestamp < self.starts[-1]:
            raise SymphonyError("Sync events out of time order")
        else:
            self.starts.append(timestamp)
            self.prices.append(price)

    def cumulative(self, t: int) -> int:
        """Integral of the price from the first liquidity to `t`."""
        if not self.starts or t < self.starts[0]:
            raise HistoryGap(f"no price history at t={t}")
        i = bisect.bisect_right(self.starts, t) - 1
        total = 0
        for j in range(i):
            total += self.prices[j] * (self.starts[j + 1] - self.starts[j])
        return total + self.prices[i] * (t - self.starts[i])

    def twap(self, t0: int, t1: int) -> int:
        return (self.cumulative(t1) - self.cumulative(t0)) // (t1 - t0)


@dataclass(frozen=True)
class Rederived:
    base: int
    sub_twaps: tuple[int, ...]
    r_peak_bp: int
    r_end_bp: int
    outcome: Label
    score: int | None  # None while unresolved


def rederive(path: PricePath, e: Evaluation, now: int) -> Rederived | None:
    """The outcome and score the protocol prescribes for `e`, from the price path alone (None if not due)."""
    q = e.horizon // 4
    start = max(e.t0 - q, path.starts[0])
    base = path.twap(start, e.t0)
    if e.t0 + e.horizon > now:
        return Rederived(base, (), 0, 0, Label.NONE, None)
    subs = tuple(path.twap(e.t0 + k * q, e.t0 + (k + 1) * q) for k in range(4))
    o = classify(base, subs)
    if e.status == Status.EXPIRED:
        points = EXPIRED_SCORE
    elif e.status == Status.RESOLVED:
        points = score(e.predicted, o.label)
    else:
        points = None
    return Rederived(base, subs, o.r_peak_bp, o.r_end_bp, o.label, points)


def compare(e: Evaluation, r: Rederived, revealed: dict | None) -> list[str]:
    """Human-readable differences between a stored entry and its re-derivation (empty: all agree)."""
    bad: list[str] = []
    if e.base != r.base:
        bad.append(f"base stored {e.base} != re-derived {r.base}")
    if e.settled:
        if r.score is None:
            bad.append("settled on chain but its horizon has not passed by the logs' clock")
        else:
            for name, stored, mine in (
                ("outcome", e.outcome, r.outcome),
                ("r_peak_bp", e.r_peak_bp, stored_return(r.r_peak_bp)),
                ("r_end_bp", e.r_end_bp, stored_return(r.r_end_bp)),
                ("score", e.score, r.score),
            ):
                if stored != mine:
                    bad.append(f"{name} stored {stored!s} != re-derived {mine!s}")
    if e.status in (Status.REVEALED, Status.RESOLVED):
        if revealed is None:
            bad.append("revealed on chain but no Revealed event found")
        else:
            salt = bytes.fromhex(str(revealed["salt"])[2:])
            mh = bytes.fromhex(str(revealed["modelHash"])[2:])
            c = commitment(e.pool, e.horizon, int(revealed["label"]), int(revealed["confidence"]), mh, salt)
            if "0x" + c.hex() != e.commitment:
                bad.append("the revealed prediction does not open the commitment")
            if int(revealed["label"]) != e.predicted or int(revealed["confidence"]) != e.confidence:
                bad.append("stored prediction differs from the Revealed event")
    return bad


@dataclass
class VerifyReport:
    total: int = 0
    resolved: int = 0
    expired: int = 0
    pending: int = 0
    overdue: int = 0  # pending although their horizon has passed: anyone may resolve them (`symphony eval resolve`)
    committee: int = 0  # entries logging a Symphony vote, checked against it (when the core contracts are known)
    mismatches: dict[int, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def summary(self) -> str:
        head = f"{self.total} evaluations ({self.resolved} resolved, {self.expired} expired, {self.pending} pending"
        head += f", {self.overdue} overdue)" if self.overdue else ")"
        if self.ok:
            votes = f"; {self.committee} committee verdicts match their votes" if self.committee else ""
            return f"OK: {head}; every base, outcome and score re-derived from pool logs matches{votes}"
        return f"MISMATCH: {head}; {len(self.mismatches)} entries disagree with the pool logs"


def _drain(w3: Web3, sources: list[EventSource], start_block: int) -> list[ChainEvent]:
    stream = EventStream(w3, "eval-verify", sources, CheckpointStore(), start_block=start_block)
    head = w3.eth.block_number
    out: list[ChainEvent] = []
    while True:
        for event in stream.poll():
            if not event.removed:
                out.append(event)
            stream.ack(event)
        checkpoint = stream.store.checkpoint("eval-verify")
        if checkpoint is None or checkpoint[0] >= head:
            return out


def price_paths(w3: Web3, market: Market) -> dict[str, PricePath]:
    """Every pool's price path from its Sync logs (pool address -> path)."""
    sources = [EventSource(p.pool.address, p.pool.abi, ("Sync",)) for p in market.pools.values()]
    paths: dict[str, PricePath] = {p.pool.address: PricePath() for p in market.pools.values()}
    times: dict[int, int] = {}
    for ev in _drain(w3, sources, market.deploy_block):
        if ev.block_number not in times:
            times[ev.block_number] = int(w3.eth.get_block(ev.block_number)["timestamp"])
        paths[ev.address].add(times[ev.block_number], int(ev.args["reserveQ"]), int(ev.args["reserveT"]))
    return paths


def verify_log(client: EvaluationLogClient, market: Market, contracts: SymphonyContracts | None = None) -> VerifyReport:
    """Check every entry of the market's EvaluationLog against the pools' logs; with the Symphony contracts,
    also check each committee entry against the vote it logs (`marl_detector.committee.audit`)."""
    w3 = client.client.w3
    now = int(w3.eth.get_block("latest")["timestamp"])
    paths = price_paths(w3, market)
    revealed = {
        int(ev.args["id"]): ev.args
        for ev in _drain(w3, [EventSource(market.log.address, market.log.abi, ("Revealed",))], market.deploy_block)
    }
    report = VerifyReport()
    for e in client.all():
        report.total += 1
        if e.status == Status.RESOLVED:
            report.resolved += 1
        elif e.status == Status.EXPIRED:
            report.expired += 1
        else:
            report.pending += 1
            if now >= e.t0 + e.horizon:
                report.overdue += 1
        path = paths.get(e.pool)
        if path is None or not path.starts:
            report.mismatches[e.id] = [f"pool {e.pool} is not a pool of this market or has no Sync logs"]
            continue
        try:
            r = rederive(path, e, now)
        except HistoryGap as exc:
            report.mismatches[e.id] = [str(exc)]
            continue
        assert r is not None
        bad = compare(e, r, revealed.get(e.id))
        if contracts is not None and is_committee_entry(e, contracts):
            report.committee += 1
            bad += audit_entry(e, contracts)
        if bad:
            report.mismatches[e.id] = bad
    return report
