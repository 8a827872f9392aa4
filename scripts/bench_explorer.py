#!/usr/bin/env python
"""Explorer benchmark: how fast `symphony explorer` ingests a busy chain and how fast its page comes up.

A scripted network on an embedded anvil (no LLM): tasks of 16 chains x 8 steps until about 1,000 beacons exist,
every beacon bid on by several agents, then step 0 of every chain closed (assignments). Measured:
- ingest: a fresh explorer (in-memory checkpoint, replaying from the deploy block) follows the whole chain
  through the durable event stream; events/s over the catch-up, plus the first projection build;
- /api/state and /api/task/N: time and size of the first (cold) and of later (warm) requests;
- the page in headless Chromium (when /usr/bin/chromium exists): first contentful paint and the time until the
  agents and the newest task are rendered, from navigation start;
- live: a second deployment on the same anvil where scripted parties (scripts/bench_chain.py's `Bench`, the one
  driver of whole questions without an LLM) settle soak-shaped tasks back to back — 3 chains of 2, 1, 2 steps,
  4 agents bidding on every step, deliveries and a commit-reveal vote — while a served explorer follows at its
  default poll interval and a client reads /api/state four times a second, as the page does on every change. Per
  task: the lag from its settling transaction to the first /api/state that shows it settled; the event rate the
  chain produced against the soak's measured task rate (results/soak.json).
Prints a table and writes results/bench_explorer.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from chain import vectors  # noqa: E402
from chain.bindings import SymphonyContracts  # noqa: E402
from chain.bindings.beacon import ChainSpec  # noqa: E402
from chain.client import ChainClient  # noqa: E402
from chain.connection import Deployment  # noqa: E402
from chain.deploy import deploy_symphony  # noqa: E402
from chain.node import AnvilNode  # noqa: E402
from chain.settings import ChainSettings  # noqa: E402
from core.http import serving  # noqa: E402
from explorer.app import build_explorer  # noqa: E402
from explorer.settings import ExplorerSettings  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
STAKE = 10**17
CHAINS, STEPS = 16, 8  # the protocol's maxima: 128 beacons per postTask


def _vec(seed: int) -> bytes:
    rng = random.Random(seed)
    return vectors.pack([rng.randint(-127, 127) for _ in range(vectors.DIMENSIONS)])


def _near(base: bytes, noise: int, seed: int) -> bytes:
    rng = random.Random(seed)
    return vectors.pack([max(-127, min(127, c + rng.randint(-noise, noise))) for c in vectors.unpack(base)])


def generate(node: AnvilNode, manifest, beacons: int, bidders: int) -> dict:
    """Post tasks until `beacons` steps exist, have `bidders` agents bid on every one, close every chain's step 0."""
    started = time.perf_counter()
    requester = SymphonyContracts.bind(ChainClient(node.rpc_url, node.dev_accounts[0].key.to_0x_hex()), manifest)
    agents = [SymphonyContracts.bind(ChainClient(node.rpc_url, node.dev_accounts[i].key.to_0x_hex()), manifest)
              for i in range(1, bidders + 1)]
    requirement = _vec(7)
    for i, agent in enumerate(agents):
        agent.ledger.register(f"bench{i}", "bench-model", f"http://127.0.0.1/bench{i}", ["bench"],
                              _near(requirement, 10 + 5 * i, i), 64, STAKE)
    tasks = []
    while len(tasks) * CHAINS * STEPS < beacons:
        chains = [ChainSpec((requirement,) * STEPS, json.dumps({"q": f"task {len(tasks)} chain {c}"}).encode())
                  for c in range(CHAINS)]
        tasks.append(requester.beacon.post_task(chains, bid_window=1_500, exec_window=600, reward=10**12))
    steps = [(t.beacon(c, s), [requirement] * STEPS) for t in tasks for c in range(CHAINS) for s in range(STEPS)]

    def bid_all(agent: SymphonyContracts) -> None:
        for beacon, requirements in steps:
            agent.beacon.bid(beacon, requirements)

    threads = [threading.Thread(target=bid_all, args=(a,)) for a in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    node.increase_time(1_501)
    for t in tasks:
        for c in range(CHAINS):
            requester.beacon.close(t.beacon(c, 0))
    return {"tasks": len(tasks), "beacons": len(steps), "bids": len(steps) * len(agents),
            "blocks": requester.client.w3.eth.block_number, "seconds": time.perf_counter() - started}


async def _timed_get(session: aiohttp.ClientSession, url: str) -> tuple[float, int]:
    started = time.perf_counter()
    async with session.get(url) as response:
        body = await response.read()
        assert response.status == 200, body[:200]
    return (time.perf_counter() - started) * 1000, len(body)


async def measure(node: AnvilNode, manifest, repeats: int) -> dict:
    client = ChainClient(node.rpc_url, None, expected_chain_id=manifest.chain_id)
    service = build_explorer(Deployment(manifest, None, client), ExplorerSettings(poll_interval_s=0.05))  # type: ignore[arg-type]
    follower = service.follower
    started = time.perf_counter()
    events = await asyncio.to_thread(follower.catch_up)
    ingest_s = time.perf_counter() - started
    started = time.perf_counter()
    projection = service.state.projection()
    build_ms = (time.perf_counter() - started) * 1000
    newest = max(projection.tasks)
    out = {"events": events, "ingest_s": ingest_s, "events_per_s": events / ingest_s, "projection_build_ms": build_ms,
           "polls": follower.status.polls}
    service.state.version += 1  # forget the cached projection: the first request pays the build, as after a new block
    async with serving(service.app(), "127.0.0.1", 0) as url, aiohttp.ClientSession() as session:
        out["state_cold_ms"], out["state_bytes"] = await _timed_get(session, f"{url}/api/state")
        warm = [(await _timed_get(session, f"{url}/api/state"))[0] for _ in range(repeats)]
        out["state_warm_ms"] = statistics.median(warm)
        task = [(await _timed_get(session, f"{url}/api/task/{newest}")) for _ in range(repeats)]
        out["task_ms"], out["task_bytes"] = statistics.median(t[0] for t in task), task[0][1]
        page = [(await _timed_get(session, f"{url}/"))[0] for _ in range(repeats)]
        out["page_html_ms"] = statistics.median(page)
        if shutil.which(CHROMIUM):
            out["browser"] = await _browser(url, newest)
    return out


async def live(node: AnvilNode, seconds: float) -> dict:
    """The explorer following a deployment where soak-shaped tasks settle as fast as scripted parties drive them."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from bench_chain import Bench  # noqa: PLC0415 - a sibling script: the scripted parties of a whole question

    bench = Bench(node)
    bench.register_all()
    manifest = bench.manifest
    client = ChainClient(node.rpc_url, None, expected_chain_id=manifest.chain_id)
    service = build_explorer(Deployment(manifest, None, client), ExplorerSettings())  # type: ignore[arg-type]
    settled_at: list[float] = []
    stop = threading.Event()
    failure: list[BaseException] = []

    def drive() -> None:
        try:
            while not stop.is_set():
                bench.question((2, 1, 2))  # asserts the vote's winner on chain: a task is settled when it returns
                settled_at.append(time.perf_counter())
        except BaseException as exc:  # noqa: BLE001 - reported by the measuring side
            failure.append(exc)

    lags: list[float] = []
    state_ms: list[float] = []
    async with serving(service.app(), "127.0.0.1", 0) as url, aiohttp.ClientSession() as session:
        started = time.perf_counter()
        driver = threading.Thread(target=drive, daemon=True)
        driver.start()
        while True:
            t = time.perf_counter()
            async with session.get(f"{url}/api/state") as response:
                state = await response.json()
            now = time.perf_counter()
            state_ms.append((now - t) * 1000)
            shown = sum(1 for task in state["tasks"] if task["status"] == "settled")
            while len(lags) < min(shown, len(settled_at)):
                lags.append(now - settled_at[len(lags)])
            if now - started >= seconds:
                stop.set()
            if failure:
                raise RuntimeError(f"the scripted parties failed: {failure[0]!r}") from failure[0]
            if stop.is_set() and not driver.is_alive() and len(lags) == len(settled_at):
                break
            await asyncio.sleep(0.25)
        drive_s = settled_at[-1] - started if settled_at else 0.0
        events = len(service.state)
    soak = json.loads((ROOT / "results" / "soak.json").read_text())["result"]["tasks_per_minute"]
    tasks_per_min = len(settled_at) / drive_s * 60 if drive_s else 0.0
    return {"tasks": len(settled_at), "drive_s": drive_s, "events": events, "events_per_s": events / drive_s if drive_s else 0,
            "events_per_task": events / max(len(settled_at), 1), "tasks_per_minute": tasks_per_min,
            "soak_tasks_per_minute": soak, "times_soak_rate": tasks_per_min / soak,
            "lag_p50_s": statistics.median(lags), "lag_max_s": max(lags),
            "state_ms_p50": statistics.median(state_ms), "state_ms_max": max(state_ms),
            "poll_interval_s": ExplorerSettings().poll_interval_s}


async def _browser(url: str, newest: int) -> dict:
    """First contentful paint and time to the rendered state (agents + newest task), from navigation start."""
    import tempfile

    from tests.scheduler.cdp import chromium_page

    with tempfile.TemporaryDirectory() as profile:
        async with chromium_page(CHROMIUM, f"{url}/", Path(profile)) as page:
            await page.wait_for(f"document.querySelector('#task-{newest}') !== null && "
                                "document.querySelectorAll('#agents tr').length > 1", timeout=120)
            rendered = await page.evaluate("performance.now()")
            paint = await page.evaluate("(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null")
            loaded = await page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
    return {"first_contentful_paint_ms": paint, "load_event_ms": loaded, "state_rendered_ms": rendered}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beacons", type=int, default=1_000, help="beacons to create (rounded up to 128 per task)")
    parser.add_argument("--bidders", type=int, default=3, help="agents bidding on every beacon")
    parser.add_argument("--repeats", type=int, default=5, help="requests per warm measurement")
    parser.add_argument("--live-seconds", type=float, default=60.0, help="how long tasks settle in the live phase")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench_explorer.json", help="result file")
    args = parser.parse_args()
    node = AnvilNode(extra_args=("--gas-limit", "100000000"))
    node.start()
    try:
        deployer = ChainClient(node.rpc_url, node.dev_accounts[0].key.to_0x_hex())
        manifest = deploy_symphony(deployer, ChainSettings(min_stake_wei=10**16))
        generated = generate(node, manifest, args.beacons, args.bidders)
        measured = asyncio.run(measure(node, manifest, args.repeats))
        measured["live"] = asyncio.run(live(node, args.live_seconds))
    finally:
        node.stop()
    browser = measured.get("browser") or {}
    rows = [
        ("chain", f"{generated['tasks']} tasks, {generated['beacons']} beacons, {generated['bids']} bids, "
                  f"{generated['blocks']} blocks (generated in {generated['seconds']:.1f} s)"),
        ("ingest (fresh explorer, from the deploy block)", f"{measured['events']} events in {measured['ingest_s']:.2f} s = "
                                                         f"{measured['events_per_s']:.0f} events/s ({measured['polls']} polls)"),
        ("projection build (all views)", f"{measured['projection_build_ms']:.0f} ms"),
        ("/api/state cold (build + JSON)", f"{measured['state_cold_ms']:.0f} ms, {measured['state_bytes'] / 1e3:.0f} kB"),
        ("/api/state warm (median)", f"{measured['state_warm_ms']:.0f} ms"),
        ("/api/task/N (128 beacons, median)", f"{measured['task_ms']:.0f} ms, {measured['task_bytes'] / 1e3:.0f} kB"),
        ("page HTML (median)", f"{measured['page_html_ms']:.1f} ms"),
        ("browser first contentful paint", f"{browser['first_contentful_paint_ms']:.0f} ms" if browser.get("first_contentful_paint_ms") else "n/a"),
        ("browser load event", f"{browser['load_event_ms']:.0f} ms" if browser else "n/a (no chromium)"),
        ("browser state rendered (agents + newest task)", f"{browser['state_rendered_ms']:.0f} ms" if browser else "n/a (no chromium)"),
    ]
    lv = measured["live"]
    rows += [
        ("live: tasks settled (3 chains of 2/1/2 steps, 4 bidders)",
         f"{lv['tasks']} in {lv['drive_s']:.0f} s = {lv['tasks_per_minute']:.0f} tasks/min "
         f"({lv['times_soak_rate']:.1f}x the soak's {lv['soak_tasks_per_minute']:.1f})"),
        ("live: events the chain produced", f"{lv['events']} = {lv['events_per_s']:.0f} events/s, "
                                            f"{lv['events_per_task']:.0f} per task"),
        ("live: settled on chain -> shown by /api/state", f"p50 {lv['lag_p50_s']:.2f} s, max {lv['lag_max_s']:.2f} s "
                                                         f"(poll every {lv['poll_interval_s']} s)"),
        ("live: /api/state while it follows", f"p50 {lv['state_ms_p50']:.0f} ms, max {lv['state_ms_max']:.0f} ms"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"explorer benchmark — {platform.processor() or platform.machine()}, {platform.python_version()}, anvil, "
          f"{args.bidders} bidders per beacon")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"settings": vars(args) | {"out": str(args.out)}, "machine": platform.platform(),
                                    "generated": generated, "measured": measured}, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
