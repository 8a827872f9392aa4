"""The Symphony agent worker: everything it does is a reaction to contract events.

Life of a worker:
1. register on the CapabilityLedger (stake, capability vector, model id, capacity) or update its profile (a new
   vector counts only after the ledger's profile delay); top the stake up after slashes;
2. heartbeat its availability (the ledger counts capacity itself: taken on assignment, given back on delivery);
3. follow TaskBeacon/VoteCommitment events through the durable event stream;
4. bid on every step of a posted chain it can do (bid window open, match score above its threshold);
5. execute the steps assigned to it (its LLM, its tools) on the chain's payload plus the earlier steps' results,
   which are public in ResultSubmitted, and deliver: a non-final result in the open, a final one as its vote
   commitment (answer and result stay secret until every voter is bound);
6. reveal the final answer with its result when the reveal phase starts;
7. keep the tasks it took part in: when their requester is gone, make the overdue permissionless moves (close,
   reclaim, start the reveal, finalize) itself (agents.task_keeper).

Crash safety: the assignment, the computed result and the vote salt are written to the worker's SQLite state
before the matching transaction is sent, and the chain is asked before acting (hasDelivered), so a restarted
worker resumes every subtask still assigned to it, never delivers a second result, and can still reveal.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from dataclasses import dataclass, replace

import requests
from eth_utils import keccak

from agents.event_router import EventRouter
from agents.executor import Executor
from agents.payloads import PayloadError, ResultPayload, step_payload
from agents.profile import AgentProfile
from agents.task_keeper import TaskKeeper
from agents.worker_state import SeenBeacon, WorkerState
from chain.bindings import SymphonyContracts
from chain.bindings.beacon import beacon_id as beacon_of, chain_of
from chain.bindings.vote import VotePhase, commitment
from chain.checkpoints import CheckpointStore
from chain.events import ChainEvent, EventSource, EventStream
from chain.reverts import ContractRevert
from chain.vectors import cosine_wad
from core.errors import ChainConnectionError

log = logging.getLogger("symphony.agent")

MAX_ANSWER_BYTES = 128
# A beacon whose handling met one of these (the RPC endpoint unreachable, reset or timing out: a node restart, a
# network cut) is handled again after CHAIN_RETRY_S instead of being dropped until the worker restarts (issue #15).
CHAIN_UNREACHABLE = (ChainConnectionError, requests.exceptions.ConnectionError, requests.exceptions.Timeout)
CHAIN_RETRY_S = 1.0
# A beacon first seen this long after its bid window closed is not kept (see _should_bid).
LATE_KEEP_S = 3600


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
        self.keeper = (TaskKeeper(contracts, self.state, grace_s=profile.keeper_grace_s, name=profile.name)
                       if profile.keeper_grace_s is not None else None)
        self._queue: queue.Queue[int] = queue.Queue()
        self._queued: set[int] = set()
        self._executing: dict[int, int] = {}  # beacon -> its exec deadline, while the executor runs it
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._bid_retries: dict[int, SeenBeacon] = {}  # bids the chain did not answer, retried while their window is open
        self._bid_lock = threading.Lock()
        events_db = profile.state_dir / f"{profile.name}-{self.address.lower()}-{deployment}.events.sqlite"
        beacon, vote = contracts.beacon.contract, contracts.vote.contract
        stream = EventStream(
            contracts.client.w3,
            f"agent:{self.address}",
            [EventSource(beacon.address, beacon.abi, ("ChainPosted", "BeaconReopened", "ExecutorAssigned", "ExecutorTimedOut")),
             EventSource(vote.address, vote.abi, ("RevealPhaseStarted",))],
            CheckpointStore(events_db),
            start_block=contracts.manifest.deploy_block,
        )
        self.router = EventRouter(stream, poll_interval=profile.poll_interval_s)
        self.router.on("ChainPosted", self._on_chain_posted)
        self.router.on("BeaconReopened", self._on_reopened)
        self.router.on("ExecutorAssigned", self._on_assigned)
        self.router.on("ExecutorTimedOut", self._on_timed_out)
        self.router.on("RevealPhaseStarted", self._on_reveal_phase)

    # -- lifecycle ---------------------------------------------------------------------------------------
    def register(self) -> None:
        """Register (or declare a changed profile, which the ledger schedules); top the stake up; go available."""
        p = self.profile
        ledger = self.contracts.ledger
        tags = list(p.tags) + [f"tool:{t}" for t in p.tools]
        if not ledger.is_active(self.address):
            ledger.register(p.name, self.model_id, p.endpoint, tags, self.capability, p.capacity, max(p.stake_wei, ledger.min_stake()))
            log.info("%s registered as %s", p.name, self.address)
        else:
            info = ledger.get_agent(self.address)
            declared = (info.declared_capability, info.capacity, list(info.tags), info.endpoint, info.model_id)
            if declared != (self.capability, p.capacity, tags, p.endpoint, self.model_id):
                ledger.update(self.model_id, p.endpoint, tags, self.capability, p.capacity)
            self._top_up(info.stake)
        self._heartbeat()

    def _top_up(self, stake: int) -> None:
        """Slashes shrink the stake; without stake the ledger lets an agent neither bid nor take work."""
        want = max(self.profile.stake_wei, self.contracts.ledger.min_stake())
        if stake < want:
            self.contracts.ledger.add_stake(want - stake)
            log.info("%s topped its stake up by %d wei", self.profile.name, want - stake)

    def start(self) -> "AgentWorker":
        self.register()
        for beacon in self.state.unfinished():  # resume after a crash
            self._enqueue(beacon)
        for assignment in self.state.pending_votes():
            self._threads.append(threading.Thread(target=self._reveal, args=(assignment.beacon_id,), daemon=True))
        for i in range(self.profile.capacity):
            self._threads.append(threading.Thread(target=self._work_loop, name=f"exec-{i}", daemon=True))
        self._threads.append(threading.Thread(target=self._heartbeat_loop, name="heartbeat", daemon=True))
        self._threads.append(threading.Thread(target=self._bid_retry_loop, name="bid-retry", daemon=True))
        if self.keeper is not None:
            self._threads.append(threading.Thread(target=self._keeper_loop, name="keeper", daemon=True))
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
            self.contracts.client.fail_fast()  # the chain may be gone already (one Ctrl-C stops anvil too)
            try:
                self.contracts.ledger.heartbeat(False)
            except Exception as exc:  # the chain may already be gone at shutdown
                log.warning("final heartbeat failed: %s", exc)

    def wait(self) -> None:
        while not self._stop.wait(0.5):
            pass

    # -- event handlers (router thread: quick, durable) -----------------------------------------------------
    def _on_chain_posted(self, event: ChainEvent) -> None:
        a = event.args
        requirements = tuple(bytes.fromhex(str(r)[2:]) for r in a["requirements"])
        chain_id = int(a["chainId"])
        now = self._chain_time()
        for step in range(len(requirements)):
            seen = SeenBeacon(beacon_of(chain_id, step), str(a["taskId"]), chain_id, int(a["cotIndex"]), step, len(requirements),
                              requirements, event.bytes_arg("payload"), int(a["bidDeadline"]))
            self.state.record_beacon(seen)
            if self._should_bid(seen, now):
                self._bid(seen)

    def _should_bid(self, seen: SeenBeacon, now: int) -> bool:
        if now - seen.bid_deadline > LATE_KEEP_S:  # long closed: neither bid on nor kept (a fresh worker's replay)
            return False
        template = step_payload(seen.payload, seen.step_index, seen.steps, (), self._max_payload())
        if not self.executor.accepts(template):  # a kind of work this agent cannot do (local: before any RPC)
            return False
        if cosine_wad(self.capability, seen.requirement) < int(self.profile.min_score * 10**18):
            return False
        if now > seen.bid_deadline:  # surely closed (the contract has the last word anyway)
            # Work it would have taken, seen too late (event lag, a restart): keep the task, since a requester that is
            # gone leaves it in Bidding for good unless somebody closes it (TaskKeeper: Unfilled, escrow credited).
            # Only recent ones (LATE_KEEP_S, above): a fresh worker replays the chain's whole history, and an old
            # stuck task's escrow is not lost (its requester may close it at any time and withdraw).
            log.info("%s: saw beacon %d %d s after its bid window closed; not bidding, keeping its task",
                     self.profile.name, seen.beacon_id, now - seen.bid_deadline)
            self._watch(seen.task_id)
            return False
        hung = sum(1 for deadline in list(self._executing.values()) if now > deadline)
        if hung >= self.profile.capacity:
            # Every execution slot holds a step past its deadline (a hung model): the chain has timed those out and
            # given the capacity back, but nothing here could run more work, so a won step would only time out too.
            log.warning("%s: every execution slot is stuck past its deadline; not bidding on beacon %d",
                        self.profile.name, seen.beacon_id)
            return False
        return True

    def _bid(self, seen: SeenBeacon) -> None:
        """Bid once; a bid the chain did not answer (an RPC outage) is retried by _bid_retry_loop while the bid
        window is open (issue #15: a bid lost to a few seconds' cut had missed the beacon for good).

        The task is kept (TaskKeeper) from the first try on, whatever the bid's fate: a task whose bids were all
        lost and whose requester is gone would otherwise stay in Bidding with its escrow locked, since only a
        close makes it Unfilled and credits the escrow back."""
        self._watch(seen.task_id)
        try:
            self.contracts.beacon.bid(seen.beacon_id, seen.requirements)
            self.state.set_bid_state(seen.beacon_id, "bid")
            self.stats.bids += 1
        except ContractRevert as exc:  # window closed, book full of better bids...: not an error for an agent
            if exc.error_name == "AlreadyBid":  # an earlier try landed but its answer was lost
                self.state.set_bid_state(seen.beacon_id, "bid")
            else:
                self.state.set_bid_state(seen.beacon_id, f"refused:{exc.error_name}")
                log.info("%s: bid on beacon %d refused: %s", self.profile.name, seen.beacon_id, exc)
        except CHAIN_UNREACHABLE as exc:
            with self._bid_lock:
                self._bid_retries[seen.beacon_id] = seen
            log.warning("%s: bid on beacon %d: the chain did not answer (%s); waiting for the chain, then retrying "
                        "while its window is open", self.profile.name, seen.beacon_id, type(exc).__name__)
            return
        with self._bid_lock:
            self._bid_retries.pop(seen.beacon_id, None)

    def _bid_retry_loop(self) -> None:
        while not self._stop.wait(CHAIN_RETRY_S):
            with self._bid_lock:
                pending = list(self._bid_retries.values())
            if not pending:
                continue
            try:
                now = self._chain_time()
            except Exception:  # still unreachable: wait for the next round
                continue
            for seen in pending:
                if now > seen.bid_deadline:  # the window closed meanwhile: a re-open brings the beacon back
                    with self._bid_lock:
                        self._bid_retries.pop(seen.beacon_id, None)
                    self.state.set_bid_state(seen.beacon_id, "missed")
                    continue
                try:
                    self._bid(seen)
                except Exception:
                    log.exception("%s: bid retry on beacon %d failed", self.profile.name, seen.beacon_id)

    def _on_reopened(self, event: ChainEvent) -> None:
        """A step nobody took (every bidder busy, bids lost to an outage) is open again: bid on it like on a new one."""
        beacon = int(event.args["beaconId"])
        seen = self._seen(beacon)
        if seen is None:
            return
        seen = replace(seen, bid_deadline=int(event.args["bidDeadline"]))
        self.state.set_bid_deadline(beacon, seen.bid_deadline)
        if self._should_bid(seen, self._chain_time()):
            self._bid(seen)

    def _on_assigned(self, event: ChainEvent) -> None:
        if event.args["agent"] != self.address:
            return
        beacon = int(event.args["beaconId"])
        self.state.add_assignment(beacon, str(event.args["taskId"]), int(event.args["score"]), int(event.args["execDeadline"]))
        self._watch(str(event.args["taskId"]))
        self._enqueue(beacon)

    def _on_timed_out(self, event: ChainEvent) -> None:
        if event.args["agent"] == self.address:
            assignment = self.state.assignment(int(event.args["beaconId"]))
            if assignment and assignment.status != "submitted":
                self.state.set_status(assignment.beacon_id, "lost")

    def _on_reveal_phase(self, event: ChainEvent) -> None:
        for assignment in self.state.votes_to_reveal(str(event.args["taskId"])):
            self._reveal(assignment.beacon_id)

    # -- execution (executor threads) -------------------------------------------------------------------
    def _enqueue(self, beacon: int) -> None:
        if beacon not in self._queued:
            self._queued.add(beacon)
            self._queue.put(beacon)

    def _work_loop(self) -> None:
        while not self._stop.is_set():
            try:
                beacon = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            retry = False
            try:
                self._handle_assignment(beacon)
            except CHAIN_UNREACHABLE as exc:
                # The state is durable (a computed result is kept) and a delivery re-checks hasDelivered first, so
                # handling the beacon again once the chain answers neither re-executes nor delivers twice.
                log.warning("%s: beacon %d: the chain did not answer (%s); waiting for the chain, then retrying",
                            self.profile.name, beacon, type(exc).__name__)
                retry = not self._stop.wait(CHAIN_RETRY_S)
            except Exception:
                log.exception("%s: subtask on beacon %d failed", self.profile.name, beacon)
            finally:
                if retry:
                    self._queue.put(beacon)  # still in _queued: nothing else enqueues it meanwhile
                else:
                    self._queued.discard(beacon)

    def _max_payload(self) -> int:
        return self.contracts.manifest.parameters.get("max_payload_bytes", 8192)

    def _seen(self, beacon: int) -> SeenBeacon | None:
        seen = self.state.beacon(beacon)
        if seen is None:  # assigned without having seen the post (e.g. state wiped): read it back from the logs
            logs = self.contracts.beacon.contract.events.ChainPosted().get_logs(
                from_block=self.contracts.manifest.deploy_block, argument_filters={"chainId": chain_of(beacon)})
            if logs:
                a = logs[0]["args"]
                reqs = tuple(bytes(r) for r in a["requirements"])
                seen = SeenBeacon(beacon, "0x" + bytes(a["taskId"]).hex(), chain_of(beacon), a["cotIndex"], beacon % 8, len(reqs),
                                  reqs, bytes(a["payload"]), a["bidDeadline"], "bid")
                self.state.record_beacon(seen)
        return seen

    def _previous_results(self, seen: SeenBeacon) -> tuple[bytes, ...]:
        """The first delivered result of every earlier step of the chain (public in ResultSubmitted). A peer's result
        that is not a result payload (malformed, not UTF-8) is still the chain's input: step_payload shows it as text
        within the payload limit; the log says whose it was."""
        out: list[bytes] = []
        events = self.contracts.beacon.contract.events.ResultSubmitted()
        for step in range(seen.step_index):
            logs = events.get_logs(from_block=self.contracts.manifest.deploy_block,
                                   argument_filters={"beaconId": beacon_of(seen.chain_id, step)})
            if not logs:
                out.append(b"")
                continue
            result = bytes(logs[0]["args"]["result"])
            try:
                ResultPayload.decode(result)
            except PayloadError as exc:
                log.warning("%s: beacon %d: the result of step %d (%d bytes, by %s) is not a result payload (%s); "
                            "the step sees it as text", self.profile.name, seen.beacon_id, step, len(result),
                            logs[0]["args"]["agent"], exc)
            out.append(result)
        return tuple(out)

    def _handle_assignment(self, beacon: int) -> None:
        assignment = self.state.assignment(beacon)
        seen = self._seen(beacon)
        if assignment is None or seen is None or assignment.status in ("submitted", "expired", "lost"):
            return
        if self.contracts.beacon.has_delivered(beacon, self.address):
            # Delivered by an earlier life of this worker that crashed before recording it.
            self.state.set_status(beacon, "submitted")
            if seen.is_final and assignment.answer is not None:
                self.state.set_vote_state(beacon, "committed")
                self._reveal_if_open(beacon)
            return
        if assignment.status in ("assigned", "executing"):
            if self._chain_time() > assignment.exec_deadline:
                self.state.set_status(beacon, "expired")
                return
            self.state.start_attempt(beacon)
            payload = step_payload(seen.payload, seen.step_index, seen.steps, self._previous_results(seen), self._max_payload())
            self._executing[beacon] = assignment.exec_deadline
            try:
                result = self.executor.run(payload)
            finally:
                self._executing.pop(beacon, None)
            self.stats.executed += 1
            self.stats.abstained += int(result.abstained)
            data = result.encode(self._max_payload())
            # An abstaining final executor still votes: the empty answer is the contract's explicit abstention.
            answer = "" if result.abstained else _clip_utf8(result.answer or "", MAX_ANSWER_BYTES)
            self.state.save_result(beacon, data, answer, "0x" + os.urandom(32).hex())
        assignment = self.state.assignment(beacon)
        if seen.is_final:
            self._commit(beacon, seen, assignment.result or b"", assignment.answer or "", bytes.fromhex(assignment.salt[2:]))
            return
        try:
            self.contracts.beacon.submit_result(beacon, assignment.result or b"")
            self.stats.submitted += 1
            log.info("%s: submitted result for beacon %d (step %d, chain %d)", self.profile.name, beacon, seen.step_index, seen.cot_index)
        except ContractRevert as exc:
            if exc.error_name != "AlreadySubmitted":
                self.state.set_status(beacon, "lost")
                log.info("%s: result for beacon %d refused: %s", self.profile.name, beacon, exc)
                return
        self.state.set_status(beacon, "submitted")

    # -- voting ------------------------------------------------------------------------------------------
    def _commit(self, beacon: int, seen: SeenBeacon, result: bytes, answer: str, salt: bytes) -> None:
        """Deliver a final step: the commitment to (answer, result), which is this agent's vote."""
        task_id = bytes.fromhex(seen.task_id[2:])
        try:
            self.contracts.beacon.commit_result(beacon, commitment(task_id, self.address, answer, result, salt))
            self.stats.committed += 1
            self.stats.submitted += 1
        except ContractRevert as exc:
            if exc.error_name != "AlreadySubmitted":
                self.state.set_status(beacon, "lost")
                log.info("%s: final delivery for beacon %d refused: %s", self.profile.name, beacon, exc)
                return
        self.state.set_status(beacon, "submitted")
        self.state.set_vote_state(beacon, "committed")
        self._reveal_if_open(beacon)

    def _reveal_if_open(self, beacon: int) -> None:
        a = self.state.assignment(beacon)
        if a is not None and self.contracts.vote.get(bytes.fromhex(a.task_id[2:])).phase == VotePhase.REVEAL:
            self._reveal(beacon)  # we were the last voter to commit: the reveal phase began in our own transaction

    def _reveal(self, beacon: int) -> None:
        a = self.state.assignment(beacon)
        if a is None or a.vote_state != "committed":
            return
        try:
            self.contracts.vote.reveal(bytes.fromhex(a.task_id[2:]), a.answer or "", a.result or b"", bytes.fromhex(a.salt[2:]))
            self.stats.revealed += 1
            self.state.set_vote_state(beacon, "revealed")
        except ContractRevert as exc:
            if exc.error_name == "AlreadyRevealed":
                self.state.set_vote_state(beacon, "revealed")
            elif exc.error_name != "WrongPhase":  # WrongPhase: still committing; the RevealPhaseStarted event retries
                self.state.set_vote_state(beacon, f"refused:{exc.error_name}")
                log.info("%s: reveal for beacon %d refused: %s", self.profile.name, beacon, exc)

    # -- keeping the tasks it took part in ---------------------------------------------------------------------
    def _watch(self, task_id: str) -> None:
        if self.keeper is not None:
            self.keeper.watch(task_id)

    def _keeper_loop(self) -> None:
        assert self.keeper is not None
        while not self._stop.wait(self.profile.keeper_interval_s):
            try:
                self.keeper.sweep(self._next_block_time())
            except Exception as exc:  # an unreachable chain, a flaky RPC: the next pass retries
                log.warning("%s: keeper pass failed: %s", self.profile.name, exc)

    def _next_block_time(self) -> int:
        """The timestamp the next block would carry (the pending block's), which is what decides whether a move is
        due. Why not the latest block: on a chain that mines only on demand (anvil) the latest block can be minutes
        old, and a keeper that waited for it to look overdue waited for somebody else's transaction."""
        try:
            return max(int(self.contracts.client.w3.eth.get_block("pending")["timestamp"]), self._chain_time())
        except ValueError:  # a node that does not serve the pending block
            return self._chain_time()

    def _chain_time(self) -> int:
        """The latest block's timestamp: a lower bound of the chain's clock, which need not match ours."""
        return int(self.contracts.client.w3.eth.get_block("latest")["timestamp"])

    # -- availability -------------------------------------------------------------------------------------
    def _heartbeat(self) -> None:
        self.contracts.ledger.heartbeat(True)

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(self.profile.heartbeat_interval_s):
            try:
                self._top_up(self.contracts.ledger.stake(self.address))
                self._heartbeat()
                for assignment in self.state.pending_votes():  # a reveal that failed in flight gets another chance
                    self._reveal_if_open(assignment.beacon_id)
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
