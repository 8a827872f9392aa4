#!/usr/bin/env python
"""Soak / load benchmark (issue #15): N real agent workers × M tasks on anvil under a fault schedule.

What runs: N `symphony agent run` processes (tiny random model by default, `--model default` for SmolLM2-135M), each
reaching anvil only through its own fault proxy (tests/reliability/rpc_proxy.py), and C requester lanes in this
process, each an agents.requester.Requester with its own account and proxy, asking the M questions one after the
other (K chains per task; plans alternate one-step and two-step chains, so both open results and vote commitments
are delivered; the plans are fixed, not sampled: what is measured is the network, not the planner).

Fault schedule (at fractions of the tasks answered, so it scales with M): SIGKILL of a random worker, restarted a few
seconds later on the same state (it must resume by itself); RPC cuts of several seconds through the proxies (one
worker, all workers, or the requesters and a worker); one reorg (anvil_reorg) while a freshly posted beacon is open:
the newest blocks are replaced by new ones carrying the same transactions (what a real chain does with the
transactions of abandoned blocks), under a short cut of every proxy so no transaction lands in between. With
`--abandons N`, a requester posts N tasks and is gone at once (it never closes, reclaims or moves the vote, like a
requester that crashed right after posting): the workers' keepers (agents.task_keeper) must finish them.

Everything counted is read from the chain at the end (canonical logs from the deploy block), never from the workers'
or requesters' own logs. Definitions (printed with the results):
- posted: a TaskPosted of one of the soak's requesters;
- lost: posted, but no final outcome by the end of the run plus the grace period; final = TaskSettled, or every beacon
  of the task Unfilled (its escrow credited back to the requester), or TaskCancelled with no beacon left open;
- duplicated: anything counted twice: a question posted as two tasks (the question's number is in the payload), a
  second delivery (ResultSubmitted / VoteCommitted) by the same agent on the same beacon or more deliveries than the
  beacon's slots (each delivery pays its executor in the same transaction, so this also counts double payments), a
  second VoteRevealed for one final beacon, a second TaskSettled for one task;
- lifecycle latency: TaskSettled block time minus TaskPosted block time (the chain's clock);
- event-stream lag: the chain head minus each worker's durable checkpoint (its events SQLite), sampled every 2 s;
- worker RSS: psutil, every 2 s, per process life (a restarted worker is a new life); warm-up = a life's first 60 s;
  growth = the mean of the last fifth minus the mean of the second fifth of what follows, for at least 60 s of it.

Runs committed (docs/reliability.md reads them):
    # results/soak.json, results/soak.png: the issue's size, tiny model (580 s of asking on 2 shared cores)
    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python scripts/soak.py --agents 8 --tasks 200 --kills 5 --cuts 5
    # results/soak_default.json, results/soak_default.png: shorter, the default model (SmolLM2-135M)
    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python scripts/soak.py --agents 4 --tasks 16 --model default --kills 2 \
        --cuts 2 --json results/soak_default.json --png results/soak_default.png
The exact command of a run is stored in its JSON ("command"). The first short run (4 × 30, before the fixes in
agents/) hung one requester lane (LateCommitment) and lost bids to cuts; tests/reliability/test_soak.py runs
2 × 4 with --cut-mode bids.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _frozen_home() -> None:
    """Run on the contracts as committed (`git archive HEAD contracts`), not on the working tree's: a checkout shared
    with people editing the contracts would otherwise change the ABI between the deploy and a worker's restart
    (a restarted worker compiles again and refuses the deployment). Everything else is linked from the checkout."""
    if os.environ.get("SYMPHONY_HOME"):
        return
    import atexit
    import shutil

    home = Path(tempfile.mkdtemp(prefix="soak-home-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)  # links and a copy of contracts/: nothing else is in it
    for entry in ROOT.iterdir():
        if entry.name not in ("contracts", ".git"):
            (home / entry.name).symlink_to(entry)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "HEAD", "contracts"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(home)], input=archive, check=True)
    os.environ["SYMPHONY_HOME"] = str(home)


_frozen_home()

from agents.capability import encode_vector  # noqa: E402
from agents.payloads import PayloadError, SubtaskPayload  # noqa: E402
from agents.planner import Plan  # noqa: E402
from agents.requester import Requester, RequesterSettings  # noqa: E402
from chain.bindings import SymphonyContracts  # noqa: E402
from chain.bindings.beacon import BeaconStatus  # noqa: E402
from chain.client import ChainClient  # noqa: E402
from chain.compile import compile_contracts  # noqa: E402
from chain.deploy import deploy_symphony  # noqa: E402
from chain.node import AnvilNode  # noqa: E402
from chain.settings import ChainSettings  # noqa: E402
from tests.reliability.rpc_proxy import RpcProxy  # noqa: E402

SYMPHONY = [sys.executable, "-m", "symphony.cli.main"]
REWARD = 10**12  # wei per delivered slot (at minEvidenceReward): every delivery is a payment
DEFINITIONS = {
    "posted": "a TaskPosted event of one of the soak's requesters",
    "lost": "posted, but no final outcome by the end of the run plus the grace period; final = TaskSettled, or every "
            "beacon Unfilled (escrow credited back), or TaskCancelled with no beacon left open",
    "duplicated": "counted twice on chain: one question posted as two tasks; a second ResultSubmitted/VoteCommitted by "
                  "the same agent on one beacon, or more deliveries than slots (a delivery pays in the same "
                  "transaction: double payments); a second VoteRevealed for one final beacon; a second TaskSettled",
    "latency": "TaskSettled block timestamp minus TaskPosted block timestamp",
    "lag": "chain head minus a worker's durable event checkpoint, in blocks and seconds",
    "rss_growth": "per worker process life, after its first 60 s (warm-up), over at least 60 s: mean RSS of the last "
                  "fifth minus mean of the second fifth",
}
ABANDONED_BID_WINDOW_S = 15  # the bid window of the tasks the gone requester posts (see _abandon)
QUESTIONS = ("What is {a} + {b}?", "What is {a} * {b}?", "How many letters r are in the word strawberry{a}?",
             "What is {a} minus {b}?")


class FixedPlanner:
    """The planner interface Requester uses (max_steps, plans), with fixed plans: chain c of a task has 1 + (task + c)
    % 2 steps, so both non-final results and vote commitments are exercised at every K."""

    max_steps = 2

    def __init__(self) -> None:
        self.counter = 0
        self._lock = threading.Lock()

    def plans(self, question: str, k: int) -> tuple[list[Plan], int]:
        with self._lock:
            n, self.counter = self.counter, self.counter + 1
        plans = []
        for c in range(k):
            if (n + c) % 2:
                plans.append(Plan(("Work out the intermediate result.", "State the final answer."), "fallback"))
            else:
                plans.append(Plan(("Work out the answer to the question and state it.",), "fallback"))
        return plans, 0


@dataclass
class Worker:
    index: int
    name: str
    key: str
    address: str
    config: Path
    log: Path
    proxy: RpcProxy
    proc: subprocess.Popen | None = None
    life: int = 0
    started_at: float = 0.0


@dataclass
class Abandoner:
    """A requester that posts a task and is gone: its tasks are counted like the lanes', by the chain."""

    requester: Requester
    posted: list[str] = field(default_factory=list)


@dataclass
class Soak:
    args: argparse.Namespace
    work: Path
    node: AnvilNode
    t0: float = field(default_factory=time.time)
    workers: list[Worker] = field(default_factory=list)
    lane_proxies: list[RpcProxy] = field(default_factory=list)
    faults: list[dict] = field(default_factory=list)
    samples: list[dict] = field(default_factory=list)
    asks: list[dict] = field(default_factory=list)
    answered: int = 0
    abandoner: Abandoner | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def now(self) -> float:
        return round(time.time() - self.t0, 2)

    def fault(self, kind: str, **detail: object) -> None:
        entry = {"t": self.now(), "kind": kind, **detail}
        self.faults.append(entry)
        print(f"  [{entry['t']:7.1f} s] fault: {kind} {json.dumps(detail)}", flush=True)


def _start_worker(soak: Soak, w: Worker) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYMPHONY_") or k == "SYMPHONY_HOME"}
    env.update({"SYMPHONY_STATE_DIR": str(soak.work / "state"), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1",
                "SYMPHONY_PRIVATE_KEY": w.key})
    w.life += 1
    with open(w.log, "a") as log:
        log.write(f"\n==== life {w.life} at {soak.now()} s ====\n")
        log.flush()
        w.proc = subprocess.Popen([*SYMPHONY, "agent", "run", "--config", str(w.config)], cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
    w.started_at = time.time()


def _setup_workers(soak: Soak, manifest: Path, model: Path, accounts) -> None:  # noqa: ANN001 - LocalAccounts
    a = soak.args
    capabilities = ("careful arithmetic and step by step reasoning about numbers", "counting letters and items in text",
                    "logic and word problems", "general questions, answered briefly")
    for i in range(a.agents):
        proxy = RpcProxy(soak.node.rpc_url).start()
        name = f"soak{i}"
        config = {"chain": {"manifest": str(manifest), "rpc_url": proxy.url},
                  "agent": {"name": name, "capability": capabilities[i % len(capabilities)], "capacity": 1,
                            "state_dir": str(soak.work / "state"), "heartbeat_interval_s": 20, "poll_interval_s": 0.25,
                            "llm": {"model": str(model), "device": "cpu", "max_new_tokens": a.max_new_tokens,
                                    "temperature": 0.0, "cpu_threads": 1}}}
        path = soak.work / f"{name}.json"
        path.write_text(json.dumps(config))
        account = accounts[1 + i]
        soak.workers.append(Worker(i, name, account.key.to_0x_hex(), account.address, path, soak.work / f"{name}.log", proxy))
    for w in soak.workers:
        _start_worker(soak, w)


def _lane(soak: Soak, lane: int, key: str, manifest, queue: list[int]) -> None:  # noqa: ANN001 - Manifest
    a = soak.args
    proxy = soak.lane_proxies[lane]
    contracts = SymphonyContracts.bind(ChainClient(proxy.url, key), manifest)
    settings = RequesterSettings(chains=a.chains, bid_window_s=a.bid_window, exec_window_s=a.exec_window,
                                 reward_wei=REWARD, vote_timeout_s=a.vote_timeout, min_plan_steps=1, max_plan_steps=2,
                                 repost_delay_s=1.0)
    planner = FixedPlanner()
    requester = Requester(contracts, planner, encode_vector, settings)
    try:
        while not soak.stop.is_set():
            with soak.lock:
                if not queue:
                    return
                n = queue.pop(0)
            x, y = random.Random(n).randint(2, 99), random.Random(n + 7).randint(2, 99)
            question = f"[soak {n}] " + QUESTIONS[n % len(QUESTIONS)].format(a=x, b=y)
            start = time.time()
            entry: dict = {"task": n, "lane": lane, "start": round(start - soak.t0, 2)}
            # A hung ask is reported as one (cancelled after --ask-timeout), not left to block the soak for ever.
            watchdog = threading.Timer(a.ask_timeout, requester.cancel)
            watchdog.start()
            try:
                result = requester.ask(question)
                entry.update(ok=True, task_id=result.task_id, answer=result.answer,
                             failed_chains=sum(c.error is not None for c in result.chains))
            except Exception as exc:  # what a user would see: recorded, never retried (that would hide the fault)
                entry.update(ok=False, error=f"{type(exc).__name__}: {str(exc)[:300]}")
            finally:
                watchdog.cancel()
            if requester.auction.cancelled:  # a cancelled requester stays cancelled: the next question gets a new one
                entry["hung"] = True
                requester.close()
                requester = Requester(contracts, planner, encode_vector, settings)
            entry["seconds"] = round(time.time() - start, 2)
            with soak.lock:
                soak.asks.append(entry)
                soak.answered += 1
                done = soak.answered
            status = "ok" if entry["ok"] else entry["error"][:120]
            print(f"  [{soak.now():7.1f} s] task {n:4d} lane {lane} {entry['seconds']:6.1f} s ({done}/{a.tasks}) {status}", flush=True)
    finally:
        requester.close()


# -- faults ---------------------------------------------------------------------------------------------------
def _kill(soak: Soak, rng: random.Random) -> None:
    w = rng.choice(soak.workers)
    if w.proc is None or w.proc.poll() is not None:
        return
    w.proc.send_signal(signal.SIGKILL)
    w.proc.wait()
    down = rng.uniform(1.0, 4.0)
    soak.fault("sigkill", worker=w.name, life=w.life, restart_after_s=round(down, 1))
    if not soak.stop.wait(down):
        _start_worker(soak, w)


def _cut(soak: Soak, rng: random.Random, direct: SymphonyContracts) -> None:
    seconds = round(rng.uniform(3.0, 8.0), 1)
    mode = rng.choice(("one worker", "all workers", "requesters and a worker")) if soak.args.cut_mode == "random" else "bids"
    if mode == "bids":  # every worker's next bid never reaches the node, and its link is down for `seconds`
        selector = direct.beacon.contract.get_function_by_name("bid")(0, [])._encode_transaction_data()[2:10].encode()
        for w in soak.workers:
            w.proxy.cut_on((b"eth_sendRawTransaction", selector), seconds, forward=False)
        soak.fault("rpc_cut", mode=mode, targets=["every worker's next bid"], seconds=seconds)
        return
    if mode == "one worker":
        targets = [rng.choice(soak.workers)]
        names = [t.name for t in targets]
        proxies = [t.proxy for t in targets]
    elif mode == "all workers":
        proxies, names = [w.proxy for w in soak.workers], ["all workers"]
    else:
        w = rng.choice(soak.workers)
        proxies, names = [*soak.lane_proxies, w.proxy], ["requesters", w.name]
    for p in proxies:
        p.cut(seconds)
    soak.fault("rpc_cut", mode=mode, targets=names, seconds=seconds)


def _reorg(soak: Soak, direct: SymphonyContracts, rng: random.Random) -> None:
    """Wait (up to 60 s) for a beacon still open for bids whose posting is in the newest blocks, then replace
    the blocks from its posting block up to the head with new blocks holding the same transactions."""
    w3 = direct.client.w3
    deadline = time.time() + 60
    while time.time() < deadline and not soak.stop.is_set():
        head = w3.eth.block_number
        posted = direct.beacon.contract.events.ChainPosted().get_logs(from_block=max(head - 4, 0), to_block=head)
        open_ = [e for e in posted if direct.beacon.get(int(e["args"]["chainId"]) * 8).status == BeaconStatus.BIDDING]
        if open_:
            proxies = [w.proxy for w in soak.workers] + soak.lane_proxies
            for p in proxies:
                p.cut(3.0)  # nothing lands while the blocks are swapped
            time.sleep(0.5)  # requests already in flight finish
            head = w3.eth.block_number
            first = min(int(e["blockNumber"]) for e in open_)
            depth = max(1, min(head - first + 1, 6))
            txs = []
            for i, number in enumerate(range(head - depth + 1, head + 1)):
                block = w3.eth.get_block(number)
                for tx in block["transactions"]:
                    txs.append([soak.node.rpc("eth_getRawTransactionByHash", [tx.to_0x_hex()]), i])
            old = w3.eth.get_block(head)["hash"].to_0x_hex()
            soak.node.rpc("anvil_reorg", [depth, txs])
            new = w3.eth.get_block(head)["hash"].to_0x_hex()
            soak.fault("reorg", depth=depth, transactions=len(txs), open_beacons=len(open_), head=head,
                       old_head_hash=old[:12], new_head_hash=new[:12])
            return
        time.sleep(0.2)
    soak.fault("reorg_skipped", reason="no open beacon within 60 s")


def _abandon(soak: Soak) -> None:
    """Post one task as a real requester would (planner, requirement vectors, payloads), then walk away."""
    assert soak.abandoner is not None
    a, requester = soak.args, soak.abandoner.requester
    n = a.tasks + len(soak.abandoner.posted)  # a question number no lane asks
    question = f"[soak {n}] " + QUESTIONS[n % len(QUESTIONS)].format(a=n % 90 + 2, b=n % 7 + 2)
    plans, _ = requester.planner.plans(question, a.chains)
    specs = requester.chain_specs(question, [p.steps for p in plans])
    # A live requester re-opens a step whose short window every bid missed (BeaconReopened); a gone one never will,
    # so its window must be one the workers can meet under load (on 2 cores a bid can land 3 s after the posting).
    window = max(a.bid_window, ABANDONED_BID_WINDOW_S)
    task = requester.contracts.beacon.post_task(specs, bid_window=window, exec_window=a.exec_window, executors=1,
                                                reward=REWARD)
    soak.abandoner.posted.append("0x" + task.task_id.hex())
    # The next fault waits until every step holds a bid (or the window is long over): a bid cut right after the
    # posting would take every bid on it, and with nobody to re-open the steps the outcome is a refund (the keepers
    # close them Unfilled), not the keepers' settlement this fault is about. One fault at a time, as for the others.
    steps = [b for chain in requester.contracts.beacon.task_beacons(task.task_id) for b in chain]
    deadline = time.time() + window + 30
    while time.time() < deadline and not soak.stop.is_set():
        if all(requester.contracts.beacon.get(b).bids > 0 for b in steps):
            break
        time.sleep(0.2)
    bids = [requester.contracts.beacon.get(b).bids for b in steps]
    soak.fault("requester_gone", task_id="0x" + task.task_id.hex(), chains=len(specs), bids_per_step=bids,
               note="posted, then nothing: no close, reclaim or vote move")


def _fault_loop(soak: Soak, direct: SymphonyContracts) -> None:
    a = soak.args
    rng = random.Random(a.seed)
    schedule: list[tuple[float, str]] = []
    for i in range(a.kills):
        schedule.append(((i + 1) / (a.kills + 1) - 0.05, "kill"))
    for i in range(a.cuts):
        schedule.append(((i + 1) / (a.cuts + 1) + 0.05, "cut"))
    if a.reorg:
        schedule.append((0.5, "reorg"))
    for i in range(a.abandons):
        schedule.append(((i + 1) / (a.abandons + 1) + 0.02, "abandon"))
    schedule.sort()
    for fraction, kind in schedule:
        target = max(1, int(fraction * a.tasks))
        while soak.answered < target and not soak.stop.is_set():
            time.sleep(0.2)
        if soak.stop.is_set():
            return
        try:
            {"kill": lambda: _kill(soak, rng), "cut": lambda: _cut(soak, rng, direct), "reorg": lambda: _reorg(soak, direct, rng),
             "abandon": lambda: _abandon(soak)}[kind]()
        except Exception as exc:  # a fault that could not be injected is reported, not hidden
            soak.fault(f"{kind}_failed", error=f"{type(exc).__name__}: {exc}")


# -- measurements -----------------------------------------------------------------------------------------------
def _checkpoint(state: Path, name: str) -> int | None:
    for db in state.glob(f"{name}-*.events.sqlite"):
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
                row = conn.execute("SELECT block FROM checkpoint").fetchone()
            return int(row[0]) if row else None
        except sqlite3.Error:
            return None
    return None


def _sample_loop(soak: Soak, direct: SymphonyContracts) -> None:
    import psutil

    w3 = direct.client.w3
    timestamps: dict[int, int] = {}

    def ts(n: int) -> int:
        if n not in timestamps:
            timestamps[n] = int(w3.eth.get_block(n)["timestamp"])
        return timestamps[n]

    while not soak.stop.wait(2.0):
        try:
            head = w3.eth.block_number
            head_ts = int(w3.eth.get_block(head)["timestamp"])
            timestamps.clear() if len(timestamps) > 10_000 else None
            for w in soak.workers:
                rss = None
                if w.proc is not None and w.proc.poll() is None:
                    try:
                        rss = psutil.Process(w.proc.pid).memory_info().rss
                    except psutil.Error:
                        pass
                checkpoint = _checkpoint(soak.work / "state", w.name)
                lag_blocks = None if checkpoint is None else max(head - checkpoint, 0)
                lag_s = None if checkpoint is None else (max(head_ts - ts(checkpoint), 0) if checkpoint < head else 0)
                soak.samples.append({"t": soak.now(), "worker": w.name, "life": w.life, "rss": rss, "head": head,
                                     "lag_blocks": lag_blocks, "lag_s": lag_s})
        except Exception:  # the chain may be cut or being reorganised right now: skip this sample
            continue


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    index = (len(values) - 1) * q
    lo, hi = int(index), min(int(index) + 1, len(values) - 1)
    return round(values[lo] + (values[hi] - values[lo]) * (index - lo), 1)


def _audit(direct: SymphonyContracts, deploy_block: int, requesters: set[str]) -> dict:
    """Everything the chain says about the soak's tasks (canonical logs only)."""
    beacon, vote = direct.beacon.contract.events, direct.vote.contract.events
    w3 = direct.client.w3
    head = w3.eth.block_number

    def logs(event) -> list:  # noqa: ANN001 - a web3 event
        out, start = [], deploy_block
        while start <= head:
            end = min(start + 4999, head)
            out += event.get_logs(from_block=start, to_block=end)
            start = end + 1
        return out

    block_time: dict[int, int] = {}

    def when(n: int) -> int:
        if n not in block_time:
            block_time[n] = int(w3.eth.get_block(n)["timestamp"])
        return block_time[n]

    posted = {bytes(e["args"]["taskId"]): e for e in logs(beacon.TaskPosted()) if e["args"]["requester"] in requesters}
    question_of: dict[bytes, int | None] = {}
    chains_of: dict[bytes, list[int]] = {}
    steps_of: dict[int, int] = {}
    for e in logs(beacon.ChainPosted()):
        tid = bytes(e["args"]["taskId"])
        if tid not in posted:
            continue
        chains_of.setdefault(tid, []).append(int(e["args"]["chainId"]))
        steps_of[int(e["args"]["chainId"])] = len(e["args"]["requirements"])
        try:
            q = SubtaskPayload.decode(bytes(e["args"]["payload"])).question
            question_of[tid] = int(q.split("]")[0].removeprefix("[soak ")) if q.startswith("[soak ") else None
        except (PayloadError, ValueError):
            question_of[tid] = None
    settled: dict[bytes, list] = {}
    for e in logs(beacon.TaskSettled()):
        settled.setdefault(bytes(e["args"]["taskId"]), []).append(e)
    cancelled = {bytes(e["args"]["taskId"]) for e in logs(beacon.TaskCancelled())}
    deliveries: dict[int, list[str]] = {}
    for e in logs(beacon.ResultSubmitted()):
        deliveries.setdefault(int(e["args"]["beaconId"]), []).append(e["args"]["agent"])
    for e in logs(vote.VoteCommitted()):
        deliveries.setdefault(int(e["args"]["beaconId"]), []).append(e["args"]["voter"])
    reveals: dict[int, int] = {}
    for e in logs(vote.VoteRevealed()):
        reveals[int(e["args"]["beaconId"])] = reveals.get(int(e["args"]["beaconId"]), 0) + 1

    lost, latencies, refunded, statuses = [], [], 0, {}
    outcome_of: dict[str, str] = {}
    dup = {"posts": 0, "deliveries_same_agent": 0, "deliveries_over_slots": 0, "reveals": 0, "settlements": 0}
    by_question: dict[int, int] = {}
    for tid, e in posted.items():
        q = question_of.get(tid)
        if q is not None:
            by_question[q] = by_question.get(q, 0) + 1
        executors = int(e["args"]["executors"])
        beacons = [c * 8 + s for c in chains_of.get(tid, []) for s in range(steps_of[c])]
        status = [direct.beacon.get(b).status for b in beacons]
        for b in beacons:
            agents = deliveries.get(b, [])
            dup["deliveries_same_agent"] += len(agents) - len(set(agents))
            dup["deliveries_over_slots"] += max(len(agents) - executors, 0)
            dup["reveals"] += max(reveals.get(b, 0) - 1, 0)
        dup["settlements"] += max(len(settled.get(tid, [])) - 1, 0)
        open_beacons = sum(s in (BeaconStatus.NONE, BeaconStatus.BIDDING, BeaconStatus.ASSIGNED) for s in status)
        if tid in settled:
            outcome = "settled"
            latencies.append(when(int(settled[tid][0]["blockNumber"])) - when(int(e["blockNumber"])))
        elif status and all(s == BeaconStatus.UNFILLED for s in status):
            outcome, refunded = "refunded", refunded + 1
        elif tid in cancelled and open_beacons == 0:
            outcome, refunded = "cancelled", refunded + 1
        else:
            outcome = "lost"
            lost.append({"task_id": "0x" + tid.hex(), "question": q, "beacons": {b: s.name for b, s in zip(beacons, status)},
                         "deliveries": {b: deliveries.get(b, []) for b in beacons}})
        statuses[outcome] = statuses.get(outcome, 0) + 1
        outcome_of["0x" + tid.hex()] = outcome
    dup["posts"] = sum(n - 1 for n in by_question.values() if n > 1)
    return {"posted": len(posted), "outcomes": statuses, "outcome_of": outcome_of, "settled": statuses.get("settled", 0), "refunded": refunded,
            "lost": len(lost), "lost_tasks": lost[:20], "duplicated": sum(dup.values()), "duplicates": dup,
            "questions_posted": len(by_question), "latencies_s": latencies,
            "deliveries": sum(len(v) for v in deliveries.values())}


WARM_UP_S = 60.0  # a worker life's first minute: importing torch and loading the model
DYING = 16 * 2**20  # a sample this small is a process just SIGKILLed and not yet reaped


def _rss_growth(samples: list[dict]) -> list[dict]:
    lives: dict[tuple[str, int], list[tuple[float, int]]] = {}
    for s in samples:
        if s["rss"] is not None and s["rss"] >= DYING:
            lives.setdefault((s["worker"], s["life"]), []).append((s["t"], s["rss"]))
    out = []
    for (name, life), points in sorted(lives.items()):
        points = [(t, r) for t, r in points if t >= points[0][0] + WARM_UP_S]  # loading the model is not growth
        if len(points) < 10 or points[-1][0] - points[0][0] < 60:
            continue
        fifth = len(points) // 5
        warm = statistics.mean(r for _, r in points[fifth:2 * fifth])
        last = statistics.mean(r for _, r in points[-fifth:])
        out.append({"worker": name, "life": life, "seconds": round(points[-1][0] - points[0][0], 1),
                    "warm_mb": round(warm / 2**20, 1), "last_mb": round(last / 2**20, 1),
                    "growth_mb": round((last - warm) / 2**20, 1)})
    return out


def _warm_rss(samples: list[dict]) -> list[float]:
    """RSS (MiB) of every sample taken after its worker life's warm-up."""
    born: dict[tuple[str, int], float] = {}
    out = []
    for s in samples:
        if s["rss"] is None or s["rss"] < DYING:
            continue
        start = born.setdefault((s["worker"], s["life"]), s["t"])
        if s["t"] >= start + WARM_UP_S:
            out.append(s["rss"] / 2**20)
    return out


def _plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 1, figsize=(10, 10), sharex=True)
    asks = [a for a in report["asks"] if a["ok"]]
    axes[0].scatter([a["start"] + a["seconds"] for a in asks], [a["seconds"] for a in asks], s=8, label="ask wall time")
    axes[0].set_ylabel("task latency (s)")
    by_worker: dict[str, list[tuple[float, float]]] = {}
    lag: dict[str, list[tuple[float, float]]] = {}
    for s in report["samples"]:
        if s["rss"] is not None:
            by_worker.setdefault(s["worker"], []).append((s["t"], s["rss"] / 2**20))
        if s["lag_blocks"] is not None:
            lag.setdefault(s["worker"], []).append((s["t"], s["lag_blocks"]))
    for name, pts in sorted(by_worker.items()):
        axes[1].plot([t for t, _ in pts], [r for _, r in pts], ".", ms=2, label=name)
    axes[1].set_ylabel("worker RSS (MiB)")
    axes[1].legend(fontsize=7, ncol=4)
    for name, pts in sorted(lag.items()):
        axes[2].plot([t for t, _ in pts], [r for _, r in pts], lw=0.7, label=name)
    axes[2].set_ylabel("event-stream lag (blocks)")
    axes[2].set_xlabel("seconds since start")
    colors = {"sigkill": "red", "rpc_cut": "orange", "reorg": "purple"}
    for f in report["faults"]:
        for ax in axes:
            ax.axvline(f["t"], color=colors.get(f["kind"], "grey"), lw=0.8, alpha=0.6)
    axes[0].set_title(f"soak: {report['config']['agents']} agents × {report['config']['tasks']} tasks "
                      f"({report['config']['model']}); red kill, orange RPC cut, purple reorg")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def table(report: dict) -> str:
    r, c = report["result"], report["config"]
    rows = [
        ("configuration", f"{c['agents']} agents × {c['tasks']} tasks, K = {c['chains']}, {c['lanes']} requester lanes, "
                          f"model {c['model']}"),
        ("faults", ", ".join(f"{k} {v}" for k, v in report["fault_counts"].items()) or "none"),
        ("tasks posted / asks failed before posting", f"{r['posted']} / {r['not_posted']}"),
        ("tasks completed (settled) / refunded", f"{r['settled']} / {r['refunded']}"),
        ("lost (goal 0)", str(r["lost"])),
        ("requester gone after posting: tasks / settled by the keepers", f"{len(r['abandoned'])} / "
                                                                          f"{sum(o == 'settled' for o in r['abandoned'].values())}"),
        ("duplicated (goal 0)", f"{r['duplicated']} {r['duplicates']}"),
        ("asks that raised (of which hung, cancelled)", f"{r['asks_failed']} ({r['asks_hung']})"),
        ("lifecycle latency p50 / p95", f"{r['latency_p50_s']} s / {r['latency_p95_s']} s"),
        ("tasks per minute", str(r["tasks_per_minute"])),
        ("worker RSS after warm-up (max growth)", f"{r['rss_mb_range']} MiB ({r['rss_max_growth_mb']} MiB)"),
        ("event-stream lag p50 / p95 / max", f"{r['lag_blocks_p50']} / {r['lag_blocks_p95']} / {r['lag_blocks_max']} blocks "
                                             f"(max {r['lag_s_max']} s)"),
        ("wall time", f"{r['wall_s']} s"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"| {k.ljust(width)} | {v} |" for k, v in rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--agents", type=int, default=4)
    p.add_argument("--tasks", type=int, default=30)
    p.add_argument("--lanes", type=int, default=None, help="requesters asking at once (default: agents // 2)")
    p.add_argument("--chains", type=int, default=2, help="K chains per task")
    p.add_argument("--model", default="tiny", help="tiny (random, built here), default (SmolLM2-135M) or a folder")
    p.add_argument("--max-new-tokens", type=int, default=16)
    p.add_argument("--kills", type=int, default=3)
    p.add_argument("--cuts", type=int, default=3)
    p.add_argument("--no-reorg", dest="reorg", action="store_false")
    p.add_argument("--abandons", type=int, default=0, help="tasks posted by a requester that is gone at once")
    p.add_argument("--cut-mode", choices=("random", "bids"), default="random",
                   help="random: cut one worker, every worker, or the requesters and a worker at a random moment; bids: "
                        "drop every worker's next bid transaction and cut its link (the bid-outage case, deterministic)")
    p.add_argument("--bid-window", type=int, default=2)
    p.add_argument("--exec-window", type=int, default=40)
    p.add_argument("--vote-timeout", type=float, default=300.0)
    p.add_argument("--ask-timeout", type=float, default=420.0, help="cancel an ask still running after this long")
    p.add_argument("--grace", type=float, default=90.0, help="seconds after the last ask for open tasks to finish")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--logs", type=Path, default=None, help="copy the workers' logs into this folder")
    p.add_argument("--json", type=Path, default=ROOT / "results" / "soak.json")
    p.add_argument("--png", type=Path, default=ROOT / "results" / "soak.png")
    a = p.parse_args(argv)
    a.lanes = a.lanes or max(1, a.agents // 2)
    random.seed(a.seed)
    print("definitions:")
    for k, v in DEFINITIONS.items():
        print(f"  {k}: {v}")

    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        work = Path(tmp)
        if a.model == "tiny":
            from agents.llm.tiny import build_tiny_model

            model = build_tiny_model(work / "tiny", seed=0)
        elif a.model == "default":
            from agents.llm.models import prepare_default_model

            model = Path(prepare_default_model())
        else:
            model = Path(a.model)
        node = AnvilNode(accounts=2 + a.agents + a.lanes).start()  # deployer, workers, lanes, the abandoner
        soak = Soak(a, work, node)
        threads: list[threading.Thread] = []
        try:
            accounts = node.dev_accounts
            deployer = ChainClient(node.rpc_url, accounts[0].key.to_0x_hex())
            manifest = deploy_symphony(deployer, ChainSettings(min_stake_wei=10**16, commit_window_s=60, reveal_window_s=30),
                                       artifacts=compile_contracts())
            manifest_path = manifest.save(work / "deployment.json")
            direct = SymphonyContracts.bind(deployer, manifest)
            _setup_workers(soak, manifest_path, model, accounts)
            deadline = time.time() + 600
            while direct.ledger.active_count() < a.agents:
                if time.time() > deadline or any(w.proc.poll() is not None for w in soak.workers):
                    raise SystemExit("workers did not register:\n" + "\n".join(w.log.read_text()[-1500:] for w in soak.workers))
                time.sleep(0.5)
            print(f"  [{soak.now():7.1f} s] {a.agents} workers registered; asking {a.tasks} questions on {a.lanes} lanes", flush=True)
            soak.t0 = time.time()
            lane_keys = [accounts[1 + a.agents + j].key.to_0x_hex() for j in range(a.lanes)]
            requesters = {accounts[1 + a.agents + j].address for j in range(a.lanes)}
            gone = accounts[1 + a.agents + a.lanes]
            requesters.add(gone.address)
            soak.abandoner = Abandoner(Requester(SymphonyContracts.bind(ChainClient(node.rpc_url, gone.key.to_0x_hex()), manifest),
                                                 FixedPlanner(), encode_vector, RequesterSettings(chains=a.chains)))
            soak.lane_proxies = [RpcProxy(node.rpc_url).start() for _ in range(a.lanes)]
            queue = list(range(a.tasks))
            lanes = [threading.Thread(target=_lane, args=(soak, j, lane_keys[j], manifest, queue), daemon=True) for j in range(a.lanes)]
            faults = threading.Thread(target=_fault_loop, args=(soak, direct), daemon=True)
            threads = [threading.Thread(target=_sample_loop, args=(soak, direct), daemon=True), faults]
            for t in threads + lanes:
                t.start()
            for t in lanes:
                t.join()
            asked_s = time.time() - soak.t0
            # Grace: tasks still open (e.g. a vote waiting for a reveal) get time to finish by themselves.
            grace_end = time.time() + a.grace
            while time.time() < grace_end:
                audit = _audit(direct, manifest.deploy_block, requesters)
                if audit["lost"] == 0 and not faults.is_alive():  # and every scheduled fault was injected
                    break
                time.sleep(5)
            soak.stop.set()
            for t in threads:
                t.join(timeout=70)
            audit = _audit(direct, manifest.deploy_block, requesters)
        finally:
            soak.stop.set()
            if soak.abandoner is not None:
                soak.abandoner.requester.close()
            for w in soak.workers:
                if w.proc is not None and w.proc.poll() is None:
                    w.proc.terminate()
            for w in soak.workers:
                if w.proc is not None:
                    try:
                        w.proc.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        w.proc.kill()
            for proxy in [w.proxy for w in soak.workers] + soak.lane_proxies:
                proxy.stop()
            logs_tail = {w.name: w.log.read_text()[-4000:] for w in soak.workers}
            if a.logs is not None:
                import shutil

                a.logs.mkdir(parents=True, exist_ok=True)
                for w in soak.workers:
                    shutil.copy(w.log, a.logs / w.log.name)
            node.stop()
        stats_lines = {w.name: next((l for l in reversed(w.log.read_text().splitlines()) if "WorkerStats" in l), None)
                       for w in soak.workers}
        errors_in_logs = {w.name: sum("Traceback" in l or "failed" in l for l in w.log.read_text().splitlines())
                          for w in soak.workers}

    lat = audit.pop("latencies_s")
    outcome_of = audit.pop("outcome_of")
    abandoned = {t: outcome_of.get(t, "not found") for t in (soak.abandoner.posted if soak.abandoner else [])}
    growth = _rss_growth(soak.samples)
    rss = _warm_rss(soak.samples)
    lag_b = [s["lag_blocks"] for s in soak.samples if s["lag_blocks"] is not None]
    lag_s = [s["lag_s"] for s in soak.samples if s["lag_s"] is not None]
    ok_asks = [x for x in soak.asks if x["ok"]]
    settled_times = [x["start"] + x["seconds"] for x in ok_asks]
    fault_counts: dict[str, int] = {}
    for f in soak.faults:
        fault_counts[f["kind"]] = fault_counts.get(f["kind"], 0) + 1
    result = {
        **audit,
        "abandoned": abandoned,
        "not_posted": sum(1 for x in soak.asks if not x["ok"] and "task_id" not in x) - max(
            0, audit["posted"] - len(abandoned) - sum(1 for x in soak.asks if x["ok"])),
        "asks_failed": sum(1 for x in soak.asks if not x["ok"]),
        "asks_hung": sum(1 for x in soak.asks if x.get("hung")),
        "latency_p50_s": _percentile(lat, 0.5), "latency_p95_s": _percentile(lat, 0.95),
        "ask_wall_p50_s": _percentile([x["seconds"] for x in ok_asks], 0.5),
        "ask_wall_p95_s": _percentile([x["seconds"] for x in ok_asks], 0.95),
        "tasks_per_minute": round(audit["settled"] / (max(settled_times) / 60), 2) if settled_times else 0.0,
        "rss_mb_range": f"{min(rss):.0f}-{max(rss):.0f}" if rss else "n/a",
        "rss_max_growth_mb": max((g["growth_mb"] for g in growth), default=None),
        "rss_growth": growth,
        "lag_blocks_p50": _percentile(lag_b, 0.5), "lag_blocks_p95": _percentile(lag_b, 0.95),
        "lag_blocks_max": max(lag_b, default=None), "lag_s_max": max(lag_s, default=None),
        "wall_s": round(asked_s, 1),
        "worker_stats": stats_lines, "worker_log_error_lines": errors_in_logs,
    }
    result["not_posted"] = max(result["not_posted"], 0)
    report = {
        "command": " ".join(["scripts/soak.py", *(argv if argv is not None else sys.argv[1:])]),
        "config": {"agents": a.agents, "tasks": a.tasks, "lanes": a.lanes, "chains": a.chains, "model": a.model,
                   "max_new_tokens": a.max_new_tokens, "bid_window_s": a.bid_window, "exec_window_s": a.exec_window,
                   "kills": a.kills, "cuts": a.cuts, "abandons": a.abandons, "cut_mode": a.cut_mode, "reorg": a.reorg, "grace_s": a.grace, "seed": a.seed},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "definitions": DEFINITIONS, "result": result, "fault_counts": fault_counts, "faults": soak.faults,
        "asks": soak.asks, "samples": soak.samples,
    }
    a.json.parent.mkdir(parents=True, exist_ok=True)
    a.json.write_text(json.dumps(report, indent=1, default=str))
    try:
        _plot(report, a.png)
    except Exception as exc:
        print(f"plot failed: {exc}")
    print("\n" + table(report))
    if audit["lost"]:
        print("\nlost tasks:", json.dumps(audit["lost_tasks"][:5], indent=1, default=str))
        for name, tail in logs_tail.items():
            print(f"--- {name} log tail ---\n{tail[-1500:]}")
    print(f"\nwrote {a.json} and {a.png}")
    return 0 if audit["lost"] == 0 and audit["duplicated"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
