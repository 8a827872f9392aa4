"""A worker's durable memory (SQLite): steps it saw, subtasks assigned to it, results and vote secrets.

Why: a worker killed at any point must come back knowing which subtasks are still its own, which result it
already computed (so it delivers that one instead of producing a second, different one) and which salt and
result it committed a final step with (without them it could never reveal, and would be slashed as silent).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from core.sqlite import open_store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS steps (
    beacon_id INTEGER PRIMARY KEY, task_id TEXT NOT NULL, chain_id INTEGER NOT NULL, cot_index INTEGER NOT NULL,
    step_index INTEGER NOT NULL, steps INTEGER NOT NULL, requirements BLOB NOT NULL, payload BLOB NOT NULL,
    bid_deadline INTEGER NOT NULL, bid_state TEXT NOT NULL DEFAULT 'seen'
);
CREATE TABLE IF NOT EXISTS assignments (
    beacon_id INTEGER PRIMARY KEY, task_id TEXT NOT NULL, score INTEGER NOT NULL, exec_deadline INTEGER NOT NULL,
    status TEXT NOT NULL, result BLOB, answer TEXT, salt TEXT, vote_state TEXT NOT NULL DEFAULT 'none',
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS watched_tasks (task_id TEXT PRIMARY KEY);
"""

# assignment.status: assigned -> executing -> computed -> submitted | expired | lost
# assignment.vote_state (final steps only): none -> committed -> revealed


@dataclass(frozen=True)
class SeenBeacon:
    """One step of a posted chain, as the worker saw it in ChainPosted."""

    beacon_id: int
    task_id: str
    chain_id: int
    cot_index: int
    step_index: int
    steps: int
    requirements: tuple[bytes, ...]  # the whole chain's vectors: a bid passes them back
    payload: bytes  # the chain's payload (every step receives it)
    bid_deadline: int
    bid_state: str = "seen"

    @property
    def is_final(self) -> bool:
        return self.step_index == self.steps - 1

    @property
    def requirement(self) -> bytes:
        return self.requirements[self.step_index]


@dataclass(frozen=True)
class Assignment:
    beacon_id: int
    task_id: str
    score: int
    exec_deadline: int
    status: str
    result: bytes | None
    answer: str | None
    salt: str | None
    vote_state: str
    attempts: int


class WorkerState:
    def __init__(self, path: Path | str) -> None:
        self._db = open_store(path, _SCHEMA)
        self._lock = threading.Lock()

    def _one(self, sql: str, args: tuple) -> tuple | None:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def _all(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _exec(self, sql: str, args: tuple) -> int:
        with self._lock:
            return self._db.execute(sql, args).rowcount

    # -- steps ----------------------------------------------------------------------------------------------
    def record_beacon(self, b: SeenBeacon) -> None:
        self._exec("INSERT OR IGNORE INTO steps VALUES (?,?,?,?,?,?,?,?,?,?)",
                   (b.beacon_id, b.task_id, b.chain_id, b.cot_index, b.step_index, b.steps, b"".join(b.requirements),
                    b.payload, b.bid_deadline, b.bid_state))

    def set_bid_state(self, beacon_id: int, state: str) -> None:
        self._exec("UPDATE steps SET bid_state=? WHERE beacon_id=?", (state, beacon_id))

    def set_bid_deadline(self, beacon_id: int, bid_deadline: int) -> None:
        """A re-opened step: a new bid window."""
        self._exec("UPDATE steps SET bid_deadline=?, bid_state='seen' WHERE beacon_id=?", (bid_deadline, beacon_id))

    def beacon(self, beacon_id: int) -> SeenBeacon | None:
        row = self._one("SELECT * FROM steps WHERE beacon_id=?", (beacon_id,))
        if row is None:
            return None
        reqs = bytes(row[6])
        return SeenBeacon(row[0], row[1], row[2], row[3], row[4], row[5], tuple(reqs[i:i + 32] for i in range(0, len(reqs), 32)),
                          bytes(row[7]), row[8], row[9])

    # -- assignments ----------------------------------------------------------------------------------------
    def add_assignment(self, beacon_id: int, task_id: str, score: int, exec_deadline: int) -> bool:
        """True if new. A re-assignment of the same step (after a reclaim) refreshes the deadline."""
        if self._one("SELECT 1 FROM assignments WHERE beacon_id=?", (beacon_id,)):
            self._exec("UPDATE assignments SET exec_deadline=? WHERE beacon_id=?", (exec_deadline, beacon_id))
            return False
        self._exec("INSERT INTO assignments (beacon_id, task_id, score, exec_deadline, status) VALUES (?,?,?,?, 'assigned')",
                   (beacon_id, task_id, score, exec_deadline))
        return True

    def assignment(self, beacon_id: int) -> Assignment | None:
        row = self._one("SELECT * FROM assignments WHERE beacon_id=?", (beacon_id,))
        return Assignment(*row[:5], bytes(row[5]) if row[5] is not None else None, *row[6:]) if row else None

    def set_status(self, beacon_id: int, status: str) -> None:
        self._exec("UPDATE assignments SET status=? WHERE beacon_id=?", (status, beacon_id))

    def start_attempt(self, beacon_id: int) -> int:
        self._exec("UPDATE assignments SET status='executing', attempts=attempts+1 WHERE beacon_id=?", (beacon_id,))
        row = self._one("SELECT attempts FROM assignments WHERE beacon_id=?", (beacon_id,))
        return int(row[0]) if row else 0

    def save_result(self, beacon_id: int, result: bytes, answer: str | None, salt: str) -> None:
        self._exec("UPDATE assignments SET status='computed', result=?, answer=?, salt=? WHERE beacon_id=?",
                   (result, answer, salt, beacon_id))

    def set_vote_state(self, beacon_id: int, state: str) -> None:
        self._exec("UPDATE assignments SET vote_state=? WHERE beacon_id=?", (state, beacon_id))

    def unfinished(self) -> list[int]:
        """Assignments a restarted worker must pick up again."""
        return [r[0] for r in self._all("SELECT beacon_id FROM assignments WHERE status IN ('assigned','executing','computed') ORDER BY beacon_id")]

    def votes_to_reveal(self, task_id: str) -> list[Assignment]:
        rows = self._all("SELECT beacon_id FROM assignments WHERE task_id=? AND vote_state='committed'", (task_id,))
        return [a for a in (self.assignment(r[0]) for r in rows) if a is not None]

    def pending_votes(self) -> list[Assignment]:
        rows = self._all("SELECT beacon_id FROM assignments WHERE vote_state='committed'")
        return [a for a in (self.assignment(r[0]) for r in rows) if a is not None]

    # -- tasks the keeper looks after (agents.task_keeper) ------------------------------------------------------
    def watch(self, task_id: str) -> None:
        self._exec("INSERT OR IGNORE INTO watched_tasks VALUES (?)", (task_id,))

    def unwatch(self, task_id: str) -> None:
        self._exec("DELETE FROM watched_tasks WHERE task_id=?", (task_id,))

    def watched(self) -> list[str]:
        return [r[0] for r in self._all("SELECT task_id FROM watched_tasks ORDER BY task_id")]

    def in_flight(self) -> int:
        row = self._one("SELECT COUNT(*) FROM assignments WHERE status IN ('assigned','executing','computed')", ())
        return int(row[0]) if row else 0
