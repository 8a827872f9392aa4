#!/usr/bin/env python
"""Chain benchmark: gas of every protocol call, of a full 3-agent task lifecycle and of a whole K = 3 question for
the requester, next to protocol v1's numbers; plus event -> consumer latency of the durable event stream
(websocket wake-up vs plain polling), on an embedded anvil.

Parties are scripted Python actors on the real contracts (no LLM): the point is what the protocol costs.
Prints a table and writes results/bench_chain.json. Goals (issue #14): lifecycle <= 700k gas, requester per K = 3
question <= 1.0M gas; event latency p50 <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chain import vectors  # noqa: E402
from chain.bindings import SymphonyContracts  # noqa: E402
from chain.bindings.beacon import ChainSpec  # noqa: E402
from chain.bindings.vote import commitment  # noqa: E402
from chain.checkpoints import CheckpointStore  # noqa: E402
from chain.client import ChainClient  # noqa: E402
from chain.compile import compile_contracts, compiler_version  # noqa: E402
from chain.deploy import deploy_symphony  # noqa: E402
from chain.events import EventSource, EventStream  # noqa: E402
from chain.node import AnvilNode  # noqa: E402
from chain.settings import ChainSettings  # noqa: E402

STAKE = 10**17
REWARD = 10**12  # wei per delivered slot: at minEvidenceReward, so votes record evidence
LIFECYCLE_GOAL = 700_000
REQUESTER_GOAL = 1_000_000
# Protocol v1 (results/bench_chain.json before issue #14; the issue quotes the same numbers).
V1 = {
    "lifecycle": 1_276_145,
    "requester_per_question": "2.1-2.6M",
    "calls": {"register": 313_228, "heartbeat": 26_266, "update": 60_520, "postBeacon": 175_142, "bid": 70_309,
              "close": 83_091, "submitResult": 82_119, "commit": 97_860, "reveal": 67_934, "finalize": 63_247,
              "reclaimExpired (reassign)": 66_531, "startReveal": 28_613, "deregister": 38_190, "withdrawStake": 32_460},
}


def _vec(seed: int) -> bytes:
    rng = random.Random(seed)
    return vectors.pack([rng.randint(-127, 127) for _ in range(32)])


def _near(base: bytes, noise: int, seed: int) -> bytes:
    rng = random.Random(seed)
    return vectors.pack([max(-127, min(127, c + rng.randint(-noise, noise))) for c in vectors.unpack(base)])


class Bench:
    """One requester and four agents on a fresh deployment."""

    def __init__(self, node: AnvilNode) -> None:
        self.node = node
        deployer = ChainClient(node.rpc_url, node.dev_accounts[0].key.to_0x_hex())
        self.manifest = deploy_symphony(deployer, ChainSettings(min_stake_wei=STAKE), artifacts=compile_contracts())
        self.requester = SymphonyContracts.bind(deployer, self.manifest)
        self.agents = [SymphonyContracts.bind(ChainClient(node.rpc_url, node.dev_accounts[i].key.to_0x_hex()), self.manifest)
                       for i in (1, 2, 3, 4)]
        self.gas: dict[str, list[int]] = {}
        self.requirement = _vec(100)

    def record(self, name: str, receipt) -> int:
        gas = int(receipt["gasUsed"])
        self.gas.setdefault(name, []).append(gas)
        return gas

    def register_all(self) -> None:
        for i, a in enumerate(self.agents):
            cap = _near(self.requirement, 10 + 15 * i, i)
            self.record("register", a.ledger.register(f"agent{i}", "smollm2-135m-instruct", f"http://127.0.0.1:{9000 + i}",
                                                      ["math", "reasoning", "tools"], cap, 4, STAKE))
            self.record("heartbeat", a.ledger.heartbeat(True))
            self.record("update (model, endpoint, capacity)", a.ledger.update("smollm2-135m-instruct", f"http://127.0.0.1:{9100 + i}",
                                                                              ["math", "reasoning", "tools"], cap, 4))

    def lifecycle(self, n: int) -> int:
        """One full 3-agent lifecycle: post (one final step, k = 3), 3 bids, close, 3 commitments, 3 reveals (the
        last one finalizes and settles). Returns its total gas (21k intrinsic per transaction included)."""
        total = 0
        agents = self.agents[:3]
        req = self.requirement
        task = self.requester.beacon.post_task([ChainSpec((req,), b'{"v":1,"question":"What is 2+2?"}')], bid_window=1,
                                               exec_window=600, executors=3, reward=REWARD)
        total += self.record("postTask (1 chain, 1 step, k=3)", task.receipt)
        beacon = task.beacon(0, 0)
        for a in agents:
            total += self.record("bid", a.beacon.bid(beacon, [req]))
        self.node.increase_time(2)
        total += self.record("close", self.requester.beacon.close(beacon))
        answers = ["4", "4", "5"]
        result = b'{"v":1,"output":"2+2=4","answer":"4"}'
        salts = [os.urandom(32) for _ in agents]
        for a, ans, salt in zip(agents, answers, salts):
            c = commitment(task.task_id, a.client.address, ans, result, salt)
            total += self.record("commitResult (final delivery = vote commitment)", a.beacon.commit_result(beacon, c))
        for i, (a, ans, salt) in enumerate(zip(agents, answers, salts)):
            name = "reveal (completes the vote: finalize + settle)" if i == 2 else "reveal"
            total += self.record(name, a.vote.reveal(task.task_id, ans, result, salt))
        return total

    def question(self, steps: tuple[int, ...] = (5, 5, 6)) -> tuple[int, int, int]:
        """One K = 3 question of ~16 beacons as Requester.ask drives it: postTask, one close per chain; agents bid on
        every step, deliver step by step (each delivery assigns the next step) and vote. Returns (requester gas,
        everyone's gas, beacons)."""
        requester_gas = 0
        everyone = 0
        req = self.requirement
        plan_payload = json.dumps({"v": 1, "question": "Natalia sold clips to 48 of her friends in April, and then she "
                                   "sold half as many clips in May. How many clips did Natalia sell altogether?",
                                   "plan": [f"step {i}: work it out carefully and write down the result" for i in range(max(steps))],
                                   "step_index": 0, "previous": [], "final": False}).encode()
        chains = [ChainSpec(tuple(_near(req, 5 * (s + 1), 1000 * c + s) for s in range(n)), plan_payload) for c, n in enumerate(steps)]
        task = self.requester.beacon.post_task(chains, bid_window=60, exec_window=600, executors=1, reward=REWARD)
        requester_gas += int(task.receipt["gasUsed"])
        self.record("postTask (3 chains, 16 steps)", task.receipt)
        for c, spec in enumerate(chains):
            for s in range(len(spec.requirements)):
                for a in self.agents:
                    everyone += int(a.beacon.bid(task.beacon(c, s), spec.requirements)["gasUsed"])
        self.node.increase_time(61)
        for c in range(len(chains)):
            receipt = self.requester.beacon.close(task.beacon(c, 0))
            requester_gas += int(receipt["gasUsed"])
            self.record("close (first step of a chain)", receipt)
        by_address = {a.client.address: a for a in self.agents}
        salts: dict[int, tuple[SymphonyContracts, bytes]] = {}
        result = b'{"v":1,"output":"48 + 24 = 72","answer":"72"}'
        for c, spec in enumerate(chains):
            for s in range(len(spec.requirements)):
                beacon = task.beacon(c, s)
                executor = by_address[self.requester.beacon.executors(beacon)[0]]
                if s + 1 < len(spec.requirements):
                    receipt = executor.beacon.submit_result(beacon, result)
                    self.record("submitResult (assigns the next step)", receipt)
                else:
                    salt = os.urandom(32)
                    receipt = executor.beacon.commit_result(beacon, commitment(task.task_id, executor.client.address, "72", result, salt))
                    salts[beacon] = (executor, salt)
                everyone += int(receipt["gasUsed"])
        for beacon, (executor, salt) in salts.items():
            everyone += int(executor.vote.reveal(task.task_id, "72", result, salt)["gasUsed"])
        assert self.requester.vote.get(task.task_id).winning_answer == "72"
        return requester_gas, everyone + requester_gas, sum(steps)

    def extra_paths(self) -> None:
        """Gas of the calls a happy lifecycle does not make: reclaim, startReveal, finalize after a timeout, exits."""
        req = self.requirement
        task = self.requester.beacon.post_task([ChainSpec((req,), b"{}")], bid_window=1, exec_window=5)
        beacon = task.beacon(0, 0)
        self.agents[0].beacon.bid(beacon, [req])
        self.agents[1].beacon.bid(beacon, [req])
        self.node.increase_time(2)
        self.requester.beacon.close(beacon)
        self.node.increase_time(10)
        self.record("reclaimExpired (slash + reassign)", self.requester.beacon.reclaim_expired(beacon))
        task2 = self.requester.beacon.post_task([ChainSpec((req,), b"{}")], bid_window=1, exec_window=600, executors=2)
        beacon2 = task2.beacon(0, 0)
        for a in self.agents[:2]:
            a.beacon.bid(beacon2, [req])
        self.node.increase_time(2)
        self.requester.beacon.close(beacon2)
        salt = bytes(32)
        self.agents[0].beacon.commit_result(beacon2, commitment(task2.task_id, self.agents[0].client.address, "x", b"r", salt))
        self.node.increase_time(self.manifest.parameters["commit_window_s"] + 1)
        self.record("startReveal (after the commit window)", self.requester.vote.start_reveal(task2.task_id))
        self.node.increase_time(self.manifest.parameters["reveal_window_s"] + 1)
        self.record("finalize (after the reveal window)", self.requester.vote.finalize(task2.task_id))
        self.record("deregister", self.agents[3].ledger.deregister())
        self.node.increase_time(self.manifest.parameters["deregister_cooldown_s"] + 1)
        self.record("withdrawStake", self.agents[3].ledger.withdraw_stake())


def measure_latency(node: AnvilNode, samples: int, use_ws: bool) -> dict[str, float]:
    """Send `samples` heartbeats one at a time; time from send (and from receipt) to the consumer's yield."""
    deployer = ChainClient(node.rpc_url, node.dev_accounts[0].key.to_0x_hex())
    manifest = deploy_symphony(deployer, ChainSettings(), artifacts=compile_contracts())
    agent = SymphonyContracts.bind(ChainClient(node.rpc_url, node.dev_accounts[4].key.to_0x_hex()), manifest)
    agent.ledger.register("latency", "m", "e", [], _vec(1), 2, 10**16)
    ledger = agent.ledger.contract
    stream = EventStream(ChainClient(node.rpc_url).w3, "bench", [EventSource(ledger.address, ledger.abi, ("Heartbeat",))], CheckpointStore(), start_block=node_block(node))
    received: dict[bool, float] = {}
    sent: dict[int, tuple[float, float]] = {}

    async def consume(stop: asyncio.Event) -> None:
        async for event in stream.follow(poll_interval=0.05, ws_url=node.ws_url if use_ws else None, stop=stop):
            received[bool(event.args["available"])] = time.perf_counter()
            stream.ack(event)

    async def produce() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(consume(stop))
        await asyncio.sleep(0.5)
        for i in range(samples):
            available = i % 2 == 0
            t_send = time.perf_counter()
            await asyncio.to_thread(agent.ledger.heartbeat, available)
            t_mined = time.perf_counter()
            while available not in received or received[available] < t_send:
                await asyncio.sleep(0.001)
            sent[i] = (received[available] - t_send, received[available] - t_mined)
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(produce())
    from_send = sorted(v[0] * 1000 for v in sent.values())
    from_mined = sorted(max(v[1], 0.0) * 1000 for v in sent.values())
    return {
        "p50_from_send_ms": statistics.median(from_send),
        "p95_from_send_ms": from_send[int(0.95 * (len(from_send) - 1))],
        "p50_from_receipt_ms": statistics.median(from_mined),
        "p95_from_receipt_ms": from_mined[int(0.95 * (len(from_mined) - 1))],
    }


def node_block(node: AnvilNode) -> int:
    return int(str(node.rpc("eth_blockNumber")), 16)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lifecycles", type=int, default=20)
    parser.add_argument("--questions", type=int, default=3)
    parser.add_argument("--latency-samples", type=int, default=100)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench_chain.json")
    args = parser.parse_args()

    settings = {"node": "anvil 1.7.1 (embedded, automine, 127.0.0.1)", "compiler": compiler_version(), "evm": "cancun", "optimizer_runs": 200,
                "machine": f"{platform.machine()}, {os.cpu_count()} cores", "lifecycles": args.lifecycles, "questions": args.questions,
                "latency_samples": args.latency_samples, "reward_per_slot_wei": REWARD}
    with AnvilNode() as node:
        bench = Bench(node)
        bench.register_all()
        totals = []
        start = time.perf_counter()
        for n in range(args.lifecycles):
            totals.append(bench.lifecycle(n))
        elapsed = time.perf_counter() - start
        questions = [bench.question() for _ in range(args.questions)]
        bench.extra_paths()
    with AnvilNode() as node:
        latency_ws = measure_latency(node, args.latency_samples, use_ws=True)
    with AnvilNode() as node:
        latency_poll = measure_latency(node, args.latency_samples, use_ws=False)

    per_call = {name: statistics.mean(v) for name, v in bench.gas.items()}
    steady = statistics.mean(totals[1:]) if len(totals) > 1 else totals[0]
    requester = statistics.mean(q[0] for q in questions)
    everyone = statistics.mean(q[1] for q in questions)
    result = {
        "settings": settings,
        "gas_per_call": per_call,
        "lifecycle_gas_first": totals[0],
        "lifecycle_gas": steady,
        "lifecycle_gas_goal": LIFECYCLE_GOAL,
        "requester_gas_per_question": requester,
        "requester_gas_goal": REQUESTER_GOAL,
        "all_parties_gas_per_question": everyone,
        "beacons_per_question": questions[0][2],
        "lifecycles_per_second": args.lifecycles / elapsed,
        "v1": V1,
        "latency_websocket_wakeup": latency_ws,
        "latency_polling_50ms": latency_poll,
        "latency_goal_p50_ms": 50,
    }
    print(f"Symphony chain benchmark (protocol v2) — {settings['node']}, solc {settings['compiler'].split()[-1]}, {settings['machine']}")
    print()
    print(f"{'call':<50}{'v2 gas (mean, incl. 21k)':>26}")
    for name, gas in per_call.items():
        print(f"{name:<50}{gas:>26,.0f}")
    print()
    print(f"{'':<58}{'v1':>12}{'v2':>12}{'goal':>12}")
    print(f"{'3-agent lifecycle, agents with a record (mean)':<58}{V1['lifecycle']:>12,}{steady:>12,.0f}{LIFECYCLE_GOAL:>12,}")
    print(f"{'3-agent lifecycle, first (fresh evidence slots)':<58}{'':>12}{totals[0]:>12,}{'':>12}")
    print(f"{'requester gas per K = 3 question (~16 beacons)':<58}{V1['requester_per_question']:>12}{requester:>12,.0f}{REQUESTER_GOAL:>12,}")
    print(f"{'all parties per K = 3 question':<58}{'':>12}{everyone:>12,.0f}{'':>12}")
    verdict = [f"lifecycle {'meets' if steady <= LIFECYCLE_GOAL else 'misses'} the 700k goal",
               f"requester {'meets' if requester <= REQUESTER_GOAL else 'misses'} the 1.0M goal"]
    print("; ".join(verdict))
    print(f"lifecycles per second on anvil (incl. 1 evm_increaseTime each): {result['lifecycles_per_second']:.2f}")
    print()
    print(f"{'event -> consumer latency (ms)':<34}{'p50 send':>10}{'p95 send':>10}{'p50 mined':>11}{'p95 mined':>11}")
    for label, lat in (("websocket wake-up + getLogs", latency_ws), ("getLogs polling every 50 ms", latency_poll)):
        print(f"{label:<34}{lat['p50_from_send_ms']:>10.1f}{lat['p95_from_send_ms']:>10.1f}{lat['p50_from_receipt_ms']:>11.1f}{lat['p95_from_receipt_ms']:>11.1f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
