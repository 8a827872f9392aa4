"""A worker's keeper: it finishes the tasks the worker took part in when their requester is gone.

Why: every move that takes a task forward after its bid window is permissionless on chain — `close` (assign a step
after its bid window), `reclaimExpired` (time out an executor past its deadline), `startReveal` (the commit window
ran out), `finalize` (the reveal window ran out) — but only the requester's auction made them. A requester that
crashed, lost its link or gave up left its beacons in Bidding and its vote unfinished for ever: the bidders were
never assigned, the executors who delivered never had their evidence settled, and the requester's unspent escrow
was never credited back (issue #15, "every stuck beacon reassigned or refunded"). Each worker therefore keeps the
tasks it bid on or was assigned in: once a move is overdue by `grace_s` (so a live requester, which makes it at
once, always goes first and nobody pays gas for a race), the keeper makes it. Whoever is second gets a revert from
gas estimation (`NOT_DUE`), which costs nothing.

What it never does: re-open an Unfilled step (only the requester may pay for a new window) or move anything before
its deadline; the contracts check both anyway.

The watched tasks live in the worker's state (`WorkerState.watch`), so a restarted worker keeps them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from agents.auction import NOT_DUE
from agents.worker_state import WorkerState
from chain.bindings import SymphonyContracts
from chain.bindings.beacon import BeaconStatus
from chain.bindings.vote import VotePhase
from chain.reverts import ContractRevert

log = logging.getLogger("symphony.keeper")


@dataclass
class KeeperStats:
    closed: int = 0
    reclaimed: int = 0
    reveals_started: int = 0
    finalized: int = 0


class TaskKeeper:
    def __init__(self, contracts: SymphonyContracts, state: WorkerState, *, grace_s: float, name: str = "agent") -> None:
        self.contracts = contracts
        self.state = state
        self.grace_s = grace_s
        self.name = name
        self.stats = KeeperStats()

    def watch(self, task_id: str) -> None:
        self.state.watch(task_id)

    def sweep(self, now: int) -> None:
        """One pass over the watched tasks at chain time `now`; a task with nothing left to move is dropped."""
        for task_id in self.state.watched():
            if self._keep(task_id, now):
                self.state.unwatch(task_id)

    def _keep(self, task_id: str, now: int) -> bool:
        """Make every overdue move of one task; True when the task needs nobody any more."""
        tid = bytes.fromhex(task_id[2:])
        beacon, vote = self.contracts.beacon, self.contracts.vote
        moving = False  # some step may still be assigned or delivered (a settled task's late slot still holds escrow)
        for chain in beacon.task_beacons(tid):
            for beacon_id in chain:
                info = beacon.get(beacon_id)
                if info.status == BeaconStatus.BIDDING:
                    moving = True
                    if now > info.bid_deadline + self.grace_s and self._move(beacon.close, beacon_id):
                        self.stats.closed += 1
                        log.info("%s: closed beacon %d, left in bidding %d s past its window", self.name, beacon_id,
                                 now - info.bid_deadline)
                elif info.status == BeaconStatus.ASSIGNED:
                    moving = True
                    if now > info.exec_deadline + self.grace_s and self._move(beacon.reclaim_expired, beacon_id):
                        self.stats.reclaimed += 1
                        log.info("%s: reclaimed beacon %d, %d s past its deadline", self.name, beacon_id,
                                 now - info.exec_deadline)
        ballot = vote.get(tid)
        if ballot.phase == VotePhase.COMMIT and now > ballot.commit_deadline + self.grace_s:
            if self._move(vote.start_reveal, tid):
                self.stats.reveals_started += 1
                log.info("%s: started the reveal phase of task %s", self.name, task_id)
        elif ballot.phase == VotePhase.REVEAL and now > ballot.reveal_deadline + self.grace_s:
            if self._move(vote.finalize, tid):
                self.stats.finalized += 1
                log.info("%s: finalized the vote of task %s", self.name, task_id)
        # Done when no step can still be assigned or delivered and the vote is over or never began (every chain
        # unfilled): nothing will happen here any more unless the requester re-opens a step, which brings the task
        # back (the worker bids on it and watches it again).
        return ballot.phase in (VotePhase.NONE, VotePhase.FINALIZED) and not moving

    def _move(self, fn, *args) -> bool:  # noqa: ANN001 - a binding's transaction method
        try:
            fn(*args)
            return True
        except ContractRevert as exc:
            if exc.error_name not in NOT_DUE:
                raise
            return False
