"""A worker's durable memory (SQLite): beacons it saw, subtasks assigned to it, results and vote secrets.

Why: a worker killed at any point must come back knowing which subtasks are still its own, which result it
already computed (so it submits that one instead of producing a second, different one) and which salts it
committed with (without them it could never reveal, and would be penalised).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from core.sqlite import open_store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS beacons (
    beacon_id INTEGER PRIMARY KEY, task_id TEXT NOT NULL, cot_index INTEGER NOT NULL, step_index INTEGER NOT NULL,
    is_final INTEGER NOT NULL, requirement TEXT NOT NULL, payload BLOB NOT NULL, bid_deadline INTEGER NOT NULL,
    bid_state TEXT NOT NULL DEFAULT 'seen'
);
CREATE TABLE IF NOT EXISTS assignments (
    beacon_id INTEGER PRIMARY KEY, task_id TEXT NOT NULL, score INTEGER NOT NULL, exec_deadline INTEGER NOT NULL,
    status TEXT NOT NULL, result BLOB, answer TEXT, cot_hash TEXT, salt TEXT, vote_state TEXT NOT NULL DEFAULT 'none',
    attempts INTEGER NOT NULL DEFAULT 0
);
"""

# assignment.status: assigned -> executing -> computed -> submitted | expired | lost
# assignment.vote_state (final beacons only): none -> committed -> revealed


@dataclass(frozen=True)
class SeenBeacon:
    beacon_id: int
    task_id: str
    cot_index: int
    step_index: int
    is_final: bool
    requirement: str
    payload: bytes
    bid_deadline: int
    bid_state: str


@dataclass(frozen=True)
class Assignment:
    beacon_id: int
    task_id: str
    score: int
    exec_deadline: int
    status: str
    result: bytes | None
    answer: str | None
    cot_hash: str | None
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

    # -- beacons --------------------------------------------------------------------------------------------
    def record_beacon(self, b: SeenBeacon) -> None:
        self._exec("INSERT OR IGNORE INTO beacons VALUES (?,?,?,?,?,?,?,?,?)",
                   (b.beacon_id, b.task_id, b.cot_index, b.step_index, int(b.is_final), b.requirement, b.payload, b.bid_deadline, b.bid_state))

    def set_bid_state(self, beacon_id: int, state: str) -> None:
        self._exec("UPDATE beacons SET bid_state=? WHERE beacon_id=?", (state, beacon_id))

    def holds_final_bid(self, task_id: str, chain_time: int) -> bool:
        """Are we the executor of a final beacon of this task, or still in the running for one (a bid whose window
        is open)? One agent casts one vote per task; a final bid we lost does not count."""
        row = self._one(
            "SELECT 1 FROM beacons b WHERE b.task_id=? AND b.is_final=1 AND ("
            " b.beacon_id IN (SELECT beacon_id FROM assignments WHERE status NOT IN ('lost','expired'))"
            " OR (b.bid_state='bid' AND b.bid_deadline >= ?))",
            (task_id, chain_time),
        )
        return row is not None

    def beacon(self, beacon_id: int) -> SeenBeacon | None:
        row = self._one("SELECT * FROM beacons WHERE beacon_id=?", (beacon_id,))
        return SeenBeacon(row[0], row[1], row[2], row[3], bool(row[4]), row[5], bytes(row[6]), row[7], row[8]) if row else None

    # -- assignments ----------------------------------------------------------------------------------------
    def add_assignment(self, beacon_id: int, task_id: str, score: int, exec_deadline: int) -> bool:
        """True if new. A re-assignment of the same beacon (after a reclaim) refreshes the deadline."""
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

    def save_result(self, beacon_id: int, result: bytes, answer: str | None, cot_hash: str, salt: str) -> None:
        self._exec("UPDATE assignments SET status='computed', result=?, answer=?, cot_hash=?, salt=? WHERE beacon_id=?",
                   (result, answer, cot_hash, salt, beacon_id))

    def set_vote_state(self, beacon_id: int, state: str) -> None:
        self._exec("UPDATE assignments SET vote_state=? WHERE beacon_id=?", (state, beacon_id))

    def unfinished(self) -> list[int]:
        """Assignments a restarted worker must pick up again."""
        return [r[0] for r in self._all("SELECT beacon_id FROM assignments WHERE status IN ('assigned','executing','computed') ORDER BY beacon_id")]

    def votes_to_reveal(self, task_id: str) -> list[Assignment]:
        rows = self._all("SELECT beacon_id FROM assignments WHERE task_id=? AND vote_state='committed'", (task_id,))
        return [a for a in (self.assignment(r[0]) for r in rows) if a is not None]

    def pending_votes(self) -> list[Assignment]:
        rows = self._all("SELECT beacon_id FROM assignments WHERE vote_state IN ('pending','committed')")
        return [a for a in (self.assignment(r[0]) for r in rows) if a is not None]

    def in_flight(self) -> int:
        row = self._one("SELECT COUNT(*) FROM assignments WHERE status IN ('assigned','executing','computed')", ())
        return int(row[0]) if row else 0
