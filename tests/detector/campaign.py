"""A small market scene shared by the on-chain detector tests: real swaps on anvil plus a post feed.

An hour of two-sided noise trading on every pool, then a sybil cluster shills PUMP while retail buys; CALM
only gets one post from an old account. `pump_and_dump` plays the campaign's end after the detectors committed.
"""

from __future__ import annotations

from pathlib import Path

from chain.client import ChainClient
from chain.deploy import Manifest
from marl_detector.amm import Pool
from marl_detector.onchain.accounts import TimedSender, chain_time
from marl_detector.onchain.deployment import WAD, Market, authorize_log, deploy_market, register_detector
from marl_detector.onchain.market import OnchainMarket, Trade
from marl_detector.onchain.posts import append_posts

TICKERS = ["PUMP", "CALM"]
MIN_HORIZON = 400  # the tests' windows are short (chain time is warped anyway)


def dev_client(node, index: int) -> ChainClient:
    """A client of anvil dev account `index` (local chain only)."""
    return ChainClient(node.rpc_url, node.dev_accounts[index].key.to_0x_hex())


def staked_market(node, core: Manifest, tickers: list[str], detectors: tuple[int, ...] = (),
                  **kwargs) -> tuple[Market, Manifest]:
    """Deploy a market whose EvaluationLog uses the core deployment's CapabilityLedger (authorised), and register
    the dev accounts `detectors` as staked detectors on it (protocol v2: only they may commit)."""
    from chain.bindings import SymphonyContracts

    kwargs.setdefault("min_horizon", MIN_HORIZON)
    market, manifest = deploy_market(dev_client(node, 0), tickers, ledger=core.address("CapabilityLedger"),
                                     manifest=core.model_copy(deep=True), **kwargs)
    authorize_log(SymphonyContracts.bind(dev_client(node, 0), core), market)
    for index in detectors:
        register_detector(SymphonyContracts.bind(dev_client(node, index), core), f"detector-{index}")
    return market, manifest


def market_with_open_window(chain, manifest_path: Path) -> Market:
    """Pool OLD, dev account 3 a staked detector, and one window on OLD opened by account 2 over 1,200 s from
    200 s ahead: what `detect run` needs to have something to commit. The manifest is saved at `manifest_path`."""
    from marl_detector.onchain.accounts import mine_at
    from marl_detector.onchain.evaluation import EvaluationLogClient

    market, manifest = staked_market(chain.node, chain.manifest, ["OLD"], detectors=(3,))
    manifest.save(manifest_path)
    operator = chain.client(0)
    mine_at(operator.w3, chain_time(operator.w3) + 100)
    EvaluationLogClient(chain.client(2), market.log).open_window(market.pools["OLD"].pool.address, 1_200, lead=200)
    return market


def stage_market(operator: ChainClient, market: Market, posts: Path) -> tuple[dict[str, OnchainMarket], int]:
    """Trade and post up to `start + 3_500`; returns the order books and `start` (chain time before it all)."""
    w3 = operator.w3
    start = chain_time(w3)
    books = {}
    sender = TimedSender(w3)  # both books drive the same simulated traders
    for ticker in TICKERS:
        pool = market.pools[ticker].pool
        r_q, r_t = pool.functions.reserveQ().call(), pool.functions.reserveT().call()
        created = pool.functions.observation(0).call()[0]
        books[ticker] = OnchainMarket(operator, market.pools[ticker], market.quote, seed=11,
                                      mirror=Pool.create(r_q, r_t, now=created), sender=sender)
    for k in range(1, 16):
        for book in books.values():
            book.execute(Trade(start + 200 * k, f"noise{k % 4}", k % 2 == 0, (WAD // 10) if k % 2 == 0 else 10**21 // 10))
    for k, t in enumerate((start + 3_250, start + 3_350, start + 3_450)):
        books["PUMP"].execute(Trade(t, f"retail{k}", True, WAD))
    sybils = [f"sybil{i}" for i in range(8)]
    append_posts(posts, [
        {"timestamp": start + 3_000 + 60 * i, "ticker": "PUMP", "author": a, "text": "PUMP to the moon 🚀🚀 get in now",
         "age_days": 3.0, "followers": 12, "following": 40, "follows": [b for b in sybils if b != a]}
        for i, a in enumerate(sybils)
    ] + [
        {"timestamp": start + 1_000, "ticker": "CALM", "author": "oldtimer", "text": "CALM devs shipped the docs update",
         "age_days": 900.0, "followers": 5_000, "following": 200},
    ])
    return books, start


def pump_and_dump(books: dict[str, OnchainMarket], after: int) -> None:
    """The campaign's payoff, after `after`: a whale pumps PUMP and dumps it all 270 s later; CALM stays quiet."""
    pump = books["PUMP"]
    got = pump.execute(Trade(after + 30, "whale", True, 20 * WAD)).amount_out
    pump.execute(Trade(after + 300, "whale", False, got))
    books["CALM"].execute(Trade(after + 400, "noise1", True, WAD // 10))
