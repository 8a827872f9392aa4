"""Durable per-consumer progress for event streams (SQLite).

Why SQLite: a consumer that crashes must resume exactly where it stopped, across processes, without a server.
Two facts are stored per consumer: the last block fully processed (with its hash, to detect reorgs) and the
set of processed logs keyed by (tx hash, log index), which makes redelivery idempotent.

Why every SQLite error becomes a CheckpointStoreError naming the file: a full disk (or an unwritable or corrupt
file) is an operator's problem, and the caller — an event loop that must keep running — needs one type to catch
and one line to log. SQLite rolls the failed statement back, so the store keeps its last committed checkpoint and
the stream redelivers what was not recorded once writes succeed again (tests/chain/test_events.py).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.errors import SymphonyError
from core.sqlite import open_store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoint (consumer TEXT PRIMARY KEY, block INTEGER NOT NULL, block_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS processed (
    consumer TEXT NOT NULL, tx_hash TEXT NOT NULL, log_index INTEGER NOT NULL,
    block INTEGER NOT NULL, block_hash TEXT NOT NULL, event TEXT NOT NULL,
    PRIMARY KEY (consumer, tx_hash, log_index)
);
CREATE INDEX IF NOT EXISTS processed_block ON processed (consumer, block);
"""


class CheckpointStoreError(SymphonyError):
    """The checkpoint file could not be read or written (disk full, permissions, corruption)."""


class CheckpointStore:
    """Thread-safe; one file may hold many consumers. Use ':memory:' for throwaway streams."""

    def __init__(self, path: Path | str = ":memory:") -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        try:
            self._db = open_store(path, _SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise CheckpointStoreError(f"checkpoint store {self.path}: {exc}") from None

    @contextmanager
    def _locked(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as exc:
                raise CheckpointStoreError(f"checkpoint store {self.path}: {exc}") from None

    def checkpoint(self, consumer: str) -> tuple[int, str] | None:
        with self._locked():
            row = self._db.execute("SELECT block, block_hash FROM checkpoint WHERE consumer=?", (consumer,)).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def set_checkpoint(self, consumer: str, block: int, block_hash: str) -> None:
        with self._locked():
            self._db.execute(
                "INSERT INTO checkpoint VALUES (?,?,?) ON CONFLICT(consumer) DO UPDATE SET block=excluded.block, block_hash=excluded.block_hash",
                (consumer, block, block_hash),
            )

    def is_processed(self, consumer: str, tx_hash: str, log_index: int) -> bool:
        with self._locked():
            row = self._db.execute(
                "SELECT 1 FROM processed WHERE consumer=? AND tx_hash=? AND log_index=?", (consumer, tx_hash, log_index)
            ).fetchone()
        return row is not None

    def mark_processed(self, consumer: str, tx_hash: str, log_index: int, block: int, block_hash: str, event: dict) -> bool:
        """Record a processed log; False if it was already recorded (a duplicate delivery)."""
        with self._locked():
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO processed VALUES (?,?,?,?,?,?)",
                (consumer, tx_hash, log_index, block, block_hash, json.dumps(event, default=str)),
            )
        return cursor.rowcount == 1

    def known_block_hashes(self, consumer: str, above: int = -1) -> list[tuple[int, str]]:
        """Distinct (block, hash) pairs of processed logs above `above`, newest first."""
        with self._locked():
            rows = self._db.execute(
                "SELECT DISTINCT block, block_hash FROM processed WHERE consumer=? AND block>? ORDER BY block DESC",
                (consumer, above),
            ).fetchall()
        return [(int(b), str(h)) for b, h in rows]

    def rewind(self, consumer: str, block: int, block_hash: str) -> list[dict]:
        """After a reorg: remove and return the processed events above `block` (they were on an abandoned fork)
        and move the checkpoint back to (`block`, `block_hash`), in one transaction — a write that fails (a full
        disk) leaves both as they were, so the next poll finds the same reorg and returns the same events."""
        with self._locked() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                rows = db.execute(
                    "SELECT event FROM processed WHERE consumer=? AND block>? ORDER BY block, log_index", (consumer, block)
                ).fetchall()
                db.execute("DELETE FROM processed WHERE consumer=? AND block>?", (consumer, block))
                db.execute(
                    "INSERT INTO checkpoint VALUES (?,?,?) ON CONFLICT(consumer) DO UPDATE SET block=excluded.block, block_hash=excluded.block_hash",
                    (consumer, block, block_hash),
                )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # SQLite may have rolled a failed write back already
                    db.execute("ROLLBACK")
                raise
        return [json.loads(r[0]) for r in rows]

    def processed_events(self, consumer: str) -> list[dict]:
        """Every event a consumer has handled, in chain order: what a consumer that keeps its state in memory
        (the explorer) re-applies when it restarts from a persistent store."""
        with self._locked():
            rows = self._db.execute(
                "SELECT event FROM processed WHERE consumer=? ORDER BY block, log_index", (consumer,)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def close(self) -> None:
        self._db.close()
