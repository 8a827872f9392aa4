"""Benchmark scenario (vii) of issue 14: self-trading detectors against the v2 EvaluationLog, on anvil.

Honest detectors and self-trading detectors share a network. Every round a requester opens a window on a pool
(protocol v2: detectors never choose their windows); all detectors commit before it starts. Honest detectors
predict the round's real scenario (a third-party pump-and-dump or a quiet market) with 90 % accuracy. The
attackers always commit "manipulation", then pump the pool and sell it back so the window's price path *is* a
manipulation (6 % of the quote reserve, held for a quarter of the horizon — the attack of item 7). Strategies:

- ``self``: every attacker trades from its own address (the attack as the issue states it);
- ``coalition``: one attacker per round pumps (rotating) and is sacrificed; the others only commit;
- ``sybil``: an address with no link to any detector pumps for them (the residual the identity rule cannot see).

After the horizon every entry is resolved by the contract. Reported per strategy: the attackers' share of the
positive score points per round (TP +10, TN +1), final ledger reputations, ETH paid, costs and gas.

Payment model (stated, not hidden): detection beacons go to the best bid scores, and with equal declared
capability that is the highest ledger reputation; each round the three highest-reputation detectors (ties broken
at random) are credited ``reward_eth`` each. This credits what a TaskBeacon auction would pay; the transfer itself
is not sent. Costs: the 0.3 % pool fees of the attackers' (and their sybil's) round trips, valued 1 Q = 1 ETH; gas
at the chain's effective gas price; stake slashed by the ledger. Their market P&L from other traders' moves is
reported apart (``attacker_trading_pnl_q``). A voided entry slashes half the detector's stake on the v2
CapabilityLedger; an attacker below the ledger's minimum stake tops it up before its next commitment (the top-ups
are counted: they are what the slashes cost it).

``run_self_trading_detectors(node, manifest_path, rounds, seed)`` is what scripts/bench_adversarial.py imports.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from web3.logs import DISCARD  # noqa: E402

from chain.bindings import SymphonyContracts  # noqa: E402
from chain.client import ChainClient  # noqa: E402
from chain.deploy import Manifest, deploy_symphony  # noqa: E402
from chain.settings import ChainSettings  # noqa: E402
from marl_detector.onchain.accounts import chain_time, mine_at, set_next_block_time, trader_account  # noqa: E402
from marl_detector.onchain.deployment import (  # noqa: E402
    WAD, Market, authorize_log, deploy_market, register_detector,
)
from marl_detector.onchain.evaluation import EvaluationLogClient, Status, model_hash_of  # noqa: E402

RESULTS = ROOT / "results" / "bench_adversarial_detectors.json"
STRATEGIES = ("self", "coalition", "sybil")
TICKERS = ("V0", "V1", "V2")
MAX_UINT = 2**256 - 1


class MeteredClient(ChainClient):
    """A ChainClient that adds up the gas (and its cost in wei) of every transaction it sends."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.gas = 0
        self.gas_wei = 0

    def transact(self, call, *, value: int = 0, gas: int | None = None):  # noqa: ANN001, ANN201 - ChainClient's
        receipt = super().transact(call, value=value, gas=gas)
        self.gas += int(receipt["gasUsed"])
        self.gas_wei += int(receipt["gasUsed"]) * int(receipt.get("effectiveGasPrice", 0) or 0)
        return receipt


@dataclass
class Detector:
    name: str
    attacker: bool
    client: MeteredClient
    log: EvaluationLogClient
    entries: list[int] = field(default_factory=list)


def _core_manifest(operator: ChainClient, manifest_path: Path) -> Manifest:
    """The Symphony deployment in `manifest_path` if it is on this chain, else a fresh one saved there."""
    if manifest_path.exists():
        manifest = Manifest.load(manifest_path)
        if manifest.chain_id == operator.chain_id and "CapabilityLedger" in manifest.contracts:
            code = operator.w3.eth.get_code(manifest.address("CapabilityLedger"))
            if code:
                return manifest
    manifest = deploy_symphony(operator, ChainSettings(min_stake_wei=10**16, deregister_cooldown_s=60))
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest.save(manifest_path)
    return manifest


def _account(node, seed: int, name: str) -> MeteredClient:
    """A deterministic local key for `name`, funded with 100 ETH (anvil_setBalance: local chain only)."""
    acct = trader_account(seed, f"bench-vii:{name}")
    node.rpc("anvil_setBalance", [acct.address, hex(100 * WAD)])
    return MeteredClient(node.rpc_url, acct.key.to_0x_hex())


def _fund_trader(operator: ChainClient, market: Market, trader: ChainClient, amount_q: int) -> None:
    operator.transact(market.quote.functions.mint(trader.address, amount_q))
    for entry in market.pools.values():
        trader.transact(market.quote.functions.approve(entry.pool.address, MAX_UINT))
        trader.transact(entry.token.functions.approve(entry.pool.address, MAX_UINT))


def _swap(client: ChainClient, entry, buy: bool, amount: int, at: int, fees: dict[str, int]) -> int:  # noqa: ANN001
    """Swap at exactly `at`; adds the 0.3 % pool fee it paid, in quote units, to `fees[client]`."""
    set_next_block_time(client.w3, at)
    receipt = client.transact(entry.pool.functions.swap(buy, amount, 0, client.address))
    (event,) = entry.pool.events.Swap().process_receipt(receipt, errors=DISCARD)
    out = int(event["args"]["amountOut"])
    fee_q = amount * 3 // 1000 if buy else out * 3 // 997  # on a sell the fee is in T: valued at the fill price
    fees[client.address] = fees.get(client.address, 0) + fee_q
    return out


def run_self_trading_detectors(node, manifest_path, rounds: int = 50, seed: int = 0, *, strategy: str = "self",
                               honest: int = 7, attackers: int = 3, horizon: int = 3_600, reward_eth: float = 0.01,
                               beacons: int = 3, honest_accuracy: float = 0.9, campaign_share: float = 0.4,
                               pump_share: float = 0.06) -> dict:
    """Honest and self-trading detectors on the v2 EvaluationLog for `rounds` windows (see the module docstring).

    `node` is a running `chain.node.AnvilNode`; the Symphony deployment of `manifest_path` is used when it is on
    this chain (else deployed and saved there), a fresh Hide-and-Shill market is deployed on it and added to the
    manifest. Returns the per-round attacker share of positive score points and the economics of both sides."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    started = time.perf_counter()
    rng = random.Random(seed)
    manifest_path = Path(manifest_path)
    operator = ChainClient(node.rpc_url, node.dev_accounts[0].key.to_0x_hex())  # anvil dev key, local chain only
    core = _core_manifest(operator, manifest_path)
    owner = SymphonyContracts.bind(operator, core)
    market, manifest = deploy_market(operator, list(TICKERS), seed_quote=50 * WAD, seed_price_wad=10**14,
                                     ledger=core.address("CapabilityLedger"), min_horizon=horizon,
                                     manifest=core.model_copy(deep=True))
    authorize_log(owner, market)
    manifest.save(manifest_path)
    tag = f"{strategy}-{seed}-{market.log.address[-6:]}"

    detectors: list[Detector] = []
    for i in range(honest + attackers):
        attacker = i >= honest
        name = f"{'attacker' if attacker else 'honest'}-{i}"
        client = _account(node, seed, f"{tag}:{name}")
        register_detector(SymphonyContracts.bind(client, core), name)
        detectors.append(Detector(name, attacker, client, EvaluationLogClient(client, market.log)))
    requester = EvaluationLogClient(_account(node, seed, f"{tag}:requester"), market.log)
    manipulator = _account(node, seed, f"{tag}:manipulator")
    noise = _account(node, seed, f"{tag}:noise")
    sybil = _account(node, seed, f"{tag}:sybil")
    resolver = EvaluationLogClient(operator, market.log)
    bad = [d for d in detectors if d.attacker]
    pumpers = {"self": [d.client for d in bad], "coalition": [d.client for d in bad], "sybil": [sybil]}[strategy]
    reserve = 50 * WAD
    budget = 10 * reserve * rounds  # more quote than they can spend; what is lost is measured, not assumed
    for trader in (manipulator, noise, *pumpers):
        _fund_trader(operator, market, trader, budget)
    minted = {t.address: budget for t in pumpers}
    fees: dict[str, int] = {}

    share: list[float] = []
    paid = {d.name: 0.0 for d in detectors}
    outcomes: list[dict] = []
    ledger = owner.ledger
    min_stake = ledger.min_stake()
    topped_up: dict[str, int] = {}
    q = horizon // 4
    for r in range(rounds):
        entry = market.pools[TICKERS[r % len(TICKERS)]]
        now = chain_time(operator.w3) + 5
        mine_at(operator.w3, now)
        # Payment for this round's detection beacons: the best bid scores = the highest reputations.
        reps = {d.name: ledger.reputation(d.client.address) for d in detectors}
        order = sorted(detectors, key=lambda d: (-reps[d.name], rng.random()))
        for d in order[:beacons]:
            paid[d.name] += reward_eth
        campaign = rng.random() < campaign_share
        w = requester.open_window(entry.pool.address, horizon, lead=60)
        for d in detectors:
            if d.attacker:
                missing = min_stake - ledger.stake(d.client.address)
                if missing > 0:  # slashed below the minimum: top up to keep committing
                    SymphonyContracts.bind(d.client, core).ledger.add_stake(missing)
                    topped_up[d.name] = topped_up.get(d.name, 0) + missing
                label, confidence = 1, 9_500
            else:
                right = rng.random() < honest_accuracy
                label = int(campaign) if right else 1 - int(campaign)
                confidence = 8_000 if label else 2_000
            p = d.log.commit(w.id, label, confidence, model_hash_of(d.name))
            d.log.reveal(p)
            d.entries.append(p.eval_id)
        # The market after t0: noise, maybe a real campaign, and the attackers' pump.
        trades: list[tuple[int, ChainClient, bool, int | None]] = []
        for _ in range(3):
            trades.append((w.t0 + rng.randint(1, horizon - 10), noise, rng.random() < 0.5, None))
        if campaign:
            trades.append((w.t0 + 120, manipulator, True, reserve * 15 // 100))
            trades.append((w.t0 + horizon // 2, manipulator, False, None))
        if strategy == "self":
            for k, client in enumerate(pumpers):
                trades.append((w.t0 + 30 + k, client, True, reserve * pump_share / len(pumpers)))
                trades.append((w.t0 + q + 30 + k, client, False, None))
        else:
            client = pumpers[r % len(pumpers)] if strategy == "coalition" else sybil
            trades.append((w.t0 + 30, client, True, reserve * pump_share))
            trades.append((w.t0 + q + 30, client, False, None))
        bought: dict[str, int] = {}
        for at, client, buy, amount in sorted(trades, key=lambda t: t[0]):
            if buy:
                amount_in = int(amount) if amount is not None else reserve // 500
                bought[client.address] = bought.get(client.address, 0) + _swap(client, entry, True, amount_in, at, fees)
            else:
                held = bought.pop(client.address, 0) if amount is None and client is not noise else 0
                if client is noise:
                    held = entry.token.functions.balanceOf(client.address).call() // 10
                if held > 0:
                    _swap(client, entry, False, held, at, fees)
        mine_at(operator.w3, w.t0 + horizon)
        positive = {True: 0, False: 0}
        for d in detectors:
            e = resolver.resolve(d.entries[-1])
            positive[d.attacker] += max(e.score, 0)
            outcomes.append({"round": r, "detector": d.name, "attacker": d.attacker, "status": e.status.name,
                             "outcome": e.outcome.name, "score": e.score})
        total = positive[True] + positive[False]
        share.append(positive[True] / total if total else 0.0)

    slashed = sum(int(ev["args"]["amount"]) for ev in market.log.events.StakeSlashed().get_logs(from_block=market.deploy_block)
                  if ev["args"]["detector"] in {d.client.address for d in bad})
    slash_failed = len(market.log.events.SlashFailed().get_logs(from_block=market.deploy_block))
    quote_lost = sum(minted[t.address] - market.quote.functions.balanceOf(t.address).call() for t in pumpers)
    fees_paid = sum(fees.get(t.address, 0) for t in pumpers)
    gas_clients = [d.client for d in bad] + ([sybil] if strategy == "sybil" else [])
    attacker_gas = sum(c.gas for c in gas_clients)  # everything they sent: registration, approvals, commits, trades
    attacker_gas_wei = sum(c.gas_wei for c in gas_clients)
    # Cost of the attack: pool fees of its round trips + gas + slashed stake. Its market P&L (riding or suffering
    # other traders' moves) is reported apart: it is luck of the scenario, not a price of the attack.
    attacker_cost = fees_paid / WAD + attacker_gas_wei / WAD + slashed / WAD
    attacker_paid = sum(paid[d.name] for d in bad)
    final = {d.name: ledger.reputation(d.client.address) / WAD for d in detectors}
    statuses = [o for o in outcomes if o["attacker"]]
    return {
        "strategy": strategy,
        "rounds": rounds,
        "honest_detectors": honest,
        "attackers": attackers,
        "attacker_share": share,
        "attacker_profit_eth": attacker_paid - attacker_cost,
        "attacker_cost_eth": attacker_cost,
        "attacker_gas": attacker_gas,
        "honest_payment_eth": sum(paid[d.name] for d in detectors if not d.attacker),
        "honest_reputation": statistics.mean(final[d.name] for d in detectors if not d.attacker),
        "attacker_reputation": statistics.mean(final[d.name] for d in bad),
        # Extra detail (not part of the interface bench_adversarial.py relies on).
        "attacker_payment_eth": attacker_paid,
        "attacker_true_positives": sum(1 for o in statuses if o["status"] == Status.RESOLVED.name and o["score"] == 10),
        "attacker_voided": sum(1 for o in statuses if o["status"] == Status.VOIDED.name),
        "attacker_fees_q": fees_paid / WAD,
        "attacker_gas_eth": attacker_gas_wei / WAD,
        "attacker_trading_pnl_q": -(quote_lost - fees_paid) / WAD,
        "attacker_slashed_eth": slashed / WAD,
        "attacker_stake_topped_up_eth": sum(topped_up.values()) / WAD,
        "slash_failed": slash_failed,
        "honest_false_negatives": sum(1 for o in outcomes if not o["attacker"] and o["score"] == -5 and o["outcome"] == "MANIPULATION"),
        "honest_tainted": sum(1 for o in outcomes if not o["attacker"] and o["status"] == Status.TAINTED.name),
        "reputations": final,
        "seconds": time.perf_counter() - started,
    }


def _table(results: list[dict]) -> str:
    head = (f"{'strategy':<10} {'rounds':>6} {'share(all)':>10} {'share(last10)':>13} {'att TP':>6} {'voided':>6} "
            f"{'att rep':>7} {'hon rep':>7} {'att paid':>8} {'att cost':>8} {'profit':>8} {'att gas':>9} {'hon paid':>8} "
            f"{'hon FN':>6}")
    lines = [head, "-" * len(head)]
    for r in results:
        last = r["attacker_share"][-10:]
        lines.append(
            f"{r['strategy']:<10} {r['rounds']:>6} {statistics.mean(r['attacker_share']):>10.3f} "
            f"{statistics.mean(last):>13.3f} {r['attacker_true_positives']:>6} {r['attacker_voided']:>6} "
            f"{r['attacker_reputation']:>7.3f} {r['honest_reputation']:>7.3f} {r['attacker_payment_eth']:>8.3f} "
            f"{r['attacker_cost_eth']:>8.3f} {r['attacker_profit_eth']:>8.3f} {r['attacker_gas']:>9} "
            f"{r['honest_payment_eth']:>8.3f} {r['honest_false_negatives']:>6}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from chain.node import AnvilNode

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    strategies = [s for s in args.strategies.split(",") if s]
    results = []
    with AnvilNode() as node:
        for strategy in strategies:
            snapshot = node.snapshot()
            try:
                manifest = ROOT / "build" / "bench_vii" / f"deployment-{strategy}.json"
                results.append(run_self_trading_detectors(node, manifest, args.rounds, args.seed, strategy=strategy))
            finally:
                node.revert(snapshot)
            print(f"{strategy}: done in {results[-1]['seconds']:.0f} s", file=sys.stderr, flush=True)
    table = _table(results)
    print(table)
    print("share = attackers' share of the positive score points (TP +10, TN +1) per round; 30 % of the detectors "
          "are attackers; att paid = top-3 reputation beacons x 0.01 ETH; att cost = pool fees (1 Q = 1 ETH) + gas "
          "+ slashed stake; hon FN = honest negatives turned into false negatives")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"table": table, "results": results}, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
