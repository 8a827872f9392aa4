#!/usr/bin/env python
"""Adversarial benchmark of protocol v2 (issue #14) on anvil: honest agents against each attack of the issue.

Every party is a scripted Python actor sending real transactions to the real contracts (CapabilityLedger,
TaskBeacon, VoteCommitment) on an embedded anvil; nobody runs an LLM. Honest agents answer from a fixed ground
truth (each step right with probability `--honest-accuracy`, a wrong step spoils its chain), so what is measured is
the protocol: who wins beacons, who gets paid, who gets slashed, and whether the vote still finds the truth.

Network: `--honest` specialists in four domains (capability = their domain's centre plus noise; they bid on steps
whose match is at least 0.6) and one honest requester posting `--tasks` tasks of K = 3 chains of 2 steps; each
step's requirement is the task's domain centre plus noise. Rewards are 1e12 wei per slot (the minimum that counts
as evidence). Attackers, each scenario alone at 30 % of the network, then all together (30 % in all):
  (i)   capability liars: declare a domain centre exactly (a perfect match), deliver junk; each task they also
        declare the task's requirement (v1's attack; v2 schedules it an hour ahead);
  (ii)  a mean-vector agent: declares the mean of the four centres (a good match everywhere), answers right 30 %;
  (iii) a 32-sybil swarm: 32 staked identities with perfect vectors bid on everything and never deliver;
  (iv)  never-deliver griefers: perfect vectors, win what they can, never deliver;
  (v)   vote copiers: bid on final steps, commit a guess, try to reveal the honest answer once others revealed;
  (vi)  self-dealing reputation farmers: a farmer requester posts paid K = 3 tasks in a domain's kind for its own
        agents between honest tasks, then the farmed agents bid on honest tasks and deliver junk;
  (vii) self-trading detectors: provided by scripts/adversarial_detectors.py (run when present).
Attackers top their stake up after slashes (the cost is counted). Per scenario: the attackers' share of assigned
slots over time (goal <= 5 % after 50 tasks), their profit and cost in ETH (gas at anvil's effective price, slashed
stake, burned fees) and gas, the honest agents' pay, and answer accuracy against the clean network (goal: a drop
of at most 5 points). Prints a table, writes results/bench_adversarial.json and results/bench_adversarial.png.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eth_account import Account  # noqa: E402
from web3.logs import DISCARD  # noqa: E402

from chain import vectors  # noqa: E402
from chain.bindings import SymphonyContracts  # noqa: E402
from chain.bindings.beacon import BeaconStatus, ChainSpec  # noqa: E402
from chain.bindings.vote import VotePhase, commitment  # noqa: E402
from chain.client import ChainClient  # noqa: E402
from chain.compile import compile_contracts  # noqa: E402
from chain.deploy import deploy_symphony  # noqa: E402
from chain.node import AnvilNode  # noqa: E402
from chain.reverts import ContractRevert  # noqa: E402
from chain.settings import ChainSettings  # noqa: E402

MIN_STAKE = 10**16
REWARD = 10**12
BID_WINDOW = 60
EXEC_WINDOW = 120
DOMAINS = 4
STEPS = 2
CHAINS = 3
MIN_SCORE = 0.6
SCENARIOS = ("clean", "liars", "mean_vector", "sybil_swarm", "griefers", "vote_copiers", "farmers", "all")
LABELS = {"clean": "clean network", "liars": "(i) capability liars", "mean_vector": "(ii) mean-vector agent",
          "sybil_swarm": "(iii) 32-sybil swarm", "griefers": "(iv) never-deliver griefers", "vote_copiers": "(v) vote copiers",
          "farmers": "(vi) reputation farmers", "all": "all together (30 %)"}


def _centre(d: int) -> list[int]:
    """Domain d's centre: one dominant axis (its evidence cluster) and a fixed random tail."""
    rng = random.Random(1000 + d)
    v = [rng.randint(-25, 25) for _ in range(32)]
    v[4 * d] = 110
    return v


def _noisy(v: list[int], noise: int, rng: random.Random) -> bytes:
    return vectors.pack([max(-127, min(127, c + rng.randint(-noise, noise))) for c in v])


@dataclass
class Actor:
    name: str
    kind: str  # "honest" or the attack
    contracts: SymphonyContracts
    capability: bytes
    domain: int = -1
    gas: int = 0
    gas_eth: int = 0
    topped_up: int = 0

    @property
    def address(self) -> str:
        return self.contracts.client.address

    @property
    def attacker(self) -> bool:
        return self.kind != "honest"

    def send(self, fn, *args, **kwargs):
        receipt = fn(*args, **kwargs)
        r = receipt.receipt if hasattr(receipt, "receipt") else receipt
        self.gas += int(r["gasUsed"])
        self.gas_eth += int(r["gasUsed"]) * int(r["effectiveGasPrice"])
        return receipt


@dataclass
class Outcome:
    scenario: str
    attacker_share: list[float] = field(default_factory=list)  # per honest task
    correct: list[bool] = field(default_factory=list)
    attacker_profit_wei: int = 0
    attacker_cost_wei: int = 0
    attacker_gas: int = 0
    attacker_slashed_wei: int = 0
    honest_pay_wei: int = 0
    honest_slashed_wei: int = 0
    seconds: float = 0.0


class Network:
    def __init__(self, node: AnvilNode, scenario: str, args: argparse.Namespace) -> None:
        self.node = node
        self.args = args
        self.scenario = scenario
        self.rng = random.Random(args.seed)
        deployer = ChainClient(node.rpc_url, node.dev_accounts[0].key.to_0x_hex())
        self.w3 = deployer.w3
        self.manifest = deploy_symphony(deployer, ChainSettings(min_stake_wei=MIN_STAKE, min_evidence_reward_wei=REWARD,
                                                                deregister_cooldown_s=60), artifacts=compile_contracts())
        self.owner = SymphonyContracts.bind(deployer, self.manifest)
        self.requester = self._account("requester", "honest", b"")
        self.actors: list[Actor] = []
        self.centres = [_centre(d) for d in range(DOMAINS)]
        for i in range(args.honest):
            d = i % DOMAINS
            self._join(f"honest{i}", "honest", _noisy(self.centres[d], 12, self.rng), d)
        self.farmer_requester: Actor | None = None
        self._add_attackers(scenario)
        self.wealth0 = {a.address: self._wealth(a) for a in self.actors + self._requesters()}

    # -- setup -------------------------------------------------------------------------------------------
    def _account(self, name: str, kind: str, capability: bytes, domain: int = -1) -> Actor:
        account = Account.from_key(bytes.fromhex(f"{(hash((name, self.args.seed)) & (2**255 - 1)) | 1:064x}"))
        self.node.rpc("anvil_setBalance", [account.address, hex(100 * 10**18)])
        client = ChainClient(self.node.rpc_url, account.key.to_0x_hex(), w3=self.w3)
        return Actor(name, kind, SymphonyContracts.bind(client, self.manifest), capability, domain)

    def _join(self, name: str, kind: str, capability: bytes, domain: int = -1) -> Actor:
        actor = self._account(name, kind, capability, domain)
        actor.send(actor.contracts.ledger.register, name, "scripted", "", [], capability, 4, MIN_STAKE)
        self.actors.append(actor)
        return actor

    def _add_attackers(self, scenario: str) -> None:
        n = round(self.args.honest * 0.3 / 0.7)  # attackers are 30 % of the network
        perfect = [vectors.pack(c) for c in self.centres]
        mean = vectors.pack([round(sum(c[i] for c in self.centres) / DOMAINS) for i in range(32)])
        plan: list[tuple[str, bytes, int]] = []
        if scenario == "liars":
            plan = [("liars", perfect[i % DOMAINS], i % DOMAINS) for i in range(n)]
        elif scenario == "mean_vector":
            plan = [("mean_vector", mean, -1) for _ in range(n)]
        elif scenario == "sybil_swarm":
            plan = [("sybil_swarm", perfect[i % DOMAINS], i % DOMAINS) for i in range(32)]
        elif scenario == "griefers":
            plan = [("griefers", perfect[i % DOMAINS], i % DOMAINS) for i in range(n)]
        elif scenario == "vote_copiers":
            plan = [("vote_copiers", perfect[i % DOMAINS], i % DOMAINS) for i in range(n)]
        elif scenario == "farmers":
            plan = [("farmers", self._farm_vector(), 0) for _ in range(n)]
        elif scenario == "all":
            plan = [("liars", perfect[0], 0), ("mean_vector", mean, -1), ("griefers", perfect[1], 1),
                    ("vote_copiers", perfect[2], 2)] + [("farmers", self._farm_vector(), 0) for _ in range(max(n - 4, 1))]
        for i, (kind, cap, d) in enumerate(plan):
            self._join(f"{kind}{i}", kind, cap, d)
        if any(k == "farmers" for k, _, _ in plan):
            self.farmer_requester = self._account("farmer-requester", "farmers", b"")

    def _farm_vector(self) -> bytes:
        """The farmers' vector and their farm tasks' requirement: domain 0's centre exactly, so the evidence they
        farm is of domain 0's kind and their claimed match on domain 0's honest tasks is perfect. (Farm tasks are
        open auctions: domain 0's honest specialists bid on them too.)"""
        return vectors.pack(self.centres[0])

    def _requesters(self) -> list[Actor]:
        return [self.requester] + ([self.farmer_requester] if self.farmer_requester else [])

    def _wealth(self, actor: Actor) -> int:
        return self.w3.eth.get_balance(actor.address) + (actor.contracts.ledger.stake(actor.address) if actor.capability else 0)

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    # -- one task ----------------------------------------------------------------------------------------
    def run_task(self, requester: Actor, domain: int, truth: int, *, farm: bool = False) -> tuple[list[str], str | None]:
        """Post a task and drive it to its vote; returns (agents assigned to its slots, winning answer)."""
        steps = 1 if farm else STEPS
        if farm:
            chains = [ChainSpec((self._farm_vector(),), b"farm")] * CHAINS
        else:
            chains = [ChainSpec(tuple(_noisy(self.centres[domain], 8, self.rng) for _ in range(steps)), b"task") for _ in range(CHAINS)]
        task = requester.send(requester.contracts.beacon.post_task, chains, bid_window=BID_WINDOW, exec_window=EXEC_WINDOW,
                              executors=1, reward=REWARD)
        by_address = {a.address: a for a in self.actors}
        for actor in self.actors:  # slashes shrink stakes: every agent tops up before bidding (attackers' cost counted)
            self._ensure_stake(actor)
        for c, spec in enumerate(chains):
            for s in range(steps):
                for actor in self.actors:
                    if self._wants(actor, spec.requirements[s], s == steps - 1, farm):
                        self._bid(actor, task.beacon(c, s), spec.requirements)
        self.node.increase_time(BID_WINDOW + 1)
        for c in range(CHAINS):
            self._try(requester, requester.contracts.beacon.close, task.beacon(c, 0))
        votes: dict[int, tuple[Actor, str, bytes, bytes]] = {}
        self._advance(requester, task, steps, truth, votes)
        self._settle(requester, task.task_id, votes, truth)
        assigned = requester.contracts.beacon.contract.events.ExecutorAssigned().get_logs(
            from_block=task.receipt["blockNumber"], argument_filters={"taskId": task.task_id})
        winners = [e["args"]["agent"] for e in assigned]
        info = requester.contracts.vote.get(task.task_id)
        del by_address
        return winners, (info.winning_answer if info.phase == VotePhase.FINALIZED else None)

    def _wants(self, actor: Actor, requirement: bytes, final: bool, farm: bool) -> bool:
        if actor.kind == "honest":
            return vectors.cosine_wad(actor.capability, requirement) >= MIN_SCORE * 10**18
        if actor.kind == "farmers":
            return True  # their own farm tasks, and every honest task they might take
        if farm:
            return False
        if actor.kind == "vote_copiers":
            return final
        return True  # liars, mean vector, sybils and griefers bid on everything

    def _bid(self, actor: Actor, beacon: int, requirements) -> None:
        try:
            actor.send(actor.contracts.beacon.bid, beacon, requirements)
        except ContractRevert:
            pass  # book full of better bids, not eligible...: the protocol said no

    def _ensure_stake(self, actor: Actor) -> None:
        stake = actor.contracts.ledger.stake(actor.address)
        if stake < MIN_STAKE:
            actor.send(actor.contracts.ledger.add_stake, MIN_STAKE - stake)
            actor.topped_up += MIN_STAKE - stake

    def _advance(self, requester: Actor, task, steps: int, truth: int, votes) -> None:
        """All chains move at once, as agents work in parallel: every round each current executor acts; when some
        did not deliver, time passes one exec window and the requester reclaims. A chain whose step ends Unfilled
        is given up (the rest of it closed as Unfilled)."""
        b = requester.contracts.beacon
        by_address = {a.address: a for a in self.actors}
        step = [0] * CHAINS
        ok = [True] * CHAINS
        done = [False] * CHAINS
        for _ in range(40):
            progressed = True
            while progressed:  # a delivery assigns the chain's next step at once: its executor acts in the same round
                progressed = False
                waiting: list[int] = []  # beacons whose executors had their turn and did not all deliver
                for c in range(CHAINS):
                    if done[c]:
                        continue
                    beacon = task.beacon(c, step[c])
                    info = b.get(beacon)
                    if info.status == BeaconStatus.BIDDING:
                        self._try(requester, b.close, beacon)
                        info = b.get(beacon)
                    if info.status == BeaconStatus.UNFILLED:
                        self._abandon(requester, [task.beacon(c, j) for j in range(step[c] + 1, steps)])
                        done[c] = True
                        continue
                    first = None
                    if info.status == BeaconStatus.ASSIGNED:
                        for address in b.executors(beacon):
                            if not b.has_delivered(beacon, address):
                                right = self._deliver(by_address[address], task, beacon, step[c] == steps - 1, ok[c], truth, votes)
                                first = right if first is None else first
                        info = b.get(beacon)
                    if info.status == BeaconStatus.COMPLETED:
                        ok[c] = ok[c] and bool(first if first is not None else self._first.get(beacon, False))
                        self._first[beacon] = bool(first)
                        step[c] += 1
                        progressed = True
                        done[c] = step[c] == steps
                    elif info.status == BeaconStatus.ASSIGNED:
                        waiting.append(beacon)
            if all(done):
                return
            if waiting:
                self._reveal_due(requester, task.task_id, votes)  # voters reveal as soon as the phase opens
                self.node.increase_time(EXEC_WINDOW + 1)
                self._reveal_due(requester, task.task_id, votes)
                # only steps whose executors had their turn and did not deliver (a step a delivery assigned was
                # offered to its executor by the inner loop first)
                for beacon in waiting:
                    if b.get(beacon).status == BeaconStatus.ASSIGNED:
                        self._try(requester, b.reclaim_expired, beacon)

    def _deliver(self, actor: Actor, task, beacon: int, final: bool, chain_ok: bool, truth: int, votes) -> bool | None:
        """The actor's policy for a step it holds; returns whether what it delivered was right (None: nothing)."""
        kind = actor.kind
        if kind in ("sybil_swarm", "griefers"):
            return None
        right = {"honest": self.rng.random() < self.args.honest_accuracy, "mean_vector": self.rng.random() < 0.3}.get(kind, False)
        right = right and chain_ok
        if kind == "farmers" and task_is_farm(task, self):
            right = True  # its own task: the answer the farm agreed on
        answer = str(truth if right else truth + self.rng.randint(1, 9))
        result = f'{{"answer":"{answer}"}}'.encode() if kind in ("honest", "mean_vector") or right else b"x"
        try:
            if not final:
                actor.send(actor.contracts.beacon.submit_result, beacon, result)
                return right
            salt = os.urandom(32)
            actor.send(actor.contracts.beacon.commit_result, beacon, commitment(task.task_id, actor.address, answer, result, salt))
        except ContractRevert:
            return None  # e.g. DeadlinePassed: too late, the slot will be reclaimed
        votes[beacon] = (actor, answer, result, salt)
        return right

    def _reveal_due(self, requester: Actor, task_id: bytes, votes) -> None:
        """What live voters do when they see the reveal phase (workers reveal on RevealPhaseStarted): start it once
        the commit window is over, then every voter that has not revealed yet reveals, copiers last."""
        v = requester.contracts.vote
        info = v.get(task_id)
        if info.phase == VotePhase.COMMIT and self.now() > info.commit_deadline:
            self._try(requester, v.start_reveal, task_id)
            info = v.get(task_id)
        if info.phase != VotePhase.REVEAL:
            return
        for beacon, (actor, answer, result, salt) in sorted(votes.items(), key=lambda kv: kv[1][0].kind == "vote_copiers"):
            if beacon in self._revealed:
                continue
            self._revealed.add(beacon)
            if actor.kind == "vote_copiers":
                leading = v.get(task_id).winning_answer
                try:  # the copier's try: reveal the answer that leads, not the one it committed to
                    actor.send(actor.contracts.vote.reveal, task_id, leading, f'{{"answer":"{leading}"}}'.encode(), salt)
                except ContractRevert:
                    pass  # CommitmentMismatch: the delivered commitment binds it
            self._try(actor, actor.contracts.vote.reveal, task_id, answer, result, salt)

    def _settle(self, requester: Actor, task_id: bytes, votes, truth: int) -> None:
        v = requester.contracts.vote
        info = v.get(task_id)
        if info.phase == VotePhase.NONE:
            return
        if info.phase == VotePhase.COMMIT:
            if info.commits < info.expected_voters:
                self.node.increase_time(self.manifest.parameters["commit_window_s"] + 1)
            self._try(requester, v.start_reveal, task_id)
        self._reveal_due(requester, task_id, votes)
        if v.get(task_id).phase != VotePhase.FINALIZED:
            self.node.increase_time(self.manifest.parameters["reveal_window_s"] + 1)
            self._try(requester, v.finalize, task_id)

    def _abandon(self, requester: Actor, beacons: list[int]) -> None:
        for beacon in beacons:
            self._try(requester, requester.contracts.beacon.close, beacon)

    @staticmethod
    def _try(actor: Actor, fn, *args) -> bool:
        try:
            actor.send(fn, *args)
            return True
        except ContractRevert:
            return False

    # -- the run -----------------------------------------------------------------------------------------
    def run(self) -> Outcome:
        started = time.perf_counter()
        out = Outcome(self.scenario)
        attackers = {a.address for a in self.actors if a.attacker}
        self._first: dict[int, bool] = {}
        self._revealed: set[int] = set()  # final beacons whose voter revealed (or tried to)
        for t in range(self.args.tasks):
            for liar in (a for a in self.actors if a.kind == "liars"):
                # v1's attack: declare the next requirement. v2 schedules it PROFILE_DELAY ahead: it never counts.
                liar.send(liar.contracts.ledger.update, "scripted", "", [], vectors.pack(self.centres[t % DOMAINS]), 4)
            if self.farmer_requester is not None:
                for _ in range(self.args.farm_tasks):
                    self.run_task(self.farmer_requester, 0, 1, farm=True)
            domain = t % DOMAINS
            truth = self.rng.randint(10, 99)
            winners, answer = self.run_task(self.requester, domain, truth)
            out.attacker_share.append(sum(w in attackers for w in winners) / max(len(winners), 1))
            out.correct.append(answer == str(truth))
        self._money(out)
        out.seconds = time.perf_counter() - started
        return out

    def _money(self, out: Outcome) -> None:
        ledger = self.owner.ledger.contract
        slashed: dict[str, int] = {}
        for e in ledger.events.StakeSlashed().get_logs(from_block=self.manifest.deploy_block):
            slashed[e["args"]["agent"]] = slashed.get(e["args"]["agent"], 0) + int(e["args"]["amount"])
        fees = {}
        for e in self.owner.beacon.contract.events.TaskPosted().get_logs(from_block=self.manifest.deploy_block):
            escrow = int(e["args"]["rewardPerExecutor"]) * int(e["args"]["executors"]) * int(e["args"]["chains"]) * STEPS
            fees[e["args"]["requester"]] = fees.get(e["args"]["requester"], 0) + escrow // 10
        group = [a for a in self.actors if a.attacker] + ([self.farmer_requester] if self.farmer_requester else [])
        out.attacker_profit_wei = sum(self._wealth(a) - self.wealth0[a.address] for a in group)
        out.attacker_slashed_wei = sum(slashed.get(a.address, 0) for a in group)
        out.attacker_gas = sum(a.gas for a in group)
        out.attacker_cost_wei = sum(a.gas_eth for a in group) + out.attacker_slashed_wei + sum(fees.get(a.address, 0) for a in group)
        honest = [a for a in self.actors if not a.attacker]
        out.honest_slashed_wei = sum(slashed.get(a.address, 0) for a in honest)
        out.honest_pay_wei = sum(self._wealth(a) - self.wealth0[a.address] + a.gas_eth + slashed.get(a.address, 0) for a in honest)


def task_is_farm(task, net: Network) -> bool:
    return net.farmer_requester is not None and net.owner.beacon.task_requester(task.task_id) == net.farmer_requester.address


def _scenario(name: str, args: argparse.Namespace) -> Outcome:
    with AnvilNode() as node:
        return Network(node, name, args).run()


def _detectors_hook(node: AnvilNode, rounds: int, seed: int, tmp: Path) -> dict | None:
    path = ROOT / "scripts" / "adversarial_detectors.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("adversarial_detectors", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while the class is built
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.run_self_trading_detectors(node, tmp / "deployment.json", rounds, seed)


def _after(values: list[float], start: int) -> float:
    tail = values[start:]
    return statistics.mean(tail) if tail else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=60, help="honest tasks per scenario")
    parser.add_argument("--honest", type=int, default=14)
    parser.add_argument("--honest-accuracy", type=float, default=0.95)
    parser.add_argument("--farm-tasks", type=int, default=1, help="farm tasks the farmers post before each honest task")
    parser.add_argument("--after", type=int, default=50, help="the share goal applies after this many tasks")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--detector-rounds", type=int, default=50)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--jobs", type=int, default=2, help="scenarios run in parallel (each on its own anvil)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench_adversarial.json")
    args = parser.parse_args()
    scenarios = [s for s in args.scenarios.split(",") if s]
    outcomes: dict[str, Outcome] = {}
    from concurrent.futures import ProcessPoolExecutor

    compile_contracts()  # once, before the workers: they load the cached artifacts
    with ProcessPoolExecutor(max_workers=max(args.jobs, 1)) as pool:
        futures = {name: pool.submit(_scenario, name, args) for name in scenarios}
        for name in scenarios:
            outcomes[name] = futures[name].result()
            print(f"{LABELS[name]:<30} done in {outcomes[name].seconds:.0f} s", flush=True)
    detectors = None
    with AnvilNode() as node:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            detectors = _detectors_hook(node, args.detector_rounds, args.seed, Path(tmp))

    clean = statistics.mean(outcomes["clean"].correct) if "clean" in outcomes else None
    rows = []
    for name, o in outcomes.items():
        accuracy = statistics.mean(o.correct)
        rows.append({
            "scenario": name, "label": LABELS[name],
            "attacker_share": o.attacker_share,
            "attacker_share_first_10": _after(o.attacker_share[:10], 0),
            "attacker_share_after": _after(o.attacker_share, args.after),
            "attacker_profit_eth": o.attacker_profit_wei / 1e18, "attacker_cost_eth": o.attacker_cost_wei / 1e18,
            "attacker_slashed_eth": o.attacker_slashed_wei / 1e18, "attacker_gas": o.attacker_gas,
            "honest_payment_eth": o.honest_pay_wei / 1e18, "honest_slashed_eth": o.honest_slashed_wei / 1e18,
            "accuracy": accuracy, "accuracy_drop_points": None if clean is None else 100 * (clean - accuracy),
            "seconds": o.seconds,
        })
    if detectors is not None:
        share = detectors["attacker_share"]
        rows.append({"scenario": "self_trading_detectors", "label": "(vii) self-trading detectors",
                     "attacker_share": share, "attacker_share_first_10": _after(share[:10], 0),
                     "attacker_share_after": _after(share, min(args.after, max(len(share) - 10, 0))),
                     "attacker_profit_eth": detectors["attacker_profit_eth"], "attacker_cost_eth": detectors["attacker_cost_eth"],
                     "attacker_gas": detectors["attacker_gas"], "honest_payment_eth": detectors["honest_payment_eth"],
                     "accuracy": None, "accuracy_drop_points": None, "extra": {k: v for k, v in detectors.items() if k != "attacker_share"}})
    header = (f"{'scenario':<30}{'share 1-10':>11}{f'share >{args.after}':>11}{'profit ETH':>12}{'cost ETH':>11}"
              f"{'gas':>12}{'honest pay':>12}{'accuracy':>10}{'drop pts':>9}")
    print()
    print(f"Adversarial benchmark, protocol v2: {args.honest} honest agents, {args.tasks} honest tasks of {CHAINS} chains x "
          f"{STEPS} steps per scenario, reward {REWARD} wei per slot, honest step accuracy {args.honest_accuracy}")
    print(header)
    for r in rows:
        acc = "" if r["accuracy"] is None else f"{100 * r['accuracy']:.0f} %"
        drop = "" if r["accuracy_drop_points"] is None else f"{r['accuracy_drop_points']:+.1f}"
        print(f"{r['label']:<30}{100 * r['attacker_share_first_10']:>10.1f}%{100 * r['attacker_share_after']:>10.1f}%"
              f"{r['attacker_profit_eth']:>12.6f}{r['attacker_cost_eth']:>11.6f}{r['attacker_gas']:>12,}"
              f"{r['honest_payment_eth']:>12.6f}{acc:>10}{drop:>9}")
    if detectors is None:
        print(f"{'(vii) self-trading detectors':<30} (vii) pending: scripts/adversarial_detectors.py is not in this tree")
    goal_share = all(r["attacker_share_after"] <= 0.05 for r in rows if r["scenario"] not in ("clean",))
    goal_acc = all((r["accuracy_drop_points"] or 0) <= 5 for r in rows)
    print(f"goals: attacker share <= 5 % after {args.after} tasks: {'met' if goal_share else 'NOT met'}; "
          f"accuracy drop <= 5 points: {'met' if goal_acc else 'NOT met'}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    settings = {k: v for k, v in vars(args).items() if k != "out"}
    args.out.write_text(json.dumps({"settings": settings, "rows": rows, "detectors_pending": detectors is None}, indent=1))
    _plot(rows, args, args.out.with_suffix(".png"))
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")
    return 0


def _plot(rows: list[dict], args: argparse.Namespace, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5))
    for r in rows:
        if r["scenario"] == "clean":
            continue
        share = r["attacker_share"]
        window = 5
        smooth = [statistics.mean(share[max(0, i - window + 1): i + 1]) for i in range(len(share))]
        ax.plot(range(1, len(share) + 1), [100 * s for s in smooth], label=r["label"])
    ax.axhline(5, color="black", linestyle="--", linewidth=1, label="goal: 5 %")
    ax.axvline(args.after, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("task (attackers' rounds for (vii))")
    ax.set_ylabel("attackers' share of assigned slots, % (5-task mean)")
    ax.set_title("Protocol v2: attackers' share of the work over time")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    sys.exit(main())
