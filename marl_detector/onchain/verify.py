"""Re-derive every logged outcome from the pools' own logs, independently of what EvaluationLog stored.

Why a second implementation: the contract's resolver is the thing being audited, so the verifier must not
ask it (or the pool's oracle code) for numbers. It rebuilds each pool's price path from `Sync` events and
block timestamps, integrates it with its own piecewise-constant cumulative price, applies the Python outcome
rule (`marl_detector.outcome.classify` / `score`) and checks, for every window (from its `WindowOpened` event
and block): the opening time, the base window and base price, the realised outcome and both returns; and for
every entry: that it was committed before `t0`, one per detector per window, its status — VOIDED exactly when
the detector paid for a swap on the pool (`Swap.sender`) between the base window's start and the resolution,
EXPIRED when it was not revealed before resolving, TAINTED (score 0) when another participant of the window (the
opener or a detector with an entry) swapped on the pool between the base window's start and the settlement — its score, and (for revealed entries) that the commitment
opens to the revealed prediction with the salt published in `Revealed`. Any difference is a mismatch.
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
from marl_detector.onchain.evaluation import Evaluation, EvaluationLogClient, Status, Window, commitment
from marl_detector.outcome import SCORE_EXPIRED, Label, classify, score

WAD = 10**18
EXPIRED_SCORE = SCORE_EXPIRED
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
class OpenedWindow:
    """A window as its `WindowOpened` event and block say (not as the contract stored it)."""

    id: int
    pool: str
    opener: str
    t0: int
    horizon: int
    opened_at: int  # the timestamp of the block that opened it


@dataclass(frozen=True)
class Rederived:
    base_start: int
    base: int
    sub_twaps: tuple[int, ...]
    r_peak_bp: int
    r_end_bp: int
    outcome: Label
    due: bool


@dataclass(frozen=True)
class Trade:
    """A swap's payer (the pool's `Swap.sender`) and where the swap sits in the chain."""

    sender: str
    timestamp: int
    position: tuple[int, int]  # (block number, log index)


def rederive(path: PricePath, w: OpenedWindow, now: int) -> Rederived:
    """The base and, once due, the outcome the protocol prescribes for window `w`, from the price path alone."""
    q = w.horizon // 4
    start = max(w.opened_at - q, path.starts[0])
    base = path.twap(start, w.opened_at)
    if w.t0 + w.horizon > now:
        return Rederived(start, base, (), 0, 0, Label.NONE, False)
    subs = tuple(path.twap(w.t0 + k * q, w.t0 + (k + 1) * q) for k in range(4))
    o = classify(base, subs)
    return Rederived(start, base, subs, o.r_peak_bp, o.r_end_bp, o.label, True)


def compare_window(stored: Window, w: OpenedWindow, r: Rederived, tainted: bool) -> list[str]:
    """Differences between a stored window and its re-derivation (empty: all agree)."""
    bad: list[str] = []
    if stored.settled and stored.tainted != tainted:
        bad.append(f"window #{w.id}: tainted stored {stored.tainted} != re-derived {tainted}")
    for name, mine, theirs in (("pool", w.pool, stored.pool), ("t0", w.t0, stored.t0), ("horizon", w.horizon, stored.horizon),
                               ("opened_at", w.opened_at, stored.opened_at), ("base_start", r.base_start, stored.base_start),
                               ("base", r.base, stored.base)):
        if mine != theirs:
            bad.append(f"window #{w.id}: {name} stored {theirs} != re-derived {mine}")
    if not w.opened_at < w.t0 <= w.opened_at + w.horizon // 4:
        bad.append(f"window #{w.id}: t0 {w.t0} is not within (opening, opening + H/4]")
    if stored.settled:
        if not r.due:
            bad.append(f"window #{w.id}: settled on chain but its horizon has not passed by the logs' clock")
        elif stored.unresolvable:
            bad.append(f"window #{w.id}: declared unresolvable, but its price history is in the logs")
        else:
            for name, theirs, mine in (("outcome", stored.outcome, r.outcome),
                                       ("r_peak_bp", stored.r_peak_bp, stored_return(r.r_peak_bp)),
                                       ("r_end_bp", stored.r_end_bp, stored_return(r.r_end_bp))):
                if theirs != mine:
                    bad.append(f"window #{w.id}: {name} stored {theirs!s} != re-derived {mine!s}")
    return bad


def self_trade(trades: list[Trade], detector: str, base_start: int, until: tuple[int, int] | None) -> Trade | None:
    """The detector's first swap on the pool at or after the window's base start and before `until` (the
    resolution's log position; None: up to now)."""
    for t in trades:
        if t.sender == detector and t.timestamp >= base_start and (until is None or t.position < until):
            return t
    return None


def compare(e: Evaluation, w: OpenedWindow, r: Rederived, revealed: dict | None, resolved_at: tuple[int, int] | None,
            trades: list[Trade], tainted: bool = False) -> list[str]:
    """Human-readable differences between a stored entry and its re-derivation (empty: all agree)."""
    bad: list[str] = []
    if e.committed_at >= w.t0:
        bad.append(f"committed at {e.committed_at}, not before the window's t0 {w.t0}")
    if e.opener_entry != (e.detector == w.opener):
        bad.append("opener flag differs from the window's opener")
    traded = self_trade(trades, e.detector, r.base_start, resolved_at)
    if traded is not None and traded.timestamp < e.committed_at:
        bad.append(f"the detector traded the pool at {traded.timestamp}, before committing: the commit should have been refused")
    if e.settled:
        if not r.due:
            bad.append("settled on chain but its horizon has not passed by the logs' clock")
        else:
            if traded is not None:
                status, points = Status.VOIDED, EXPIRED_SCORE
            elif revealed is None or (resolved_at is not None and revealed["position"] > resolved_at):
                status, points = Status.EXPIRED, EXPIRED_SCORE
            elif tainted:
                status, points = Status.TAINTED, 0
            else:
                status, points = Status.RESOLVED, score(int(revealed["label"]), r.outcome)
            if e.status != status:
                bad.append(f"status stored {e.status.name} != re-derived {status.name}"
                           + (f" (the detector swapped on the pool at {traded.timestamp})" if traded else ""))
            if e.score != points:
                bad.append(f"score stored {e.score} != re-derived {points}")
    if e.status in (Status.REVEALED, Status.RESOLVED) or (e.status == Status.VOIDED and revealed is not None):
        if revealed is None:
            bad.append("revealed on chain but no Revealed event found")
        else:
            salt = bytes.fromhex(str(revealed["salt"])[2:])
            mh = bytes.fromhex(str(revealed["modelHash"])[2:])
            c = commitment(e.window_id, e.detector, int(revealed["label"]), int(revealed["confidence"]), mh, salt)
            if "0x" + c.hex() != e.commitment:
                bad.append("the revealed prediction does not open the commitment")
            if int(revealed["label"]) != e.predicted or int(revealed["confidence"]) != e.confidence:
                bad.append("stored prediction differs from the Revealed event")
    return bad


@dataclass
class VerifyReport:
    total: int = 0
    windows: int = 0
    resolved: int = 0
    expired: int = 0
    voided: int = 0  # entries whose detector traded the window's pool
    tainted: int = 0  # entries of windows another participant traded
    pending: int = 0
    overdue: int = 0  # pending although their horizon has passed: anyone may resolve them (`symphony eval resolve`)
    committee: int = 0  # entries logging a Symphony vote, checked against it (when the core contracts are known)
    rederived: int = 0  # settled entries whose status and score were re-derived from the logs
    windows_rederived: int = 0  # windows whose base (and, once settled, outcome) was re-derived
    from_block: int = 0  # the block range the logs were read from
    to_block: int = 0
    pools: int = 0
    price_logs: int = 0  # Sync and Swap logs read
    log_events: int = 0  # EvaluationLog events read
    mismatches: dict[int, list[str]] = field(default_factory=dict)
    window_mismatches: dict[int, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.window_mismatches

    def summary(self) -> str:
        head = f"{self.total} evaluations ({self.resolved} resolved, {self.expired} expired"
        head += f", {self.voided} voided" if self.voided else ""
        head += f", {self.tainted} tainted" if self.tainted else ""
        head += f", {self.pending} pending"
        head += f", {self.overdue} overdue)" if self.overdue else ")"
        head += f" in {self.windows} windows"
        source = (f"re-derived {self.rederived} settled entries and {self.windows_rederived} windows from blocks "
                  f"{self.from_block}-{self.to_block} ({self.price_logs} Sync/Swap logs of {self.pools} pools, "
                  f"{self.log_events} EvaluationLog events)")
        if self.ok:
            votes = f"; {self.committee} committee verdicts match their votes" if self.committee else ""
            return f"OK: {head}; {source}: every base, outcome and score matches{votes}"
        n = len(self.mismatches) + len(self.window_mismatches)
        return f"MISMATCH: {head}; {source}: {n} entries or windows disagree with the pool logs"


def _drain(w3: Web3, sources: list[EventSource], start_block: int, head: int) -> list[ChainEvent]:
    """Every event of `sources` in blocks `start_block..head` (at least; the stream may read a little further)."""
    stream = EventStream(w3, "eval-verify", sources, CheckpointStore(), start_block=start_block)
    out: list[ChainEvent] = []
    while True:
        for event in stream.poll():
            if not event.removed:
                out.append(event)
            stream.ack(event)
        checkpoint = stream.store.checkpoint("eval-verify")
        if checkpoint is None or checkpoint[0] >= head:
            return [e for e in out if e.block_number <= head]


def price_paths(w3: Web3, market: Market, head: int) -> tuple[dict[str, PricePath], dict[str, list[Trade]], int]:
    """Every pool's price path from its Sync logs, and its swaps by payer from its Swap logs (pool address ->),
    from the market's deploy block to `head`; and how many logs that was."""
    sources = [EventSource(p.pool.address, p.pool.abi, ("Sync", "Swap")) for p in market.pools.values()]
    paths: dict[str, PricePath] = {p.pool.address: PricePath() for p in market.pools.values()}
    trades: dict[str, list[Trade]] = {p.pool.address: [] for p in market.pools.values()}
    times: dict[int, int] = {}
    events = _drain(w3, sources, market.deploy_block, head)
    for ev in events:
        if ev.block_number not in times:
            times[ev.block_number] = int(w3.eth.get_block(ev.block_number)["timestamp"])
        if ev.name == "Sync":
            paths[ev.address].add(times[ev.block_number], int(ev.args["reserveQ"]), int(ev.args["reserveT"]))
        else:
            trades[ev.address].append(Trade(Web3.to_checksum_address(ev.args["sender"]), times[ev.block_number],
                                            (ev.block_number, ev.log_index)))
    return paths, trades, len(events)


def _log_events(w3: Web3, market: Market, head: int):
    """Windows as opened, reveals (with their log position), resolution and settlement positions, each window's
    committers, from the log's events; and how many events that was."""
    names = ("WindowOpened", "Revealed", "Resolved", "WindowSettled", "Committed")
    windows: dict[int, OpenedWindow] = {}
    revealed: dict[int, dict] = {}
    resolved: dict[int, tuple[int, int]] = {}
    settled: dict[int, tuple[int, int]] = {}
    committers: dict[int, list[str]] = {}
    events = _drain(w3, [EventSource(market.log.address, market.log.abi, names)], market.deploy_block, head)
    for ev in events:
        position = (ev.block_number, ev.log_index)
        if ev.name == "WindowOpened":
            at = int(w3.eth.get_block(ev.block_number)["timestamp"])
            a = ev.args
            windows[int(a["windowId"])] = OpenedWindow(int(a["windowId"]), Web3.to_checksum_address(a["pool"]),
                                                       Web3.to_checksum_address(a["opener"]), int(a["t0"]),
                                                       int(a["horizon"]), at)
        elif ev.name == "Revealed":
            revealed[int(ev.args["id"])] = {**ev.args, "position": position}
        elif ev.name == "Resolved":
            resolved[int(ev.args["id"])] = position
        elif ev.name == "WindowSettled":
            settled[int(ev.args["windowId"])] = position
        else:
            committers.setdefault(int(ev.args["windowId"]), []).append(Web3.to_checksum_address(ev.args["detector"]))
    return windows, revealed, resolved, settled, committers, len(events)


def window_tainted(w: OpenedWindow, r: Rederived, committers: list[str], trades: list[Trade],
                   settled_at: tuple[int, int] | None) -> bool:
    """Whether a participant (the opener or a committer) swapped on the pool since the base window's start and
    before the window settled (None: up to now)."""
    return any(self_trade(trades, who, r.base_start, settled_at) is not None for who in {w.opener, *committers})


def verify_log(client: EvaluationLogClient, market: Market, contracts: SymphonyContracts | None = None) -> VerifyReport:
    """Check every window and entry of the market's EvaluationLog against the pools' logs; with the Symphony
    contracts, also check each committee entry against the vote it logs (`marl_detector.committee.audit`)."""
    w3 = client.client.w3
    latest = w3.eth.get_block("latest")
    now, head = int(latest["timestamp"]), int(latest["number"])
    paths, trades, n_price = price_paths(w3, market, head)
    opened, revealed, resolved, settled, committers, n_log = _log_events(w3, market, head)
    report = VerifyReport(from_block=market.deploy_block, to_block=head, pools=len(market.pools), price_logs=n_price,
                          log_events=n_log)
    derived: dict[int, Rederived] = {}
    tainted: dict[int, bool] = {}
    for stored in client.windows():
        report.windows += 1
        w = opened.get(stored.id)
        if w is None:
            report.window_mismatches[stored.id] = [f"window #{stored.id}: no WindowOpened event found"]
            continue
        path = paths.get(w.pool)
        if path is None or not path.starts:
            report.window_mismatches[w.id] = [f"window #{w.id}: pool {w.pool} is not a pool of this market or has no Sync logs"]
            continue
        try:
            derived[w.id] = rederive(path, w, now)
        except HistoryGap as exc:
            report.window_mismatches[w.id] = [f"window #{w.id}: {exc}"]
            continue
        report.windows_rederived += 1
        tainted[w.id] = window_tainted(w, derived[w.id], committers.get(w.id, []), trades.get(w.pool, []),
                                       settled.get(w.id))
        bad = compare_window(stored, w, derived[w.id], tainted[w.id])
        if bad:
            report.window_mismatches[w.id] = bad
    seen: set[tuple[int, str]] = set()
    for e in client.all():
        report.total += 1
        if e.status == Status.RESOLVED:
            report.resolved += 1
        elif e.status == Status.EXPIRED:
            report.expired += 1
        elif e.status == Status.VOIDED:
            report.voided += 1
        elif e.status == Status.TAINTED:
            report.tainted += 1
        else:
            report.pending += 1
            if now >= e.t0 + e.horizon:
                report.overdue += 1
        r = derived.get(e.window_id)
        if r is None:
            report.mismatches[e.id] = [f"window #{e.window_id} could not be re-derived"]
            continue
        bad = compare(e, opened[e.window_id], r, revealed.get(e.id), resolved.get(e.id), trades.get(e.pool, []),
                      tainted.get(e.window_id, False))
        report.rederived += int(e.settled and r.due)
        if (e.window_id, e.detector) in seen:
            bad.append(f"a second entry of {e.detector} in window #{e.window_id}")
        seen.add((e.window_id, e.detector))
        if contracts is not None and is_committee_entry(e, contracts):
            report.committee += 1
            bad += audit_entry(e, contracts)
        if bad:
            report.mismatches[e.id] = bad
    return report
