"""The explorer's picture of the network, rebuilt from the live set of chain events.

Why a projection over the event set instead of a mutable model updated event by event: the stream undoes a reorg
by delivering the dropped events again with `removed=True`. Keeping the set of events currently on the canonical
chain and deriving every view from it makes "a removed event disappears from the page" true by construction —
there is no undo code that could forget a field. The projection is rebuilt lazily, at most once per change, in
block and log order (a few milliseconds per thousand events).

Values are kept as the contracts emit them (scores and weights in WAD, wei as integers) next to their value in
units of 1.0, so a test can compare them with the contracts' views exactly.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from chain.events import ChainEvent

WAD = 10**18
STEPS_PER_CHAIN = 8  # docs/protocol.md: step s of chain c is beacon c·8 + s (chain.bindings.beacon.MAX_STEPS)
ZERO_ADDRESS = "0x" + "00" * 20
INITIAL_REPUTATION = WAD
EVALUATION_STATUS = ("committed", "revealed", "resolved", "expired", "voided", "tainted")
OUTCOME = ("none", "manipulation", "discovery")


def _lower(address: Any) -> str:
    return str(address).lower()


def _text(hex_bytes: str) -> str:
    """A result's bytes as text where they are UTF-8, else the hex itself."""
    try:
        return bytes.fromhex(hex_bytes.removeprefix("0x")).decode("utf-8")
    except (UnicodeDecodeError, ValueError):
        return hex_bytes


def _ref(event: ChainEvent) -> dict[str, Any]:
    return {"tx": event.tx_hash, "block": event.block_number, "log_index": event.log_index}


def _remember(agent: dict[str, Any], event: ChainEvent, **extra: Any) -> None:
    """One point of the agent's history with its stake and reputation after the event: the page plots these
    (reputation and stake over time) without replaying anything itself."""
    agent["history"].append({"event": event.name, "stake": agent["stake"], "reputation": agent["reputation"],
                             **extra, **_ref(event)})


def _task_number(value: Any) -> int | None:
    try:
        return int(str(value), 16)
    except ValueError:
        return None


@dataclass
class Projection:
    """Every view of the explorer, derived from one set of events."""

    agents: dict[str, dict[str, Any]] = field(default_factory=dict)  # lower-case address -> agent
    tasks: dict[int, dict[str, Any]] = field(default_factory=dict)  # task number -> task
    beacons: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # beacon id -> (task, chain index, step)
    evaluations: dict[int, dict[str, Any]] = field(default_factory=dict)
    windows: dict[int, dict[str, Any]] = field(default_factory=dict)  # evaluation window id -> window
    detectors: dict[str, dict[str, Any]] = field(default_factory=dict)  # lower-case address -> running counters
    policies: dict[int, dict[str, Any]] = field(default_factory=dict)
    samplers: dict[str, dict[str, Any]] = field(default_factory=dict)  # lower-case address -> its last PolicyServed
    transactions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # tx hash -> its events
    head_block: int = 0
    events: int = 0

    def step(self, beacon: int) -> dict[str, Any] | None:
        where = self.beacons.get(beacon)
        if where is None:
            return None
        task, cot, step = where
        return self.tasks[task]["chains"][cot]["steps"][step]


class ExplorerState:
    """Thread-safe set of live events (the stream's thread applies, the server's loop reads)."""

    def __init__(self, roles: dict[str, str]) -> None:
        self.roles = {_lower(a): r for a, r in roles.items()}  # contract address -> role
        self._events: dict[tuple[str, int], ChainEvent] = {}
        self._lock = threading.Lock()
        self.version = 0
        self._cached: tuple[int, Projection] | None = None

    def apply(self, events: Iterable[ChainEvent]) -> int:
        """Add new events, drop `removed` ones; returns how many changed the set."""
        changed = 0
        with self._lock:
            for event in events:
                if event.removed:
                    changed += self._events.pop(event.key, None) is not None
                elif event.key not in self._events:
                    self._events[event.key] = event
                    changed += 1
            if changed:
                self.version += 1
        return changed

    def __len__(self) -> int:
        return len(self._events)

    def projection(self) -> Projection:
        with self._lock:
            if self._cached is not None and self._cached[0] == self.version:
                return self._cached[1]
            version, events = self.version, sorted(self._events.values(), key=lambda e: (e.block_number, e.log_index))
        built = _Builder(self.roles).build(events)
        with self._lock:
            self._cached = (version, built)
        return built


class _Builder:
    """One pass over the events in chain order; one small handler per (role, event name)."""

    def __init__(self, roles: dict[str, str]) -> None:
        self.roles = roles
        self.p = Projection()
        self.held: dict[str, int] = {}  # agent -> assignments it holds (capacity units reserved)
        self.handlers: dict[tuple[str, str], Callable[[ChainEvent], None]] = {
            ("ledger", "AgentRegistered"): self._registered,
            ("ledger", "AgentUpdated"): self._updated,
            ("ledger", "Heartbeat"): self._heartbeat,
            ("ledger", "StakeAdded"): lambda e: self._agent_set(e, stake=int(e.args["stake"])),
            ("ledger", "StakeSlashed"): self._slashed,
            ("ledger", "StakeWithdrawn"): lambda e: self._agent_set(e, stake=0),
            ("ledger", "ReputationChanged"): lambda e: self._agent_set(e, reputation=int(e.args["reputation"])),
            ("ledger", "AgentDeregistered"): lambda e: self._agent_set(e, active=False, available=False),
            ("ledger", "EvidenceRecorded"): self._evidence,
            ("beacon", "TaskPosted"): self._task_posted,
            ("beacon", "ChainPosted"): self._chain_posted,
            ("beacon", "BidPlaced"): self._bid,
            ("beacon", "ExecutorAssigned"): self._assigned,
            ("beacon", "ExecutorTimedOut"): self._timed_out,
            ("beacon", "ResultSubmitted"): self._result,
            ("beacon", "BeaconCompleted"): lambda e: self._status(e, "completed"),
            ("beacon", "BeaconUnfilled"): lambda e: self._status(e, "unfilled"),
            ("beacon", "BeaconReopened"): lambda e: self._status(e, "bidding"),
            ("beacon", "TaskSettled"): self._settled,
            ("beacon", "TaskCancelled"): self._cancelled,
            ("vote", "VoteCommitted"): self._committed,
            ("vote", "LateCommitment"): self._late,
            ("vote", "RevealPhaseStarted"): self._reveal_phase,
            ("vote", "VoteRevealed"): self._revealed,
            ("vote", "VoteFinalized"): self._finalized,
            ("evaluation", "WindowOpened"): self._window_opened,
            ("evaluation", "Checkpointed"): self._checkpointed,
            ("evaluation", "WindowSettled"): self._window_settled,
            ("evaluation", "Committed"): self._eval_committed,
            ("evaluation", "Revealed"): self._eval_revealed,
            ("evaluation", "Resolved"): self._eval_resolved,
            ("policy", "PolicyPublished"): self._policy_published,
            ("policy", "PolicyRevoked"): self._policy_revoked,
            ("policy", "PolicyServed"): self._policy_served,
        }

    def build(self, events: list[ChainEvent]) -> Projection:
        for event in events:
            role = self.roles.get(_lower(event.address), "?")
            self.p.transactions.setdefault(event.tx_hash, []).append(
                {"contract": role, "event": event.name, "args": event.args, **_ref(event)})
            self.p.head_block = max(self.p.head_block, event.block_number)
            handler = self.handlers.get((role, event.name))
            if handler is not None:
                handler(event)
            if role in ("beacon", "vote"):
                self._task_transaction(event)
        self.p.events = len(events)
        for address, agent in self.p.agents.items():
            agent["free_capacity"] = max(0, agent["capacity"] - self.held.get(address, 0))
            agent["stake_eth"] = agent["stake"] / WAD
            agent["reputation_value"] = agent["reputation"] / WAD
        for task in self.p.tasks.values():
            task["transactions"] = list(task["transactions"])
            _finish_task(task)
        for policy in self.p.policies.values():
            policy["served_by"] = [s for s in self.p.samplers.values() if s["version"] == policy["version"]]
        return self.p

    def _task_transaction(self, e: ChainEvent) -> None:
        """Remember which transactions touched a task (by its task id or one of its beacons): its gas spent is
        the sum of their receipts' gasUsed (ExplorerService.task_gas)."""
        number = _task_number(e.args["taskId"]) if "taskId" in e.args else None
        if number is None and "beaconId" in e.args:
            where = self.p.beacons.get(int(e.args["beaconId"]))
            number = where[0] if where else None
        task = self.p.tasks.get(number) if number is not None else None
        if task is not None:
            task["transactions"][e.tx_hash] = None  # a dict while building: ordered and O(1); a list after

    # -- agents ----------------------------------------------------------------------------------------------
    def _agent(self, address: Any) -> dict[str, Any] | None:
        return self.p.agents.get(_lower(address))

    def _agent_set(self, event: ChainEvent, **values: Any) -> None:
        agent = self._agent(event.args["agent"])
        if agent is not None:
            agent.update(values)
            _remember(agent, event)

    def _registered(self, e: ChainEvent) -> None:
        a = e.args
        known = self._agent(a["agent"])
        self.p.agents[_lower(a["agent"])] = {
            "address": a["agent"], "name": a["name"], "model_id": a["modelId"], "endpoint": a["endpoint"],
            "tags": list(a["tags"]), "capability": a["capability"], "capacity": int(a["capacity"]),
            "stake": int(a["stake"]), "reputation": known["reputation"] if known else INITIAL_REPUTATION,
            "active": True, "available": True, "pending": None,
            "bids": known["bids"] if known else 0, "beacons_won": known["beacons_won"] if known else [],
            "evidence": known["evidence"] if known else {}, "registered": _ref(e),
            "history": known["history"] if known else [],
        }
        _remember(self.p.agents[_lower(a["agent"])], e)

    def _updated(self, e: ChainEvent) -> None:
        a = e.args
        self._agent_set(e, model_id=a["modelId"], endpoint=a["endpoint"], capacity=int(a["capacity"]),
                        pending={"tags": list(a["tags"]), "capability": a["capability"], "effective_at": int(a["effectiveAt"])})

    def _heartbeat(self, e: ChainEvent) -> None:
        self._agent_set(e, available=bool(e.args["available"]))

    def _slashed(self, e: ChainEvent) -> None:
        agent = self._agent(e.args["agent"])
        if agent is not None:
            agent["stake"] = max(0, agent["stake"] - int(e.args["amount"]))
            _remember(agent, e, amount=int(e.args["amount"]))

    def _evidence(self, e: ChainEvent) -> None:
        agent = self._agent(e.args["agent"])
        if agent is not None:
            agent["evidence"][e.args["kind"]] = {"successes": int(e.args["successes"]), "failures": int(e.args["failures"])}

    def _hold(self, agent: Any, delta: int) -> None:
        key = _lower(agent)
        self.held[key] = max(0, self.held.get(key, 0) + delta)

    # -- tasks -----------------------------------------------------------------------------------------------
    def _task(self, task_id: str) -> dict[str, Any]:
        """The task, created on first mention: postTask emits each ChainPosted before its TaskPosted."""
        number = int(task_id, 16)
        if number not in self.p.tasks:
            self.p.tasks[number] = {
                "task": number, "task_id": task_id, "requester": ZERO_ADDRESS, "first_chain": 0, "executors_per_step": 0,
                "exec_window": 0, "reward_per_executor_wei": 0, "kind": "0x" + "00" * 32, "settled": False,
                "cancelled": False, "won_chains": None, "evidence": None, "posted": None, "chains": [], "transactions": {},
                "vote": {"phase": "none", "commits": [], "reveals": [], "late": [], "winning_answer": "", "winning_weight": 0,
                         "total_weight": 0, "finalized": None, "reveal_deadline": None},
            }
        return self.p.tasks[number]

    def _task_posted(self, e: ChainEvent) -> None:
        a = e.args
        task = self._task(a["taskId"])
        task.update(requester=a["requester"], first_chain=int(a["firstChain"]), executors_per_step=int(a["executors"]),
                    exec_window=int(a["execWindow"]), reward_per_executor_wei=int(a["rewardPerExecutor"]), kind=a["kind"],
                    posted=_ref(e))
        if len(task["chains"]) < int(a["chains"]):
            task["chains"].extend([None] * (int(a["chains"]) - len(task["chains"])))

    def _task_of(self, task_id: str) -> dict[str, Any] | None:
        return self.p.tasks.get(int(task_id, 16))

    def _chain_posted(self, e: ChainEvent) -> None:
        a = e.args
        task = self._task(a["taskId"])
        cot, chain_id = int(a["cotIndex"]), int(a["chainId"])
        requirements = list(a["requirements"])
        steps = []
        for s, requirement in enumerate(requirements):
            beacon = chain_id * STEPS_PER_CHAIN + s
            self.p.beacons[beacon] = (task["task"], cot, s)
            steps.append({"step": s, "beacon": beacon, "final": s == len(requirements) - 1, "status": "bidding",
                          "requirement": requirement, "bid_deadline": int(a["bidDeadline"]), "bids": [],
                          "executors": [], "timed_out": [], "results": []})
        if cot >= len(task["chains"]):
            task["chains"].extend([None] * (cot + 1 - len(task["chains"])))
        task["chains"][cot] = {"chain": cot, "chain_id": chain_id, "payload": _text(a["payload"]), "steps": steps,
                               "posted": _ref(e)}

    def _bid(self, e: ChainEvent) -> None:
        a = e.args
        step = self.p.step(int(a["beaconId"]))
        if step is None:
            return
        displaced = _lower(a["displaced"])
        bids = [b for b in step["bids"] if _lower(b["agent"]) != _lower(a["agent"])
                and (displaced == ZERO_ADDRESS or _lower(b["agent"]) != displaced)]
        score = int(a["score"])
        bids.append({"agent": a["agent"], "score_wad": score, "score": score / WAD, "newcomer": bool(a["newcomer"]), **_ref(e)})
        bids.sort(key=lambda b: -b["score_wad"])
        step["bids"] = bids
        agent = self._agent(a["agent"])
        if agent is not None:
            agent["bids"] += 1

    def _assigned(self, e: ChainEvent) -> None:
        a = e.args
        step = self.p.step(int(a["beaconId"]))
        if step is None:
            return
        score = int(a["score"])
        step["executors"].append({"agent": a["agent"], "score_wad": score, "score": score / WAD, "delivered": False,
                                  "exec_deadline": int(a["execDeadline"]), **_ref(e)})
        step["status"] = "assigned"
        self._hold(a["agent"], +1)
        agent = self._agent(a["agent"])
        if agent is not None:
            agent["beacons_won"].append(int(a["beaconId"]))

    def _executor(self, step: dict[str, Any], agent: Any) -> dict[str, Any] | None:
        for executor in step["executors"]:
            if _lower(executor["agent"]) == _lower(agent):
                return executor
        return None

    def _timed_out(self, e: ChainEvent) -> None:
        step = self.p.step(int(e.args["beaconId"]))
        if step is None:
            return
        executor = self._executor(step, e.args["agent"])
        if executor is not None and not executor["delivered"]:
            step["executors"].remove(executor)
            step["timed_out"].append({**executor, "timed_out": _ref(e)})
            self._hold(e.args["agent"], -1)

    def _delivered(self, beacon: int, agent: Any) -> dict[str, Any] | None:
        step = self.p.step(beacon)
        executor = self._executor(step, agent) if step is not None else None
        if executor is not None and not executor["delivered"]:
            executor["delivered"] = True
            self._hold(agent, -1)
        return step

    def _result(self, e: ChainEvent) -> None:
        step = self._delivered(int(e.args["beaconId"]), e.args["agent"])
        if step is not None:
            step["results"].append({"agent": e.args["agent"], "result": _text(e.args["result"]), **_ref(e)})

    def _status(self, e: ChainEvent, status: str) -> None:
        step = self.p.step(int(e.args["beaconId"]))
        if step is not None:
            step["status"] = status

    def _settled(self, e: ChainEvent) -> None:
        task = self._task_of(e.args["taskId"])
        if task is not None:
            task.update(settled=True, won_chains=int(e.args["wonChains"]), evidence=bool(e.args["evidence"]), settled_at=_ref(e))

    def _cancelled(self, e: ChainEvent) -> None:
        task = self._task_of(e.args["taskId"])
        if task is not None:
            task.update(cancelled=True, cancelled_at=_ref(e))

    # -- the vote --------------------------------------------------------------------------------------------
    def _vote(self, task_id: str) -> dict[str, Any] | None:
        task = self._task_of(task_id)
        return task["vote"] if task is not None else None

    def _committed(self, e: ChainEvent) -> None:
        a = e.args
        vote = self._vote(a["taskId"])
        if vote is None:
            return
        vote["commits"].append({"voter": a["voter"], "beacon": int(a["beaconId"]), "commitment": a["commitment"], **_ref(e)})
        if vote["phase"] == "none":
            vote["phase"] = "commit"
        self._delivered(int(a["beaconId"]), a["voter"])

    def _late(self, e: ChainEvent) -> None:
        vote = self._vote(e.args["taskId"])
        if vote is not None:
            vote["late"].append({"voter": e.args["voter"], "beacon": int(e.args["beaconId"]), **_ref(e)})

    def _reveal_phase(self, e: ChainEvent) -> None:
        vote = self._vote(e.args["taskId"])
        if vote is not None:
            vote["phase"] = "reveal"
            vote["reveal_deadline"] = int(e.args["revealDeadline"])

    def _revealed(self, e: ChainEvent) -> None:
        a = e.args
        vote = self._vote(a["taskId"])
        if vote is None:
            return
        weight = int(a["weight"])
        vote["reveals"].append({"voter": a["voter"], "beacon": int(a["beaconId"]), "answer": a["answer"],
                                "weight_wad": weight, "weight": weight / WAD, "result": _text(a["result"]), **_ref(e)})
        if vote["phase"] in ("none", "commit"):
            vote["phase"] = "reveal"

    def _finalized(self, e: ChainEvent) -> None:
        a = e.args
        vote = self._vote(a["taskId"])
        if vote is not None:
            vote.update(phase="finalized", winning_answer=a["answer"], winning_weight=int(a["weight"]),
                        total_weight=int(a["totalWeight"]), finalized=_ref(e))

    # -- Hide-and-Shill evaluation log and Echo policy versions ----------------------------------------------
    def _window_opened(self, e: ChainEvent) -> None:
        """A window's inputs as the log records them. Big numbers also as decimal strings: cumulative prices pass
        2**53, and the page re-derives the outcome from them with BigInt ("verify")."""
        a = e.args
        window = int(a["windowId"])
        self.p.windows[window] = {
            "window": window, "opener": a["opener"], "pool": a["pool"], "t0": int(a["t0"]), "horizon": int(a["horizon"]),
            "base_start": int(a["baseStart"]), "base": str(int(a["base"])), "base_value": int(a["base"]) / WAD,
            "fee_wei": int(a["fee"]), "checkpoints": [], "settled": None, "opened": _ref(e)}

    def _checkpointed(self, e: ChainEvent) -> None:
        window = self.p.windows.get(int(e.args["windowId"]))
        if window is not None:
            window["checkpoints"].append({"k": int(e.args["k"]), "at": int(e.args["at"]),
                                          "cumulative": str(int(e.args["cumulative"])), **_ref(e)})
            window["checkpoints"].sort(key=lambda c: c["k"])

    def _window_settled(self, e: ChainEvent) -> None:
        a = e.args
        window = self.p.windows.get(int(a["windowId"]))
        if window is not None:
            outcome = int(a["outcome"])
            window["settled"] = {
                "outcome": OUTCOME[outcome] if outcome < len(OUTCOME) else str(outcome), "r_peak_bp": int(a["rPeakBp"]),
                "r_end_bp": int(a["rEndBp"]), "sub_twaps": [str(int(m)) for m in a["subTwaps"]],
                "history_available": bool(a["historyAvailable"]), "tainted": bool(a["tainted"]), **_ref(e)}

    def _eval_committed(self, e: ChainEvent) -> None:
        a = e.args
        self.p.evaluations[int(a["id"])] = {
            "id": int(a["id"]), "window": int(a["windowId"]), "detector": a["detector"], "commitment": a["commitment"],
            "opener_entry": bool(a["openerEntry"]), "status": "committed", "label": None, "confidence_bp": None,
            "model_hash": None, "outcome": None, "score": None, "committed": {**_ref(e), "block_hash": e.block_hash}}

    def _eval_revealed(self, e: ChainEvent) -> None:
        entry = self.p.evaluations.get(int(e.args["id"]))
        if entry is not None:
            entry.update(status="revealed", label=int(e.args["label"]), confidence_bp=int(e.args["confidence"]),
                         model_hash=e.args["modelHash"], revealed=_ref(e))

    def _eval_resolved(self, e: ChainEvent) -> None:
        a = e.args
        entry = self.p.evaluations.get(int(a["id"]))
        if entry is not None:
            status, outcome = int(a["status"]), int(a["outcome"])
            entry.update(status=EVALUATION_STATUS[status] if status < len(EVALUATION_STATUS) else str(status),
                         outcome=OUTCOME[outcome] if outcome < len(OUTCOME) else str(outcome),
                         predicted=int(a["predicted"]), score=int(a["score"]), resolved=_ref(e))
            self._count(entry)

    def _count(self, entry: dict[str, Any]) -> None:
        """The detector's counters as EvaluationLog._count keeps them (statsOf), with one point of its running
        score per resolution: voided, expired and tainted entries count apart, the rest as TP/FP/TN/FN."""
        key = _lower(entry["detector"])
        stats = self.p.detectors.setdefault(key, {
            "detector": entry["detector"], "true_positives": 0, "false_positives": 0, "true_negatives": 0,
            "false_negatives": 0, "expired": 0, "voided": 0, "tainted": 0, "total_score": 0, "curve": []})
        status, manipulated = entry["status"], entry["outcome"] == "manipulation"
        if status in ("voided", "expired", "tainted"):
            stats[status] += 1
        elif entry["predicted"] == 1:
            stats["true_positives" if manipulated else "false_positives"] += 1
        else:
            stats["false_negatives" if manipulated else "true_negatives"] += 1
        stats["total_score"] += entry["score"]
        stats["curve"].append({"id": entry["id"], "score": entry["score"], "total": stats["total_score"],
                               **entry["resolved"]})

    def _policy_published(self, e: ChainEvent) -> None:
        a = e.args
        self.p.policies[int(a["version"])] = {"version": int(a["version"]), "sha256": a["sha256"], "uri": a["uri"],
                                              "publisher": a["publisher"], "revoked": False, "published": _ref(e)}

    def _policy_revoked(self, e: ChainEvent) -> None:
        policy = self.p.policies.get(int(e.args["version"]))
        if policy is not None:
            policy.update(revoked=True, revoked_by=e.args["by"], reason=e.args["reason"], revoked_at=_ref(e))

    def _policy_served(self, e: ChainEvent) -> None:
        """A sampler's announcement replaces its previous one: it serves one version at a time, and version 0 says
        it serves nothing (stopped, or holding a revoked version). Only its last announcement is shown."""
        sampler = _lower(e.args["sampler"])
        self.p.samplers[sampler] = {"sampler": e.args["sampler"], "version": int(e.args["version"]),
                                    "sha256": e.args["sha256"], "since": _ref(e)}


def _finish_task(task: dict[str, Any]) -> None:
    """What is derived from a whole task: chain weights (protocol v2.1: the lowest bid score among a chain's
    delivering executors — a chain weighs its weakest link, TaskBeacon._chainWeight), the running leader of the vote before it is final, each chain's answer."""
    task["chains"] = [c for c in task["chains"] if c is not None]
    for chain in task["chains"]:
        scores = [x["score_wad"] for s in chain["steps"] for x in s["executors"] if x["delivered"]]
        weight = min(scores) if scores else 0
        chain["weight_wad"], chain["weight"] = weight, weight / WAD
    vote = task["vote"]
    if vote["finalized"] is None and vote["reveals"]:
        tally: dict[str, int] = {}
        for r in vote["reveals"]:
            if r["answer"]:
                tally[r["answer"]] = tally.get(r["answer"], 0) + r["weight_wad"]
        if tally:
            leader = max(tally, key=lambda k: tally[k])
            vote.update(winning_answer=leader, winning_weight=tally[leader], total_weight=sum(tally.values()))
    # weights per answer: the sum of the revealed weights of each answer (the contract's tally; abstentions apart)
    per_answer: dict[str, dict[str, Any]] = {}
    for r in vote["reveals"]:
        if r["answer"]:
            entry = per_answer.setdefault(r["answer"], {"answer": r["answer"], "weight_wad": 0, "voters": []})
            entry["weight_wad"] += r["weight_wad"]
            entry["voters"].append(r["voter"])
    vote["answers"] = sorted(({**a, "weight": a["weight_wad"] / WAD} for a in per_answer.values()), key=lambda a: -a["weight_wad"])
    vote["winning_weight_value"] = vote["winning_weight"] / WAD
    vote["total_weight_value"] = vote["total_weight"] / WAD
    vote["winners"] = [r["voter"] for r in vote["reveals"] if r["answer"] and r["answer"] == vote["winning_answer"]]
    if task["settled"]:
        task["status"] = "settled"
    elif task["cancelled"]:
        task["status"] = "cancelled"
    else:
        task["status"] = f"vote: {vote['phase']}" if vote["phase"] != "none" else "open"
