"""The Symphony agent worker: everything it does is a reaction to contract events.

Life of a worker:
1. register on the CapabilityLedger (stake, capability vector, model id, capacity) or update its profile;
2. heartbeat its availability and free capacity;
3. follow TaskBeacon/VoteCommitment events through the durable event stream;
4. bid on beacons it can take (free capacity, bid window open, match score above its threshold);
5. execute subtasks assigned to it (its LLM, its tools), submit the result on chain;
6. for the final step of a chain: commit its answer, reveal it when the reveal phase starts.

Crash safety: the assignment, the computed result and the vote salt are written to the worker's SQLite state
before the matching transaction is sent, and the chain is asked before acting (resultHashOf, commitmentOf), so a
restarted worker resumes every subtask still assigned to it, never submits a second result, and can still reveal.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from dataclasses import dataclass

from eth_utils import keccak

from agents.event_router import EventRouter
from agents.executor import Executor
from agents.profile import AgentProfile
from agents.worker_state import SeenBeacon, WorkerState
from chain.bindings import SymphonyContracts
from chain.checkpoints import CheckpointStore
from chain.events import ChainEvent, EventSource, EventStream
from chain.reverts import ContractRevert

log = logging.getLogger("symphony.agent")

MAX_ANSWER_BYTES = 128


@dataclass
class WorkerStats:
    bids: int = 0
    executed: int = 0
    submitted: int = 0
    abstained: int = 0
    committed: int = 0
    revealed: int = 0


class AgentWorker:
    def __init__(self, profile: AgentProfile, contracts: SymphonyContracts, executor: Executor, capability: bytes,
                 *, model_id: str | None = None) -> None:
        self.profile = profile
        self.model_id = model_id or profile.llm.model or "default"  # what the ledger lists as this agent's model
        self.contracts = contracts
        self.executor = executor
        self.capability = capability
        self.address = contracts.client.address
        deployment = deployment_key(contracts)
        self.state = WorkerState(profile.state_dir / f"{profile.name}-{self.address.lower()}-{deployment}.sqlite")
        self.stats = WorkerStats()
        self._queue: queue.Queue[int] = queue.Queue()
        self._queued: set[int] = set()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._reported_free: int | None = None
        events_db = profile.state_dir / f"{profile.name}-{self.address.lower()}-{deployment}.events.sqlite"
        beacon, vote = contracts.beacon.contract, contracts.vote.contract
        stream = EventStream(
            contracts.client.w3,
            f"agent:{self.address}",
            [EventSource(beacon.address, beacon.abi, ("BeaconPosted", "ExecutorAssigned", "ExecutorTimedOut")),
             EventSource(vote.address, vote.abi, ("RevealPhaseStarted",))],
            CheckpointStore(events_db),
            start_block=contracts.manifest.deploy_block,
        )
        self.router = EventRouter(stream)
        self.router.on("BeaconPosted", self._on_beacon_posted)
        self.router.on("ExecutorAssigned", self._on_assigned)
        self.router.on("ExecutorTimedOut", self._on_timed_out)
        self.router.on("RevealPhaseStarted", self._on_reveal_phase)

    # -- lifecycle ---------------------------------------------------------------------------------------
    def register(self) -> None:
        """Register (or update a changed profile); then announce availability."""
        p = self.profile
        ledger = self.contracts.ledger
        tags = list(p.tags) + [f"tool:{t}" for t in p.tools]
        if not ledger.is_active(self.address):
            ledger.register(p.name, self.model_id, p.endpoint, tags, self.capability, p.capacity, p.stake_wei)
            log.info("%s registered as %s", p.name, self.address)
        else:
            info = ledger.get_agent(self.address)
            if (info.capability, info.capacity, list(info.tags), info.endpoint, info.model_id) != (self.capability, p.capacity, tags, p.endpoint, self.model_id):
                ledger.update(self.model_id, p.endpoint, tags, self.capability, p.capacity)
        self._heartbeat()

    def start(self) -> "AgentWorker":
        self.register()
        for beacon_id in self.state.unfinished():  # resume after a crash
            self._enqueue(beacon_id)
        for assignment in self.state.pending_votes():
            self._threads.append(threading.Thread(target=self._resume_vote, args=(assignment.beacon_id,), daemon=True))
        for i in range(self.profile.capacity):
            self._threads.append(threading.Thread(target=self._work_loop, name=f"exec-{i}", daemon=True))
        self._threads.append(threading.Thread(target=self._heartbeat_loop, name="heartbeat", daemon=True))
        for thread in self._threads:
            thread.start()
        self.router.start()
        return self

    def stop(self, *, announce: bool = True) -> None:
        self._stop.set()
        self.router.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        if announce:
            try:
                self.contracts.ledger.heartbeat(False, 0)
            except Exception as exc:  # the chain may already be gone at shutdown
                log.warning("final heartbeat failed: %s", exc)

    def wait(self) -> None:
        while not self._stop.wait(0.5):
            pass

    # -- event handlers (router thread: quick, durable) -----------------------------------------------------
    def _on_beacon_posted(self, event: ChainEvent) -> None:
        a = event.args
        seen = SeenBeacon(int(a["beaconId"]), str(a["taskId"]), int(a["cotIndex"]), int(a["stepIndex"]), bool(a["isFinal"]),
                          str(a["requirement"]), event.bytes_arg("payload"), int(a["bidDeadline"]), "seen")
        self.state.record_beacon(seen)
        if self._should_bid(seen):
            self._bid(seen)

    def _should_bid(self, seen: SeenBeacon) -> bool:
        if self.state.in_flight() >= self.profile.capacity:
            return False
        if not self.executor.accepts(seen.payload):  # a kind of work this agent cannot do (local: before any RPC)
            return False
        now = self._chain_time()
        if seen.is_final and self.state.holds_final_bid(seen.task_id, now):
            return False  # the vote counts one commitment per agent: leave other chains' final steps to others
        if now > seen.bid_deadline:  # surely closed (the contract has the last word anyway)
            return False
        from chain.vectors import cosine_wad

        return cosine_wad(self.capability, bytes.fromhex(seen.requirement[2:])) >= int(self.profile.min_score * 10**18)

    def _bid(self, seen: SeenBeacon) -> None:
        try:
            self.contracts.beacon.bid(seen.beacon_id)
            self.state.set_bid_state(seen.beacon_id, "bid")
            self.stats.bids += 1
        except ContractRevert as exc:  # window closed, no longer available...: not an error for an agent
            self.state.set_bid_state(seen.beacon_id, f"refused:{exc.error_name}")
            log.info("%s: bid on beacon %d refused: %s", self.profile.name, seen.beacon_id, exc)

    def _on_assigned(self, event: ChainEvent) -> None:
        if event.args["agent"] != self.address:
            return
        beacon_id = int(event.args["beaconId"])
        self.state.add_assignment(beacon_id, str(event.args["taskId"]), int(event.args["score"]), int(event.args["execDeadline"]))
        self._enqueue(beacon_id)
        self._report_capacity()

    def _on_timed_out(self, event: ChainEvent) -> None:
        if event.args["agent"] == self.address:
            assignment = self.state.assignment(int(event.args["beaconId"]))
            if assignment and assignment.status != "submitted":
                self.state.set_status(assignment.beacon_id, "lost")

    def _on_reveal_phase(self, event: ChainEvent) -> None:
        for assignment in self.state.votes_to_reveal(str(event.args["taskId"])):
            self._reveal(assignment.beacon_id)

    # -- execution (executor threads) -------------------------------------------------------------------
    def _enqueue(self, beacon_id: int) -> None:
        if beacon_id not in self._queued:
            self._queued.add(beacon_id)
            self._queue.put(beacon_id)

    def _work_loop(self) -> None:
        while not self._stop.is_set():
            try:
                beacon_id = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self._handle_assignment(beacon_id)
            except Exception:
                log.exception("%s: subtask on beacon %d failed", self.profile.name, beacon_id)
            finally:
                self._queued.discard(beacon_id)
                self._report_capacity()

    def _payload(self, beacon_id: int) -> SeenBeacon | None:
        seen = self.state.beacon(beacon_id)
        if seen is None:  # assigned without having seen the post (e.g. state wiped): read it back from the logs
            logs = self.contracts.beacon.contract.events.BeaconPosted().get_logs(
                from_block=self.contracts.manifest.deploy_block, argument_filters={"beaconId": beacon_id})
            if logs:
                a = logs[0]["args"]
                seen = SeenBeacon(beacon_id, "0x" + bytes(a["taskId"]).hex(), a["cotIndex"], a["stepIndex"], a["isFinal"],
                                  "0x" + bytes(a["requirement"]).hex(), bytes(a["payload"]), a["bidDeadline"], "bid")
                self.state.record_beacon(seen)
        return seen

    def _handle_assignment(self, beacon_id: int) -> None:
        assignment = self.state.assignment(beacon_id)
        seen = self._payload(beacon_id)
        if assignment is None or seen is None or assignment.status in ("submitted", "expired", "lost"):
            return
        if self.contracts.beacon.result_hash(beacon_id, self.address) != bytes(32):
            # Delivered by an earlier life of this worker that crashed before recording it.
            self.state.set_status(beacon_id, "submitted")
            self._after_submit(beacon_id, seen)
            return
        if assignment.status in ("assigned", "executing"):
            if self._chain_time() > assignment.exec_deadline:
                self.state.set_status(beacon_id, "expired")
                return
            self.state.start_attempt(beacon_id)
            result = self.executor.run(seen.payload)
            self.stats.executed += 1
            self.stats.abstained += int(result.abstained)
            data = result.encode(self.contracts.manifest.parameters.get("max_payload_bytes", 8192))
            # An abstaining final executor still votes: the empty answer is the contract's explicit abstention.
            answer = "" if result.abstained else _clip_utf8(result.answer or "", MAX_ANSWER_BYTES)
            self.state.save_result(beacon_id, data, answer, "0x" + keccak(data).hex(), "0x" + os.urandom(32).hex())
        assignment = self.state.assignment(beacon_id)
        try:
            self.contracts.beacon.submit_result(beacon_id, assignment.result or b"")
            self.stats.submitted += 1
            log.info("%s: submitted result for beacon %d (step %d, chain %d)", self.profile.name, beacon_id, seen.step_index, seen.cot_index)
        except ContractRevert as exc:
            if exc.error_name != "AlreadySubmitted":
                self.state.set_status(beacon_id, "lost")
                log.info("%s: result for beacon %d refused: %s", self.profile.name, beacon_id, exc)
                return
        self.state.set_status(beacon_id, "submitted")
        self._after_submit(beacon_id, seen)

    # -- voting ------------------------------------------------------------------------------------------
    def _after_submit(self, beacon_id: int, seen: SeenBeacon) -> None:
        assignment = self.state.assignment(beacon_id)
        if not seen.is_final or assignment is None or assignment.answer is None or assignment.vote_state != "none":
            return
        self.state.set_vote_state(beacon_id, "pending")
        self._commit(beacon_id)

    def _commit(self, beacon_id: int) -> None:
        a = self.state.assignment(beacon_id)
        task_id = bytes.fromhex(a.task_id[2:])
        if self.contracts.vote.commitment_of(task_id, self.address) == bytes(32):
            try:
                self.contracts.vote.commit(task_id, beacon_id, a.answer, bytes.fromhex(a.cot_hash[2:]), bytes.fromhex(a.salt[2:]))
                self.stats.committed += 1
            except ContractRevert as exc:
                log.info("%s: commit for beacon %d refused: %s", self.profile.name, beacon_id, exc)
                self.state.set_vote_state(beacon_id, f"refused:{exc.error_name}")
                return
        self.state.set_vote_state(beacon_id, "committed")
        from chain.bindings.vote import VotePhase

        if self.contracts.vote.get(task_id).phase == VotePhase.REVEAL:  # we were the last committer
            self._reveal(beacon_id)

    def _reveal(self, beacon_id: int) -> None:
        a = self.state.assignment(beacon_id)
        if a is None or a.vote_state != "committed":
            return
        try:
            self.contracts.vote.reveal(bytes.fromhex(a.task_id[2:]), a.answer, bytes.fromhex(a.cot_hash[2:]), bytes.fromhex(a.salt[2:]))
            self.stats.revealed += 1
            self.state.set_vote_state(beacon_id, "revealed")
        except ContractRevert as exc:
            if exc.error_name == "AlreadyRevealed":
                self.state.set_vote_state(beacon_id, "revealed")
            elif exc.error_name != "WrongPhase":  # WrongPhase: still committing; the RevealPhaseStarted event retries
                self.state.set_vote_state(beacon_id, f"refused:{exc.error_name}")
                log.info("%s: reveal for beacon %d refused: %s", self.profile.name, beacon_id, exc)

    def _resume_vote(self, beacon_id: int) -> None:
        a = self.state.assignment(beacon_id)
        if a is None:
            return
        if a.vote_state == "pending":
            self._commit(beacon_id)
        else:
            self._reveal(beacon_id)

    def _chain_time(self) -> int:
        """The latest block's timestamp: a lower bound of the chain's clock, which need not match ours."""
        return int(self.contracts.client.w3.eth.get_block("latest")["timestamp"])

    # -- availability -------------------------------------------------------------------------------------
    def _heartbeat(self) -> None:
        free = max(self.profile.capacity - self.state.in_flight(), 0)
        self.contracts.ledger.heartbeat(True, free)
        self._reported_free = free

    def _report_capacity(self) -> None:
        """Heartbeat when the free capacity changed, so the ledger (and the bid check) see it at once."""
        free = max(self.profile.capacity - self.state.in_flight(), 0)
        if free != self._reported_free:
            try:
                self._heartbeat()
            except Exception as exc:
                log.warning("%s: capacity heartbeat failed: %s", self.profile.name, exc)

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(self.profile.heartbeat_interval_s):
            try:
                self._heartbeat()
            except Exception as exc:
                log.warning("%s: heartbeat failed: %s", self.profile.name, exc)


def deployment_key(contracts: SymphonyContracts) -> str:
    """Identifies one deployment: chain id, TaskBeacon address and the hash of its deploy block.

    Why the block hash: a fresh local chain re-deploys to the very same addresses, and a worker that reused the
    state of the previous chain would take new beacon ids for old, finished subtasks.
    """
    w3 = contracts.client.w3
    block_hash = bytes(w3.eth.get_block(contracts.manifest.deploy_block)["hash"])
    digest = keccak(str(contracts.client.chain_id).encode() + bytes.fromhex(contracts.beacon.address[2:]) + block_hash)
    return digest.hex()[:12]


def _clip_utf8(text: str, limit: int) -> str:
    """The longest prefix of `text` whose UTF-8 encoding fits `limit` bytes (the contract counts bytes)."""
    return text.encode()[:limit].decode(errors="ignore")
