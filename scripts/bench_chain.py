#!/usr/bin/env python
"""Chain benchmark: gas of every protocol call, gas and throughput of a full 3-agent task lifecycle, and event ->
consumer latency of the durable event stream (websocket wake-up vs plain polling), on an embedded anvil.

Prints a table and writes results/bench_chain.json. Goals (issue #2): lifecycle <= 600k gas; event latency p50 <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chain import vectors  # noqa: E402
from chain.bindings import SymphonyContracts  # noqa: E402
from chain.checkpoints import CheckpointStore  # noqa: E402
from chain.client import ChainClient  # noqa: E402
from chain.compile import compile_contracts, compiler_version  # noqa: E402
from chain.deploy import deploy_symphony  # noqa: E402
from chain.events import EventSource, EventStream  # noqa: E402
from chain.node import AnvilNode  # noqa: E402
from chain.settings import ChainSettings  # noqa: E402

STAKE = 10**16


def _vec(seed: int) -> bytes:
    import random

    rng = random.Random(seed)
    return vectors.pack([rng.randint(-127, 127) for _ in range(32)])


class Lifecycle:
    """One requester and three agents on a fresh deployment."""

    def __init__(self, node: AnvilNode) -> None:
        self.node = node
        deployer = ChainClient(node.rpc_url, node.dev_accounts[0].key.to_0x_hex())
        self.manifest = deploy_symphony(deployer, ChainSettings(), artifacts=compile_contracts())
        self.requester = SymphonyContracts.bind(deployer, self.manifest)
        self.agents = [SymphonyContracts.bind(ChainClient(node.rpc_url, node.dev_accounts[i].key.to_0x_hex()), self.manifest) for i in (1, 2, 3)]
        self.gas: dict[str, list[int]] = {}

    def record(self, name: str, receipt) -> None:
        self.gas.setdefault(name, []).append(int(receipt["gasUsed"]))

    def register_all(self) -> None:
        for i, a in enumerate(self.agents):
            self.record("register", a.ledger.register(f"agent{i}", "smollm2-135m-instruct", f"http://127.0.0.1:{9000 + i}", ["math", "reasoning", "tools"], _vec(i), 4, STAKE))
            self.record("heartbeat", a.ledger.heartbeat(True, 4))
            self.record("update", a.ledger.update("smollm2-135m-instruct", f"http://127.0.0.1:{9000 + i}", ["math", "reasoning"], _vec(i), 4))

    def run_once(self, n: int) -> int:
        """One full lifecycle; returns its total gas (intrinsic 21k per transaction included)."""
        task = n.to_bytes(32, "big")
        total = 0

        def rec(name, receipt):
            nonlocal total
            self.record(name, receipt)
            total += int(receipt["gasUsed"])

        beacon_id, receipt = self.requester.beacon.post(task, 0, 0, _vec(100 + n), b'{"v":1,"question":"What is 2+2?"}', bid_window=1, exec_window=600, executors=3, is_final=True, reward=3 * 10**12)
        rec("postBeacon", receipt)
        for a in self.agents:
            rec("bid", a.beacon.bid(beacon_id))
        self.node.increase_time(2)
        rec("close", self.requester.beacon.close(beacon_id))
        for i, a in enumerate(self.agents):
            rec("submitResult", a.beacon.submit_result(beacon_id, b'{"v":1,"output":"2+2=4","answer":"4"}'))
        salts = [os.urandom(32) for _ in self.agents]
        answers = ["4", "4", "5"]
        for a, ans, salt in zip(self.agents, answers, salts):
            rec("commit", a.vote.commit(task, beacon_id, ans, bytes(32), salt))
        for a, ans, salt in zip(self.agents, answers, salts):
            rec("reveal", a.vote.reveal(task, ans, bytes(32), salt))
        rec("finalize", self.requester.vote.finalize(task))
        return total

    def extra_paths(self) -> None:
        """Gas of the calls a happy lifecycle does not make: reclaim, startReveal, deregister, withdraw."""
        task = (10**9).to_bytes(32, "big")
        beacon_id, _ = self.requester.beacon.post(task, 0, 0, _vec(7), b"{}", bid_window=1, exec_window=5, executors=1)
        self.agents[0].beacon.bid(beacon_id)
        self.agents[1].beacon.bid(beacon_id)
        self.node.increase_time(2)
        self.requester.beacon.close(beacon_id)
        self.node.increase_time(10)
        self.record("reclaimExpired (reassign)", self.requester.beacon.reclaim_expired(beacon_id))
        task2 = (10**9 + 1).to_bytes(32, "big")
        beacon2, _ = self.requester.beacon.post(task2, 0, 0, _vec(8), b"{}", bid_window=1, exec_window=600, executors=2, is_final=True)
        for a in self.agents[:2]:
            a.beacon.bid(beacon2)
        self.node.increase_time(2)
        self.requester.beacon.close(beacon2)
        for a in self.agents[:2]:
            a.beacon.submit_result(beacon2, b"r")
        self.agents[0].vote.commit(task2, beacon2, "x", bytes(32), bytes(32))
        self.node.increase_time(self.manifest.parameters["commit_window_s"] + 1)
        self.record("startReveal", self.requester.vote.start_reveal(task2))
        self.record("deregister", self.agents[2].ledger.deregister())
        self.node.increase_time(self.manifest.parameters["deregister_cooldown_s"] + 1)
        self.record("withdrawStake", self.agents[2].ledger.withdraw_stake())


def measure_latency(node: AnvilNode, samples: int, use_ws: bool) -> dict[str, float]:
    """Send `samples` heartbeats one at a time; time from send (and from receipt) to the consumer's yield."""
    deployer = ChainClient(node.rpc_url, node.dev_accounts[0].key.to_0x_hex())
    manifest = deploy_symphony(deployer, ChainSettings(), artifacts=compile_contracts())
    agent = SymphonyContracts.bind(ChainClient(node.rpc_url, node.dev_accounts[4].key.to_0x_hex()), manifest)
    agent.ledger.register("latency", "m", "e", [], _vec(1), 2, STAKE)
    ledger = agent.ledger.contract
    stream = EventStream(ChainClient(node.rpc_url).w3, "bench", [EventSource(ledger.address, ledger.abi, ("Heartbeat",))], CheckpointStore(), start_block=node_block(node))
    received: dict[int, float] = {}
    sent: dict[int, tuple[float, float]] = {}

    async def consume(stop: asyncio.Event) -> None:
        async for event in stream.follow(poll_interval=0.05, ws_url=node.ws_url if use_ws else None, stop=stop):
            received[int(event.args["freeCapacity"])] = time.perf_counter()
            stream.ack(event)

    async def produce() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(consume(stop))
        await asyncio.sleep(0.5)
        for i in range(samples):
            capacity = i % 2 + 1
            t_send = time.perf_counter()
            await asyncio.to_thread(agent.ledger.heartbeat, True, capacity)
            t_mined = time.perf_counter()
            while capacity not in received or received[capacity] < t_send:
                await asyncio.sleep(0.001)
            sent[i] = (received[capacity] - t_send, received[capacity] - t_mined)
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
    parser.add_argument("--latency-samples", type=int, default=100)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench_chain.json")
    args = parser.parse_args()

    settings = {"node": "anvil 1.7.1 (embedded, automine, 127.0.0.1)", "compiler": compiler_version(), "evm": "cancun", "optimizer_runs": 200,
                "machine": f"{platform.machine()}, {os.cpu_count()} cores", "lifecycles": args.lifecycles, "latency_samples": args.latency_samples}
    with AnvilNode() as node:
        bench = Lifecycle(node)
        bench.register_all()
        totals = []
        start = time.perf_counter()
        for n in range(args.lifecycles):
            totals.append(bench.run_once(n))
        elapsed = time.perf_counter() - start
        bench.extra_paths()
    with AnvilNode() as node:
        latency_ws = measure_latency(node, args.latency_samples, use_ws=True)
    with AnvilNode() as node:
        latency_poll = measure_latency(node, args.latency_samples, use_ws=False)

    per_call = {name: statistics.mean(v) for name, v in bench.gas.items()}
    lifecycle_gas = statistics.mean(totals)
    result = {
        "settings": settings,
        "gas_per_call": per_call,
        "lifecycle_gas": lifecycle_gas,
        "lifecycle_gas_goal": 600_000,
        "lifecycles_per_second": args.lifecycles / elapsed,
        "latency_websocket_wakeup": latency_ws,
        "latency_polling_50ms": latency_poll,
        "latency_goal_p50_ms": 50,
    }
    print(f"Symphony chain benchmark — {settings['node']}, solc {settings['compiler'].split()[-1]}, {settings['machine']}")
    print()
    print(f"{'call':<28}{'gas (mean, incl. 21k intrinsic)':>34}")
    for name, gas in per_call.items():
        print(f"{name:<28}{gas:>34,.0f}")
    print()
    verdict = "meets" if lifecycle_gas <= 600_000 else "misses"
    print(f"3-agent lifecycle (post, 3 bids, close, 3 results, 3 commits, 3 reveals, finalize): {lifecycle_gas:,.0f} gas ({verdict} the 600k goal)")
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
