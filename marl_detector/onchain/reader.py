"""Market observations rebuilt from chain logs only (Swap, Sync and Transfer events via `EventStream`).

Why from logs: the live detector must see exactly what anyone could see on chain, in the same shape the
simulator hands the trainer (`marl_detector.observation.MarketObservation`), so one feature function serves
both. Swap events give trades (`trader` = the swap's sender, `is_buy` = Q in), Sync events give reserves over
time, and meme-token Transfer events give holder balances at any time (pool and zero address excluded).
The reader keeps the full history in memory and answers for any window `[t0 - lookback, t0)`.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from web3 import Web3

from chain.checkpoints import CheckpointStore
from chain.events import ChainEvent, EventSource, EventStream
from core.errors import SymphonyError
from marl_detector.observation import MarketObservation, SwapRecord
from marl_detector.onchain.deployment import Market, MarketPool

ZERO = "0x" + "00" * 20


@dataclass
class PoolHistory:
    """Everything that happened to one pool, in chain order."""

    ticker: str
    pool: str
    token: str
    created_at: int | None = None
    syncs: list[tuple[int, int, int]] = field(default_factory=list)  # (timestamp, reserveQ, reserveT)
    swaps: list[SwapRecord] = field(default_factory=list)
    transfers: list[tuple[int, str, str, int]] = field(default_factory=list)  # (timestamp, from, to, value)

    def reserves_at(self, t: int) -> tuple[int, int]:
        """Reserves in force just before time `t` (after every change at an earlier timestamp)."""
        times = [s[0] for s in self.syncs]
        i = bisect.bisect_left(times, t) - 1
        if i < 0:
            if not self.syncs:
                raise SymphonyError(f"pool {self.ticker} has no liquidity yet")
            return self.syncs[0][1], self.syncs[0][2]  # the seeding reserves
        return self.syncs[i][1], self.syncs[i][2]

    def balances_at(self, t: int) -> dict[str, int]:
        """Meme-token balances of every holder from Transfers before `t` (pool and zero address excluded)."""
        bal: dict[str, int] = {}
        for ts, src, dst, value in self.transfers:
            if ts >= t:
                break
            if src != ZERO:
                bal[src] = bal.get(src, 0) - value
            bal[dst] = bal.get(dst, 0) + value
        return {a: b for a, b in bal.items() if b > 0 and a not in (self.pool, ZERO)}

    def observation(self, t0: int, lookback: int) -> MarketObservation:
        """The market as a detector committing at `t0` may see it: the window `[t0 - lookback, t0)`."""
        if lookback <= 0:
            raise SymphonyError(f"lookback must be positive, got {lookback}")
        t_start = t0 - lookback
        rq, rt = self.reserves_at(t_start)
        swaps = [s for s in self.swaps if t_start <= s.timestamp < t0]
        return MarketObservation(t_start, t0, rq, rt, swaps, self.balances_at(t0))


@dataclass(frozen=True)
class MarketSummary:
    """The handful of market numbers a rule-based detector (or a person) looks at."""

    return_bp: int  # spot at the window's end vs its start
    volume_q: int  # quote volume in the window
    buy_pressure: float  # share of quote volume that bought
    n_swaps: int
    n_traders: int
    top10_share: float  # share of holder-held supply in the 10 largest holders
    holders: int


def summarize(obs: MarketObservation) -> MarketSummary:
    p0 = obs.reserve_q_start * 10**18 // obs.reserve_t_start
    if obs.swaps:
        last = obs.swaps[-1]
        p1 = last.reserve_q * 10**18 // last.reserve_t
    else:
        p1 = p0
    buys = sum(s.amount_q for s in obs.swaps if s.is_buy)
    volume = sum(s.amount_q for s in obs.swaps)
    held = sorted(obs.holder_balances.values(), reverse=True)
    total = sum(held)
    return MarketSummary(
        return_bp=(p1 - p0) * 10_000 // p0 if p0 else 0,
        volume_q=volume,
        buy_pressure=buys / volume if volume else 0.5,
        n_swaps=len(obs.swaps),
        n_traders=len({s.trader for s in obs.swaps}),
        top10_share=sum(held[:10]) / total if total else 0.0,
        holders=len(held),
    )


class MarketReader:
    """Follows every pool of a market through one `EventStream` and keeps each pool's history.

    With `follow_factory`, the stream also carries the factory's `PoolCreated` events: a pool launched after the
    reader started is bound, its history caught up from the market's deploy block, and the stream widened to it
    (`take_discovered()` says which). Why through the stream and not a `poolCount()` poll: the same durable,
    reorg-aware delivery as the pools' own events, and no pool is missed between two polls.
    """

    def __init__(self, w3: Web3, market: Market, *, consumer: str = "hideshill-reader", store: CheckpointStore | None = None,
                 start_block: int | None = None, confirmations: int = 0, follow_factory: bool = False) -> None:
        self.w3 = w3
        self.market = market
        self.consumer = consumer
        self.follow_factory = follow_factory
        self.confirmations = confirmations
        self.start_block = market.deploy_block if start_block is None else start_block
        self.histories: dict[str, PoolHistory] = {}  # pool address -> history
        self._by_token: dict[str, PoolHistory] = {}
        self._discovered: list[MarketPool] = []
        for entry in market.pools.values():
            self._track(entry)
        # A fresh in-memory store by default: the reader rebuilds its history from the market's deploy block.
        self._store = store or CheckpointStore()
        self.stream = self._stream(consumer, list(market.pools.values()))
        self._block_times: dict[int, int] = {}
        # Where each applied event's record went, so a reorg's `removed` replay can take it out again.
        self._applied: dict[tuple[str, int], tuple[list, object]] = {}

    def _stream(self, consumer: str, pools: list[MarketPool], *, store: CheckpointStore | None = None,
                factory: bool | None = None) -> EventStream:
        sources: list[EventSource] = []
        if self.follow_factory if factory is None else factory:
            sources.append(EventSource(self.market.factory.address, self.market.factory.abi, ("PoolCreated",)))
        for entry in pools:
            sources.append(EventSource(entry.pool.address, entry.pool.abi, ("Swap", "Sync")))
            sources.append(EventSource(entry.token.address, entry.token.abi, ("Transfer",)))
        return EventStream(self.w3, consumer, sources, store or self._store, start_block=self.start_block,
                           confirmations=self.confirmations)

    def _track(self, entry: MarketPool) -> None:
        history = PoolHistory(entry.ticker, entry.pool.address, entry.token.address)
        self.histories[entry.pool.address] = history
        self._by_token[entry.token.address] = history

    def history(self, ticker: str) -> PoolHistory:
        entry = self.market.pools.get(ticker)
        if entry is None:
            raise SymphonyError(f"no pool for ticker {ticker!r}")
        if entry.pool.address not in self.histories:
            raise SymphonyError(f"pool {ticker} is not followed by this reader yet (poll first)")
        return self.histories[entry.pool.address]

    def take_discovered(self) -> list[MarketPool]:
        """Pools discovered since the last call (launched after the reader started)."""
        found, self._discovered = self._discovered, []
        return found

    def _timestamp(self, block: int) -> int:
        ts = self._block_times.get(block)
        if ts is None:
            ts = int(self.w3.eth.get_block(block)["timestamp"])
            self._block_times[block] = ts
        return ts

    def poll(self) -> int:
        """Fold every new event into the histories; returns how many were applied."""
        applied = 0
        head = self.w3.eth.block_number
        while True:
            new_pools: list[MarketPool] = []
            for event in self.stream.poll():
                if event.removed:
                    self._undo(event)
                elif event.name == "PoolCreated":
                    entry = self._pool_created(event)
                    if entry is not None:
                        new_pools.append(entry)
                else:
                    applied += self._apply(event)
                self.stream.ack(event)
            if new_pools:
                applied += self._widen(new_pools)
            checkpoint = self.stream.store.checkpoint(self.stream.consumer)
            if checkpoint is None or checkpoint[0] >= head:
                return applied

    def _pool_created(self, event: ChainEvent) -> MarketPool | None:
        """Bind a pool the factory just created (None: already followed)."""
        from marl_detector.onchain.deployment import bind_pool

        address = Web3.to_checksum_address(event.args["pool"])
        if address in self.histories:
            return None
        entry = bind_pool(self.w3, self.market, address)
        self._track(entry)
        self._discovered.append(entry)
        return entry

    def _widen(self, pools: list[MarketPool]) -> int:
        """Catch the new pools' history up from the start block, then follow them in the main stream.

        The catch-up stream reads up to the head; the widened main stream resumes from its own checkpoint and
        re-delivers the new pools' most recent events, which `_apply` recognises and skips.
        """
        catch_up = self._stream(f"{self.consumer}-catch-up", pools, store=CheckpointStore(), factory=False)
        head = self.w3.eth.block_number
        applied = 0
        while True:
            for event in catch_up.poll():
                if not event.removed:
                    applied += self._apply(event)
                catch_up.ack(event)
            checkpoint = catch_up.store.checkpoint(catch_up.consumer)
            if checkpoint is None or checkpoint[0] >= head:
                break
        followed = [e for e in self.market.pools.values() if e.pool.address in self.histories]
        self.stream = self._stream(self.consumer, followed)
        return applied

    def _undo(self, event: ChainEvent) -> None:
        """Take back an event the chain abandoned (reorg); the stream then delivers the canonical ones."""
        where = self._applied.pop(event.key, None)
        if where is not None:
            target, record = where
            target.remove(record)
            self._block_times.pop(event.block_number, None)

    def _apply(self, event: ChainEvent) -> int:
        """Fold one event into its pool's history; 1 if it was new, 0 for a duplicate or a foreign event."""
        if event.key in self._applied:
            return 0
        ts = self._timestamp(event.block_number)
        a = event.args
        if event.name == "Transfer":
            h = self._by_token[event.address]
            target, record = h.transfers, (ts, Web3.to_checksum_address(a["from"]), Web3.to_checksum_address(a["to"]), int(a["value"]))
        elif event.name == "Sync":
            h = self.histories[event.address]
            if h.created_at is None:
                h.created_at = ts
            target, record = h.syncs, (ts, int(a["reserveQ"]), int(a["reserveT"]))
        elif event.name == "Swap":
            h = self.histories[event.address]
            buy = bool(a["buy"])
            amount_in, amount_out = int(a["amountIn"]), int(a["amountOut"])
            q, t = (amount_in, amount_out) if buy else (amount_out, amount_in)
            target, record = h.swaps, SwapRecord(ts, Web3.to_checksum_address(a["sender"]), buy, q, t, int(a["reserveQ"]), int(a["reserveT"]))
        else:
            return 0
        target.append(record)
        self._applied[event.key] = (target, record)
        return 1
