"""Deploy the Hide-and-Shill market (quote token, meme tokens, pools, EvaluationLog) and bind it again later.

Why through the shared `Manifest`: `symphony eval log|verify` and `symphony detect run` find every address in
the same deployment manifest the core contracts use, under names prefixed `HideShill.`; the ABI hash stored
beside each address refuses a stale binding. Pools are also discoverable on chain from the factory.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from web3 import Web3
from web3.contract import Contract

from chain.client import ChainClient
from chain.compile import ContractArtifact, compile_contracts
from chain.deploy import Manifest
from core.errors import ConfigError

if TYPE_CHECKING:
    from chain.bindings import SymphonyContracts
    from chain.local import LocalChain
    from chain.settings import ChainSettings

WAD = 10**18
PREFIX = "HideShill."
QUOTE = PREFIX + "QuoteToken"
FACTORY = PREFIX + "PoolFactory"
EVALUATION_LOG = PREFIX + "EvaluationLog"
ZERO_ADDRESS = "0x" + "00" * 20
#: Deployment defaults of the EvaluationLog (docs/evaluation_log.md): windows of at least one hour, opened for
#: 0.001 ETH, committed to by detectors holding at least the ledger's registration minimum.
DEFAULT_MIN_HORIZON = 3_600
DEFAULT_WINDOW_FEE = 10**15


@dataclass
class MarketPool:
    """One meme token and its pool."""

    ticker: str
    token: Contract
    pool: Contract


@dataclass
class Market:
    """Bound contracts of one deployed market."""

    quote: Contract
    factory: Contract
    log: Contract
    pools: dict[str, MarketPool] = field(default_factory=dict)  # ticker -> pool
    deploy_block: int = 0

    def pool_by_address(self, address: str) -> MarketPool:
        checksum = Web3.to_checksum_address(address)
        for p in self.pools.values():
            if p.pool.address == checksum:
                return p
        raise ConfigError(f"{address} is not a pool of this market")


def _artifact(artifacts: dict[str, ContractArtifact], name: str) -> ContractArtifact:
    if name not in artifacts:
        raise ConfigError(f"contract {name} is not compiled; is contracts/hideshill/ present?")
    return artifacts[name]


def deploy_market(
    client: ChainClient,
    tickers: list[str],
    *,
    seed_quote: int = 50 * WAD,
    seed_price_wad: int = 10**14,
    ledger: str | None = None,
    min_horizon: int = DEFAULT_MIN_HORIZON,
    window_fee: int = DEFAULT_WINDOW_FEE,
    min_detector_stake: int | None = None,
    manifest: Manifest | None = None,
    artifacts: dict[str, ContractArtifact] | None = None,
) -> tuple[Market, Manifest]:
    """Deploy a quote token, one meme token + seeded pool per ticker (none: pools come later, e.g. from
    `detect market`), and an EvaluationLog.

    Each pool is seeded by the deployer with `seed_quote` of Q at `seed_price_wad` (Q per T, WAD), which also
    starts its price oracle. `ledger` is the CapabilityLedger whose active, staked agents may commit (at least
    `min_detector_stake` wei, by default the ledger's own registration minimum) and whose reputation and
    evidence resolutions move (its owner must still authorise the EvaluationLog). Without a ledger only window
    openers can log entries. Windows last at least `min_horizon` seconds and cost `window_fee` wei to open.
    Returns the market and the manifest extended with its contracts (a new manifest if none is given).
    """
    if len(set(tickers)) != len(tickers):
        raise ConfigError(f"need distinct tickers, got {tickers!r}")
    if seed_quote <= 0 or seed_price_wad <= 0:
        raise ConfigError("seed liquidity and price must be positive")
    if min_horizon < 400 or min_horizon % 4:
        raise ConfigError(f"min_horizon must be a multiple of 4 and at least 400 s, got {min_horizon}")
    artifacts = artifacts or compile_contracts()
    if min_detector_stake is None:
        min_detector_stake = _ledger_min_stake(client, ledger, artifacts) if ledger else 0
    block = client.w3.eth.block_number + 1
    token_art = _artifact(artifacts, "MemeToken")
    quote = client.deploy(token_art, "Quote", "QUOTE")
    factory = client.deploy(_artifact(artifacts, "PoolFactory"), quote.address)
    log = client.deploy(_artifact(artifacts, "EvaluationLog"), factory.address, ledger or ZERO_ADDRESS, min_horizon,
                        window_fee, min_detector_stake)
    market = Market(quote=quote, factory=factory, log=log, deploy_block=block)
    seed_t = seed_quote * WAD // seed_price_wad
    client.transact(quote.functions.mint(client.address, seed_quote * len(tickers)))
    pool_art = _artifact(artifacts, "ConstantProductPool")
    for ticker in tickers:
        token = client.deploy(token_art, ticker, ticker)
        client.transact(factory.functions.createPool(token.address))
        pool = client.contract(client.call(factory.functions.poolOf(token.address)), pool_art.abi, "ConstantProductPool")
        client.transact(token.functions.mint(client.address, seed_t))
        client.transact(quote.functions.approve(pool.address, 2**256 - 1))
        client.transact(token.functions.approve(pool.address, 2**256 - 1))
        client.transact(pool.functions.addLiquidity(seed_quote, seed_t))
        market.pools[ticker] = MarketPool(ticker, token, pool)

    if manifest is None:
        manifest = Manifest(chain_id=client.chain_id, rpc_url=client.rpc_url, deployer=client.address, deploy_block=block)
    manifest.add(QUOTE, quote.address, token_art, block)
    manifest.add(FACTORY, factory.address, artifacts["PoolFactory"], block)
    manifest.add(EVALUATION_LOG, log.address, artifacts["EvaluationLog"], block)
    return market, manifest


def _ledger_min_stake(client: ChainClient, ledger: str, artifacts: dict[str, ContractArtifact]) -> int:
    contract = client.contract(ledger, _artifact(artifacts, "CapabilityLedger").abi, "CapabilityLedger")
    return int(client.call(contract.functions.minStake()))


def bind_market(client: ChainClient, manifest: Manifest, artifacts: dict[str, ContractArtifact] | None = None) -> Market:
    """Bind a deployed market from the manifest; pools and tickers are read from the factory on chain."""
    artifacts = artifacts or compile_contracts()
    for name, art in ((QUOTE, "MemeToken"), (FACTORY, "PoolFactory"), (EVALUATION_LOG, "EvaluationLog")):
        entry = manifest.contracts.get(name)
        if entry is None:
            raise ConfigError(f"the manifest has no {name}; deploy the Hide-and-Shill market first")
        if entry.abi_sha256 != artifacts[art].abi_sha256:
            raise ConfigError(f"{name} at {entry.address} was deployed with a different ABI than the local sources; redeploy")
    quote = client.contract(manifest.address(QUOTE), artifacts["MemeToken"].abi, "MemeToken")
    factory = client.contract(manifest.address(FACTORY), artifacts["PoolFactory"].abi, "PoolFactory")
    log = client.contract(manifest.address(EVALUATION_LOG), artifacts["EvaluationLog"].abi, "EvaluationLog")
    market = Market(quote=quote, factory=factory, log=log, deploy_block=manifest.contracts[FACTORY].deploy_block)
    discover_pools(client, market, artifacts)
    return market


def discover_pools(client: ChainClient, market: Market, artifacts: dict[str, ContractArtifact] | None = None) -> list[MarketPool]:
    """Add the factory's pools this `Market` does not know yet (created since it was bound); returns them.

    Why: a long-running reader (a detector agent) is asked about pools launched after it started.
    """
    known = {p.pool.address for p in market.pools.values()}
    count = client.call(market.factory.functions.poolCount())
    if count == len(known):
        return []
    artifacts = artifacts or compile_contracts()
    added: list[MarketPool] = []
    for offset in range(0, count, 100):
        for address in client.call(market.factory.functions.getPools(offset, 100)):
            if Web3.to_checksum_address(address) in known:
                continue
            added.append(bind_pool(client.w3, market, address, artifacts))
    return added


def bind_pool(w3: Web3, market: Market, address: str, artifacts: dict[str, ContractArtifact] | None = None) -> MarketPool:
    """Bind the factory pool at `address` and its meme token, and add it to `market.pools` under the token's symbol.

    Why the factory check: `EvaluationLog` only scores pools its factory made, and a reader that followed any
    address would fold foreign events into a pool's history. A second token with a symbol already in use is
    keyed `SYMBOL@0xabcdef` (the feed's posts name tickers, so such pools get no posts of their own).
    """
    address = Web3.to_checksum_address(address)
    for entry in market.pools.values():
        if entry.pool.address == address:
            return entry
    if not market.factory.functions.isPool(address).call():
        raise ConfigError(f"{address} is not a pool of the market's factory {market.factory.address}")
    artifacts = artifacts or compile_contracts()
    pool = w3.eth.contract(address=address, abi=artifacts["ConstantProductPool"].abi)
    token = w3.eth.contract(address=Web3.to_checksum_address(pool.functions.memeToken().call()),
                            abi=artifacts["MemeToken"].abi)
    ticker = token.functions.symbol().call()
    if ticker in market.pools:
        ticker = f"{ticker}@{address[:8]}"
    market.pools[ticker] = MarketPool(ticker, token, pool)
    return market.pools[ticker]


def resolve_pool(market: Market, name: str) -> MarketPool:
    """A pool of the market named by its ticker or its address (refused with the market's pools listed).

    Why both: people read tickers, logs and explorers show addresses; an address must be a factory pool.
    """
    if name in market.pools:
        return market.pools[name]
    if Web3.is_address(name):
        try:
            return market.pool_by_address(name)
        except ConfigError:
            return bind_pool(market.factory.w3, market, name)
    raise ConfigError(f"no pool {name!r} in this market (pools: {', '.join(sorted(market.pools)) or 'none'})")


def register_detector(contracts: "SymphonyContracts", name: str, *, stake: int | None = None,
                      tags: tuple[str, ...] = ("hideshill",), capacity: int = 1) -> None:
    """Register `contracts.client`'s account on the CapabilityLedger as a detector (stake: the ledger's minimum).

    Why a helper: since protocol v2 only an active, staked ledger agent may commit to the EvaluationLog, so every
    detector account (a live detector, a benchmark's detectors) registers first. Committee agents register
    through their `AgentWorker` instead, with their declared capability.
    """
    ledger = contracts.ledger
    ledger.register(name, "hideshill-detector", "", list(tags), bytes([1] * 32), capacity,
                    ledger.min_stake() if stake is None else stake)


def authorize_log(owner_contracts: "SymphonyContracts", market: Market) -> None:
    """Let the market's EvaluationLog move reputation (and record evidence) on the ledger; ledger owner only."""
    owner_contracts.ledger.set_authorized(market.log.address, True)


@dataclass
class EmbeddedMarket:
    """A fresh embedded anvil with the Symphony contracts and a market whose log may move reputation."""

    local: "LocalChain"
    keys: list[str]  # anvil dev keys: local chain only, never printed
    operator: ChainClient  # dev account 0: deployer, ledger owner
    market: Market
    manifest: Manifest  # the core contracts and the market, saved where the caller asked


@contextmanager
def embedded_market(chain: "ChainSettings", manifest_path: Path) -> Iterator[EmbeddedMarket]:
    """Start a local anvil on a free port (the chain settings give the contract parameters), deploy the market
    without pools onto it, save the manifest at `manifest_path`, authorise the log; stop the node on exit.

    Why one helper: `detect demo` and the live benchmark must play on the same market as each other."""
    from chain.bindings import SymphonyContracts
    from chain.local import local_chain

    settings = chain.model_copy(update={
        "rpc_url": None, "manifest": manifest_path,
        "local": chain.local.model_copy(update={"port": 0, "state_path": None, "fork_url": None, "block_time_s": None})})
    with local_chain(settings) as local:
        keys = [a.key.to_0x_hex() for a in local.node.dev_accounts]
        operator = ChainClient(local.node.rpc_url, keys[0])
        market, manifest = deploy_market(operator, [], ledger=local.manifest.address("CapabilityLedger"),
                                         manifest=local.manifest.model_copy(deep=True))
        manifest.save(manifest_path)
        authorize_log(SymphonyContracts.bind(operator, local.manifest), market)
        yield EmbeddedMarket(local, keys, operator, market, manifest)
