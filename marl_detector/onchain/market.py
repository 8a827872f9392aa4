"""On-chain market mode: every simulated trade becomes a real, signed swap on anvil, at the simulator's time.

Why replay with the Python AMM in lockstep: the protocol promises that the simulator and the contract compute
the same prices. Each swap is mined at exactly the simulated timestamp (several trades at one timestamp share
a timestamp on chain too, so the oracle accumulates once per timestamp on both sides), and its `amountOut` and
reserves are checked against `marl_detector.amm.Pool` as it goes: a divergence stops the replay with a
`ParityError` naming the trade, instead of silently training on one market and evaluating on another.

Simulated traders get deterministic local keys (`accounts.trader_account`); the market operator (an anvil dev
account, the tokens' minter) pays their gas and mints exactly the tokens they lack before each trade, so a
trader's on-chain balance history (its `Transfer` events) mirrors the simulator's.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from chain.client import ChainClient
from core.errors import SymphonyError
from marl_detector.amm import Pool
from marl_detector.onchain.accounts import TimedSender, trader_account
from marl_detector.onchain.deployment import Market, MarketPool

GAS_SWAP = 250_000
GAS_APPROVE = 80_000
GAS_MINT = 120_000
GAS_FUND = 21_000
TRADER_GAS_FUNDS = 10**17  # 0.1 ETH of gas money per simulated trader
MAX_UINT = 2**256 - 1
_SWAP_TOPIC = Web3.keccak(text="Swap(address,bool,uint256,uint256,uint256,uint256)")


class ParityError(SymphonyError):
    """The contract and the Python AMM disagreed on a trade."""


@dataclass(frozen=True)
class Trade:
    """One simulated swap in raw units: `amount_in` of Q for a buy, of T for a sell."""

    timestamp: int
    trader: str
    is_buy: bool
    amount_in: int


@dataclass(frozen=True)
class ExecutedTrade:
    trade: Trade
    amount_out: int
    reserve_q: int
    reserve_t: int
    tx_hash: str
    block_number: int


@dataclass
class OnchainMarket:
    """Executes trades on one pool, signed by simulated traders, optionally mirrored by a Python pool."""

    operator: ChainClient
    pool: MarketPool
    quote: Contract  # bound quote-token contract
    seed: int = 0
    mirror: Pool | None = None
    executed: list[ExecutedTrade] = field(default_factory=list)
    sender: TimedSender | None = None  # share one between markets whose traders overlap
    _ready: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.sender is None:
            self.sender = TimedSender(self.operator.w3)
        self._sender = self.sender
        self._balances = self.sender.balances  # (token, address) -> balance we know

    # -- accounts --------------------------------------------------------------------------------------
    def account(self, trader: str) -> LocalAccount:
        return trader_account(self.seed, trader)

    def _prepare(self, account: LocalAccount, timestamp: int) -> None:
        """Gas money and the two approvals, once per trader (mined at `timestamp`; they do not touch the pool)."""
        if account.address in self._ready:
            return
        sender = self._sender
        assert sender is not None
        self._operator_send(timestamp, {"to": account.address, "value": TRADER_GAS_FUNDS, "data": b""}, GAS_FUND)
        for token in (self.quote, self.pool.token):
            data = token.functions.approve(self.pool.pool.address, MAX_UINT)._encode_transaction_data()
            sender.send_at(timestamp, account, {"to": token.address, "data": data, "value": 0}, GAS_APPROVE)
        self._ready.add(account.address)

    def _balance(self, token: Contract, address: str) -> int:
        key = (token.address, address)
        if key not in self._balances:
            self._balances[key] = token.functions.balanceOf(address).call()
        return self._balances[key]

    def mint(self, token: Contract, to: str, amount: int, timestamp: int) -> None:
        """Operator mints `amount` of `token` to `to` (mined at `timestamp`)."""
        data = token.functions.mint(to, amount)._encode_transaction_data()
        self._operator_send(timestamp, {"to": token.address, "data": data, "value": 0}, GAS_MINT)
        self._balances[(token.address, to)] = self._balance(token, to) + amount

    def _operator_send(self, timestamp: int, tx: dict, gas: int) -> dict:
        """The operator also transacts through its ChainClient, which reads its nonce from the node each time."""
        return self._sender.send_at(timestamp, self.operator.account, tx, gas, shared=True)  # type: ignore[union-attr]

    # -- trading ---------------------------------------------------------------------------------------
    def execute(self, trade: Trade) -> ExecutedTrade:
        """Mine `trade` as a real swap at `trade.timestamp` (minting the input the trader lacks first)."""
        if trade.amount_in <= 0:
            raise SymphonyError(f"trade amount must be positive: {trade}")
        account = self.account(trade.trader)
        self._prepare(account, trade.timestamp)
        token_in, token_out = (self.quote, self.pool.token) if trade.is_buy else (self.pool.token, self.quote)
        out_before = self._balance(token_out, account.address)  # read before the swap changes it
        lacking = trade.amount_in - self._balance(token_in, account.address)
        if lacking > 0:
            self.mint(token_in, account.address, lacking, trade.timestamp)
        expected = None
        if self.mirror is not None:
            swap = self.mirror.swap_q_for_t if trade.is_buy else self.mirror.swap_t_for_q
            expected = swap(trade.amount_in, trade.timestamp)
        data = self.pool.pool.functions.swap(trade.is_buy, trade.amount_in, 0, account.address)._encode_transaction_data()
        receipt = self._sender.send_at(  # type: ignore[union-attr]
            trade.timestamp, account, {"to": self.pool.pool.address, "data": data, "value": 0}, GAS_SWAP
        )
        amount_out, reserve_q, reserve_t = _swap_result(receipt, self.pool.pool.address)
        self._balances[(token_in.address, account.address)] -= trade.amount_in
        self._balances[(token_out.address, account.address)] = out_before + amount_out
        if self.mirror is not None and (amount_out, reserve_q, reserve_t) != (expected, self.mirror.reserve_q, self.mirror.reserve_t):
            raise ParityError(
                f"trade {trade}: contract gave out={amount_out} reserves=({reserve_q}, {reserve_t}), "
                f"Python AMM out={expected} reserves=({self.mirror.reserve_q}, {self.mirror.reserve_t})"
            )
        done = ExecutedTrade(trade, amount_out, reserve_q, reserve_t, receipt["transactionHash"], int(receipt["blockNumber"], 16))
        self.executed.append(done)
        return done

    def execute_all(self, trades: list[Trade], hooks: dict[int, Callable[[], None]] | None = None,
                    speedup: float | None = None) -> list[ExecutedTrade]:
        """Execute trades in time order. `hooks[t]()` runs once, when the replay reaches time `t` (before the
        first trade at or after `t`; leftovers after the last trade) — e.g. a detector committing at `t0`.
        With `speedup`, wait `(gap in chain seconds) / speedup` wall seconds between trades, so a live detector
        polling the chain sees the market unfold (block timestamps stay the simulated ones, unless another
        party's block on the same chain is already past one: then the trade goes in at that block's time)."""
        pending = sorted((hooks or {}).items())
        out = []
        last = -1
        for trade in trades:
            if trade.timestamp < last:
                raise SymphonyError(f"trades must be in time order: {trade.timestamp} after {last}")
            if speedup and last >= 0 and trade.timestamp > last:
                time.sleep((trade.timestamp - last) / speedup)
            while pending and pending[0][0] <= trade.timestamp:
                pending.pop(0)[1]()
            last = trade.timestamp
            out.append(self.execute(trade))
        for _, hook in pending:
            hook()
        return out


def _swap_result(receipt: dict, pool_address: str) -> tuple[int, int, int]:
    """(amountOut, reserveQ, reserveT) from the pool's Swap log in a raw receipt."""
    for log in receipt["logs"]:
        if Web3.to_checksum_address(log["address"]) == pool_address and bytes.fromhex(log["topics"][0][2:]) == _SWAP_TOPIC:
            data = bytes.fromhex(log["data"][2:])
            words = [int.from_bytes(data[i : i + 32], "big") for i in range(0, len(data), 32)]
            _buy, _amount_in, amount_out, reserve_q, reserve_t = words
            return amount_out, reserve_q, reserve_t
    raise SymphonyError(f"no Swap event in transaction {receipt['transactionHash']}")


# -- capturing the simulator's trades ----------------------------------------------------------------------


@dataclass
class RecordedEpisode:
    """Everything needed to replay a simulated episode on chain."""

    created_at: int
    reserve_q: int
    reserve_t: int
    initial_holders: dict[str, int]
    trades: list[Trade]


@contextmanager
def recording_trades() -> Iterator[list[RecordedEpisode]]:
    """Within this block, `marl_detector.sim.simulate_episode` records every trade it makes.

    Why this hook: the simulator keeps its pool private and only exposes pre-`t0` swaps in the observation;
    replaying an episode on chain needs *every* trade (with the exact integer amounts), so its trade book class
    is swapped for a recording subclass while the block runs (not thread-safe; tests and the CLI are serial).
    """
    import marl_detector.sim as sim

    original = sim._Market
    episodes: list[RecordedEpisode] = []

    class _RecordingMarket(original):  # type: ignore[misc, valid-type]
        def __init__(self, pool: Pool, t0: int) -> None:
            super().__init__(pool, t0)
            self._rec = RecordedEpisode(pool.t_last, pool.reserve_q, pool.reserve_t, {}, [])
            episodes.append(self._rec)

        def _snapshot_holders(self) -> None:
            if not self._rec.trades and not self._rec.initial_holders:
                self._rec.initial_holders = {a: b for a, b in self.balances.items() if b > 0}

        def buy(self, trader: str, q: float, now: int) -> int:
            self._snapshot_holders()
            out = super().buy(trader, q, now)
            if out:
                self._rec.trades.append(Trade(now, trader, True, int(q * 10**18)))
            return out

        def sell(self, trader: str, t_amount: int, now: int) -> float:
            self._snapshot_holders()
            capped = min(t_amount, self.balances.get(trader, 0))
            got = super().sell(trader, t_amount, now)
            if capped > 0:
                self._rec.trades.append(Trade(now, trader, False, capped))
            return got

    sim._Market = _RecordingMarket
    try:
        yield episodes
    finally:
        sim._Market = original


# -- launching pools at a chosen time and replaying episodes -----------------------------------------------


def launch_pool(
    operator: ChainClient,
    market: Market,
    ticker: str,
    reserve_q: int,
    reserve_t: int,
    timestamp: int,
    artifacts: dict | None = None,
) -> MarketPool:
    """Deploy meme token `ticker` and its pool, seeded with exactly these reserves at exactly `timestamp`.

    Why the timestamp matters: the pool's first observation is `(creation time, 0)`, and the base price of a
    commit is clamped to it; replaying an episode must start the oracle when the simulator did.
    """
    from chain.compile import compile_contracts

    artifacts = artifacts or compile_contracts()
    if ticker in market.pools:
        raise SymphonyError(f"the market already has a pool for {ticker}")
    token = operator.deploy(artifacts["MemeToken"], ticker, ticker)
    operator.transact(market.factory.functions.createPool(token.address))
    address = operator.call(market.factory.functions.poolOf(token.address))
    pool = operator.contract(address, artifacts["ConstantProductPool"].abi, "ConstantProductPool")
    operator.transact(token.functions.mint(operator.address, reserve_t))
    operator.transact(market.quote.functions.mint(operator.address, reserve_q))
    operator.transact(token.functions.approve(pool.address, MAX_UINT))
    operator.transact(market.quote.functions.approve(pool.address, MAX_UINT))
    latest = operator.w3.eth.get_block("latest")["timestamp"]
    if timestamp < latest:
        raise SymphonyError(f"cannot launch a pool in the past: {timestamp} < latest block time {latest}")
    sender = TimedSender(operator.w3)
    data = pool.functions.addLiquidity(reserve_q, reserve_t)._encode_transaction_data()
    sender.send_at(timestamp, operator.account, {"to": pool.address, "data": data, "value": 0}, 300_000, shared=True)
    entry = MarketPool(ticker, token, pool)
    market.pools[ticker] = entry
    return entry


def replay_episode(
    operator: ChainClient,
    market: Market,
    ticker: str,
    episode: RecordedEpisode,
    *,
    time_offset: int,
    seed: int = 0,
    artifacts: dict | None = None,
    hooks: dict[int, Callable[[], None]] | None = None,
    speedup: float | None = None,
    sender: TimedSender | None = None,
    pause: tuple[int, int] | None = None,
) -> OnchainMarket:
    """Launch a pool like the episode's and execute all its trades on chain, `time_offset` seconds later.

    Prices, TWAPs and labels depend only on time differences, so shifting the whole episode into the local
    chain's future changes nothing; every trade is checked against a Python pool shifted the same way.
    `hooks` are keyed by *episode* time (unshifted) and run when the replay reaches it. `pause = (t, d)` moves
    every trade at or after episode time `t` `d` seconds later: room on the chain's clock for a hook at `t` that
    mines blocks of its own for a while (a Symphony vote), without pushing the market into the past.
    """
    start = episode.created_at + time_offset
    entry = launch_pool(operator, market, ticker, episode.reserve_q, episode.reserve_t, start, artifacts)
    mirror = Pool.create(episode.reserve_q, episode.reserve_t, now=start)
    onchain = OnchainMarket(operator, entry, market.quote, seed=seed, mirror=mirror, sender=sender)
    for holder, amount in sorted(episode.initial_holders.items()):
        onchain.mint(entry.token, onchain.account(holder).address, amount, start)
    at, gap = pause or (0, 0)
    shifted = [Trade(t.timestamp + time_offset + (gap if t.timestamp >= at else 0), t.trader, t.is_buy, t.amount_in)
               for t in episode.trades]
    onchain.execute_all(shifted, {t + time_offset: h for t, h in (hooks or {}).items()}, speedup=speedup)
    return onchain
