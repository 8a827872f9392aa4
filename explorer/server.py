"""The explorer's HTTP side: JSON endpoints over the projection, Server-Sent Events, and the static page.

Why the page re-reads JSON on each notice instead of receiving state over SSE: the JSON endpoints are what tests
compare with the contracts' views, so the page showing exactly them leaves one code path to trust. An SSE frame
only says "something changed" (or "disconnected"); the page then fetches /api/state and the task it shows, at
most a few times a second however fast blocks come.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from dataclasses import dataclass
from shlex import join as shlex_join
from pathlib import Path
from typing import Any, AsyncIterator

from aiohttp import web
from eth_utils import keccak

from chain.task_view import parse_task_id
from core.errors import ConfigError
from core.sse import stream_events
from explorer.cast import Cast
from explorer.follower import Follower, Hub
from explorer.sources import FollowedContract
from explorer.state import ExplorerState, Projection

STATIC = Path(__file__).parent / "static"
ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
WAD = 10**18
# ConstantProductPool's `Sync(uint256 reserveQ, uint256 reserveT)`: emitted on every liquidity change and swap, so
# its logs are the pool's whole price history (spot price = reserveQ * 1e18 / reserveT, ConstantProductPool.spotPrice).
SYNC_SIGNATURE = "Sync(uint256,uint256)"
RECEIPT_BATCH = 500
SYNC_TOPIC = "0x" + keccak(text=SYNC_SIGNATURE).hex()


def _not_found(message: str) -> web.HTTPNotFound:
    return web.HTTPNotFound(text=json.dumps({"error": message}), content_type="application/json")


def _bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")


@dataclass
class Network:
    """What the explorer was pointed at (for the page header and the cast commands)."""

    chain_id: int
    rpc_url: str
    deploy_block: int
    contracts: list[FollowedContract]

    def by_role(self, role: str) -> FollowedContract | None:
        return next((c for c in self.contracts if c.role == role), None)

    def to_dict(self) -> dict[str, Any]:
        return {"chain_id": self.chain_id, "rpc_url": self.rpc_url, "deploy_block": self.deploy_block,
                "contracts": {c.role: {"name": c.name, "address": c.address} for c in self.contracts}}


class ExplorerService:
    """Routes of the explorer; `follower` keeps `state` current in the background."""

    def __init__(self, network: Network, state: ExplorerState, hub: Hub, follower: Follower, keepalive_s: float = 15.0) -> None:
        self.network, self.state, self.hub, self.follower = network, state, hub, follower
        self.keepalive_s = keepalive_s
        self.cast = Cast(network.rpc_url, network.deploy_block)
        self._follow: asyncio.Task[None] | None = None
        # Receipts are fetched once per transaction (keyed with the block the events put it in, so a reorg that
        # re-mines it elsewhere fetches it again); block timestamps once per block hash.
        self._receipts: dict[tuple[str, int], dict[str, Any]] = {}
        self._timestamps: dict[str, int] = {}
        self._cache_lock = threading.Lock()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self.page)
        app.router.add_static("/static", STATIC)
        app.router.add_get("/api/status", self.status)
        app.router.add_get("/api/state", self.get_state)
        app.router.add_get("/api/task/{task_id}", self.get_task)
        app.router.add_get("/api/agent/{address}", self.get_agent)
        app.router.add_get("/api/window/{window_id}", self.get_window)
        app.router.add_get("/api/search", self.search)
        app.router.add_get("/api/events", self.events)
        app.on_startup.append(self._start)
        app.on_shutdown.append(self._stop)
        return app

    async def _start(self, _app: web.Application) -> None:
        self._follow = asyncio.create_task(self.follower.run(), name="explorer-follow")

    async def _stop(self, _app: web.Application) -> None:
        self.hub.close()
        if self._follow is not None:
            self._follow.cancel()
            await asyncio.gather(self._follow, return_exceptions=True)

    # -- views with their cast commands ------------------------------------------------------------------
    def _call(self, role: str, function: str, *args: object) -> str | None:
        contract = self.network.by_role(role)
        return self.cast.call(contract.address, contract.abi, function, *args) if contract else None

    def _logs(self, role: str, event: str, *topics: object) -> str | None:
        contract = self.network.by_role(role)
        return self.cast.logs(contract.address, contract.abi, event, *topics) if contract else None

    def agent_view(self, agent: dict[str, Any]) -> dict[str, Any]:
        return {**agent, "cast": self._call("ledger", "getAgent", agent["address"])}

    def task_summary(self, task: dict[str, Any]) -> dict[str, Any]:
        steps = [s for c in task["chains"] for s in c["steps"]]
        vote = task["vote"]
        return {"task": task["task"], "task_id": task["task_id"], "requester": task["requester"], "status": task["status"],
                "chains": len(task["chains"]), "steps": len(steps), "bids": sum(len(s["bids"]) for s in steps),
                "phase": vote["phase"], "winning_answer": vote["winning_answer"], "posted": task["posted"],
                "cast": self._call("beacon", "getTask", task["task_id"])}

    def task_view(self, task: dict[str, Any]) -> dict[str, Any]:
        chains = []
        for chain in task["chains"]:
            steps = [{**s, "cast": {"beacon": self._call("beacon", "getBeacon", s["beacon"]),
                                    "bids": self._call("beacon", "getBids", s["beacon"]),
                                    "executors": self._call("beacon", "executorsOf", s["beacon"]),
                                    "results": self._logs("beacon", "ResultSubmitted", s["beacon"])}}
                     for s in chain["steps"]]
            chains.append({**chain, "steps": steps, "cast": self._call("beacon", "chainWeight", chain["chain_id"])})
        vote = task["vote"]
        vote = {**vote, "cast": {"vote": self._call("vote", "getVote", task["task_id"]),
                                 "voters": self._call("vote", "votersOf", task["task_id"]),
                                 "commits": self._logs("vote", "VoteCommitted", task["task_id"]),
                                 "reveals": self._logs("vote", "VoteRevealed", task["task_id"])}}
        return {**task, "chains": chains, "vote": vote, "gas": self.task_gas(task),
                "cast": self._call("beacon", "getTask", task["task_id"])}

    # -- gas -------------------------------------------------------------------------------------------------
    def _receipts_of(self, wanted: list[tuple[str, int]]) -> dict[tuple[str, int], dict[str, Any]]:
        """The receipts of `wanted` (tx hash, block), each fetched from the node once: the missing ones in JSON-RPC
        batches of RECEIPT_BATCH, so a task of 1,000 beacons costs a few round trips the first time, not 3,000."""
        with self._cache_lock:
            missing = list(dict.fromkeys(k for k in wanted if k not in self._receipts))
        w3 = self.follower.stream.w3
        for start in range(0, len(missing), RECEIPT_BATCH):
            chunk = missing[start:start + RECEIPT_BATCH]
            try:
                with w3.batch_requests() as batch:
                    for tx, _block in chunk:
                        batch.add(w3.eth.get_transaction_receipt(tx))  # type: ignore[arg-type]
                    receipts = batch.execute()
            except Exception:  # noqa: BLE001 - an endpoint without batch support: one request per receipt
                receipts = [w3.eth.get_transaction_receipt(tx) for tx, _block in chunk]  # type: ignore[arg-type]
            with self._cache_lock:
                for key, r in zip(chunk, receipts):
                    self._receipts[key] = {"from": r["from"], "gas_used": int(r["gasUsed"]),
                                           "gas_price": int(r.get("effectiveGasPrice") or 0)}
        with self._cache_lock:
            return {k: self._receipts[k] for k in wanted}

    def task_gas(self, task: dict[str, Any]) -> dict[str, Any]:
        """Gas spent on the task: the gasUsed of every transaction that emitted one of its events, in all and per
        sender (the requester's share apart). A transaction touching two tasks counts in full for each."""
        transactions = self.state.projection().transactions
        keys = [(tx, transactions[tx][0]["block"] if transactions.get(tx) else 0) for tx in task["transactions"]]
        receipts = self._receipts_of(keys)
        parties: dict[str, dict[str, Any]] = {}
        total = fee = 0
        for key in keys:
            r = receipts[key]
            party = parties.setdefault(r["from"].lower(), {"address": r["from"], "gas": 0, "fee_wei": 0, "transactions": 0})
            party["gas"] += r["gas_used"]
            party["fee_wei"] += r["gas_used"] * r["gas_price"]
            party["transactions"] += 1
            total += r["gas_used"]
            fee += r["gas_used"] * r["gas_price"]
        requester = parties.get(task["requester"].lower(), {"gas": 0, "fee_wei": 0, "transactions": 0})
        return {"total": total, "fee_wei": fee, "transactions": len(task["transactions"]),
                "requester": {"gas": requester["gas"], "fee_wei": requester["fee_wei"], "transactions": requester["transactions"]},
                "parties": sorted(parties.values(), key=lambda x: -x["gas"]),
                "cast": self.cast.receipt(task["transactions"][0]) + " gasUsed" if task["transactions"] else None}

    # -- evaluation windows and pool prices ----------------------------------------------------------------
    def _timestamp(self, block_hash: str) -> int:
        with self._cache_lock:
            known = self._timestamps.get(block_hash)
        if known is None:
            known = int(self.follower.stream.w3.eth.get_block(block_hash)["timestamp"])  # type: ignore[arg-type]
            with self._cache_lock:
                self._timestamps[block_hash] = known
        return known

    def pool_prices(self, pool: str, since: int, until: int) -> list[dict[str, Any]]:
        """The pool's spot price at each `Sync` log, read from the node at request time (pools are not followed by
        the stream: the explorer learns them from WindowOpened), with the last price before `since` first."""
        logs = self.follower.stream.w3.eth.get_logs({"address": pool, "topics": [SYNC_TOPIC],  # type: ignore[typeddict-item]
                                                     "fromBlock": self.network.deploy_block, "toBlock": "latest"})
        points = []
        for log in logs:
            data = bytes(log["data"])
            reserve_q, reserve_t = int.from_bytes(data[:32], "big"), int.from_bytes(data[32:64], "big")
            if reserve_t == 0:
                continue
            price = reserve_q * WAD // reserve_t
            points.append({"t": self._timestamp("0x" + bytes(log["blockHash"]).hex().removeprefix("0x")),
                           "block": int(log["blockNumber"]), "tx": "0x" + bytes(log["transactionHash"]).hex().removeprefix("0x"),
                           "price_wad": str(price), "price": price / WAD})
        before = [p for p in points if p["t"] < since]
        return before[-1:] + [p for p in points if since <= p["t"] <= until]

    def window_view(self, window_id: str) -> dict[str, Any]:
        """One evaluation window: its inputs from the log (base, boundary cumulatives), its recorded outcome, its
        entries, and the pool's prices around it — what the page needs to re-derive the outcome and each score."""
        if not window_id.isdigit():
            raise _bad_request(f"not a window id: {window_id!r} (a number)")
        p = self.state.projection()
        window = p.windows.get(int(window_id))
        if window is None:
            raise _not_found(f"no evaluation window {window_id} on this chain (it has {len(p.windows)})")
        end = window["t0"] + window["horizon"]
        prices = self.pool_prices(window["pool"], window["base_start"], end + window["horizon"] // 4)
        entries = [self._with_commit_time(self.evaluation_view(e), window["t0"])
                   for _, e in sorted(p.evaluations.items()) if e["window"] == window["window"]]
        return {**window, "end": end, "entries": entries, "prices": prices,
                "cast": {"window": self._call("evaluation", "getWindow", window["window"]) if self._has("evaluation", "getWindow") else None,
                         "checkpoints": self._logs("evaluation", "Checkpointed", window["window"]),
                         "prices": shlex_join(["cast", "logs", "--from-block", str(self.network.deploy_block), "--address",
                                               window["pool"], SYNC_SIGNATURE, "--rpc-url", self.network.rpc_url])}}

    def _with_commit_time(self, entry: dict[str, Any], t0: int) -> dict[str, Any]:
        """The commit's block time and whether it came before t0 (the contract refuses a later commit; the page
        shows it so a reader need not take that on trust)."""
        committed = entry["committed"]
        at = self._timestamp(committed["block_hash"]) if committed.get("block_hash") else None
        return {**entry, "committed_time": at, "before_t0": at is not None and at < t0}

    def _has(self, role: str, name: str, kind: str = "function") -> bool:
        contract = self.network.by_role(role)
        return contract is not None and any(i.get("type") == kind and i.get("name") == name for i in contract.abi)

    def evaluation_view(self, entry: dict[str, Any]) -> dict[str, Any]:
        return {**entry, "cast": self._call("evaluation", "getEvaluation", entry["id"])}

    def detector_view(self, stats: dict[str, Any]) -> dict[str, Any]:
        return {**stats, "cast": self._call("evaluation", "statsOf", stats["detector"]) if self._has("evaluation", "statsOf") else None}

    def policy_view(self, policy: dict[str, Any]) -> dict[str, Any]:
        """`served_by`: the samplers whose last `PolicyServed` names this version (a deployment older than
        `announceServing` has none, and `cast_served` is None)."""
        served = self._logs("policy", "PolicyServed") if self._has("policy", "PolicyServed", "event") else None
        return {**policy, "cast": self._call("policy", "getPolicy", policy["version"]), "cast_served": served}

    def snapshot(self, p: Projection | None = None) -> dict[str, Any]:
        p = p or self.state.projection()
        return {
            "version": self.state.version,
            "status": self.follower.status.to_dict(),
            "network": self.network.to_dict(),
            "head_block": p.head_block,
            "agents": [self.agent_view(a) for a in sorted(p.agents.values(), key=lambda a: a["name"].lower())],
            "tasks": [self.task_summary(t) for _, t in sorted(p.tasks.items(), reverse=True)],
            "evaluations": [self.evaluation_view(e) for _, e in sorted(p.evaluations.items(), reverse=True)]
                           if self.network.by_role("evaluation") else None,
            "windows": [w for _, w in sorted(p.windows.items(), reverse=True)] if self.network.by_role("evaluation") else None,
            "detectors": [self.detector_view(d) for d in p.detectors.values()] if self.network.by_role("evaluation") else None,
            "policies": [self.policy_view(v) for _, v in sorted(p.policies.items(), reverse=True)]
                        if self.network.by_role("policy") else None,
        }

    def find_task(self, text: str) -> dict[str, Any]:
        try:
            number = int.from_bytes(parse_task_id(text), "big")
        except ConfigError as exc:
            raise _bad_request(str(exc)) from None
        task = self.state.projection().tasks.get(number)
        if task is None:
            raise _not_found(f"no task {number} on this chain (it has {len(self.state.projection().tasks)})")
        return self.task_view(task)

    def find_agent(self, text: str) -> dict[str, Any]:
        if not ADDRESS.match(text.strip()):
            raise _bad_request(f"not an address: {text!r} (0x followed by 40 hex digits)")
        p = self.state.projection()
        agent = p.agents.get(text.strip().lower())
        if agent is None:
            raise _not_found(f"no agent {text.strip()} registered on this chain")
        # The detail panel links each beacon won to its task, and shows the agent's detector record if it has one.
        won = [{"beacon": b, "task": p.beacons[b][0], "chain": p.beacons[b][1], "step": p.beacons[b][2]}
               for b in agent["beacons_won"] if b in p.beacons]
        detector = p.detectors.get(text.strip().lower())
        return {**self.agent_view(agent), "won": won,
                "detector": self.detector_view(detector) if detector is not None else None}

    def find(self, query: str) -> dict[str, Any]:
        """Search: an address (agent, contract or requester), a tx hash, a task id or number, a beacon id, a name."""
        q = query.strip()
        p = self.state.projection()
        if not q:
            raise _bad_request("empty search: give an address, a task id or number, a beacon id or a tx hash")
        if ADDRESS.match(q):
            if q.lower() in p.agents:
                return {"kind": "agent", "agent": self.agent_view(p.agents[q.lower()])}
            for contract in self.network.contracts:
                if contract.address.lower() == q.lower():
                    return {"kind": "contract", "contract": {"role": contract.role, "name": contract.name, "address": contract.address}}
            posted = [self.task_summary(t) for t in p.tasks.values() if t["requester"].lower() == q.lower()]
            if posted:
                return {"kind": "requester", "address": q, "tasks": posted}
            raise _not_found(f"nothing on this chain has to do with {q}")
        if HASH.match(q):
            if q.lower() in p.transactions:
                return {"kind": "transaction", "tx": q.lower(), "events": p.transactions[q.lower()], "cast": self.cast.receipt(q.lower())}
            number = int(q, 16)
            if number in p.tasks:
                return {"kind": "task", "task": self.task_view(p.tasks[number])}
            raise _not_found(f"no transaction of the followed contracts and no task has the hash {q}")
        if q.isdigit():
            number = int(q)
            if number in p.tasks:
                return {"kind": "task", "task": self.task_view(p.tasks[number])}
            if number in p.beacons:
                task, cot, step = p.beacons[number]
                return {"kind": "beacon", "beacon": number, "task": task, "chain": cot, "step": step}
            raise _not_found(f"no task or beacon {number} on this chain")
        named = [self.agent_view(a) for a in p.agents.values() if q.lower() in a["name"].lower()]
        if named:
            return {"kind": "agents", "agents": named}
        raise _not_found(f"no agent is called {q!r}; search an address, a task id or number, a beacon id or a tx hash")

    # -- routes ----------------------------------------------------------------------------------------------
    async def page(self, _request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html")

    async def status(self, _request: web.Request) -> web.Response:
        return web.json_response({**self.follower.status.to_dict(), "version": self.state.version})

    # The projection may be rebuilt by a request (after new events): off the loop, so SSE and polling keep going.
    async def get_state(self, _request: web.Request) -> web.Response:
        return web.json_response(await asyncio.to_thread(self.snapshot))

    async def get_task(self, request: web.Request) -> web.Response:
        return web.json_response(await asyncio.to_thread(self.find_task, request.match_info["task_id"]))

    async def get_agent(self, request: web.Request) -> web.Response:
        return web.json_response(await asyncio.to_thread(self.find_agent, request.match_info["address"]))

    async def get_window(self, request: web.Request) -> web.Response:
        return web.json_response(await asyncio.to_thread(self.window_view, request.match_info["window_id"]))

    async def search(self, request: web.Request) -> web.Response:
        return web.json_response(await asyncio.to_thread(self.find, request.query.get("q", "")))

    async def events(self, request: web.Request) -> web.StreamResponse:
        """SSE: a `status` frame at once, then `change` / `status` frames as the follower reports them."""
        queue = self.hub.subscribe()

        async def frames() -> AsyncIterator[bytes]:
            yield _frame({"type": "status", "version": self.state.version, **self.follower.status.to_dict()})
            while (message := await queue.get())["type"] != "close":
                yield _frame(message)

        try:
            return await stream_events(request, frames(), self.keepalive_s)
        finally:
            self.hub.unsubscribe(queue)


def _frame(message: dict[str, Any]) -> bytes:
    """One SSE frame: the message type as the event name, the message as JSON."""
    return f"event: {message['type']}\ndata: {json.dumps(message)}\n\n".encode()
