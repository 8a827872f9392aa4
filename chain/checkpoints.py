"""Durable per-consumer progress for event streams (SQLite).

Why SQLite: a consumer that crashes must resume exactly where it stopped, across processes, without a server.
Two facts are stored per consumer: the last block fully processed (with its hash, to detect reorgs) and the
set of processed logs keyed by (tx hash, log index), which makes redelivery idempotent.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

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


class CheckpointStore:
    """Thread-safe; one file may hold many consumers. Use ':memory:' for throwaway streams."""

    def __init__(self, path: Path | str = ":memory:") -> None:
        self._db = open_store(path, _SCHEMA)
        self._lock = threading.Lock()

    def checkpoint(self, consumer: str) -> tuple[int, str] | None:
        with self._lock:
            row = self._db.execute("SELECT block, block_hash FROM checkpoint WHERE consumer=?", (consumer,)).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def set_checkpoint(self, consumer: str, block: int, block_hash: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO checkpoint VALUES (?,?,?) ON CONFLICT(consumer) DO UPDATE SET block=excluded.block, block_hash=excluded.block_hash",
                (consumer, block, block_hash),
            )

    def is_processed(self, consumer: str, tx_hash: str, log_index: int) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM processed WHERE consumer=? AND tx_hash=? AND log_index=?", (consumer, tx_hash, log_index)
            ).fetchone()
        return row is not None

    def mark_processed(self, consumer: str, tx_hash: str, log_index: int, block: int, block_hash: str, event: dict) -> bool:
        """Record a processed log; False if it was already recorded (a duplicate delivery)."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO processed VALUES (?,?,?,?,?,?)",
                (consumer, tx_hash, log_index, block, block_hash, json.dumps(event, default=str)),
            )
        return cursor.rowcount == 1

    def known_block_hashes(self, consumer: str, above: int = -1) -> list[tuple[int, str]]:
        """Distinct (block, hash) pairs of processed logs above `above`, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT block, block_hash FROM processed WHERE consumer=? AND block>? ORDER BY block DESC",
                (consumer, above),
            ).fetchall()
        return [(int(b), str(h)) for b, h in rows]

    def pop_processed_after(self, consumer: str, block: int) -> list[dict]:
        """Remove and return the processed events above `block` (they were on an abandoned fork)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT event FROM processed WHERE consumer=? AND block>? ORDER BY block, log_index", (consumer, block)
            ).fetchall()
            self._db.execute("DELETE FROM processed WHERE consumer=? AND block>?", (consumer, block))
        return [json.loads(r[0]) for r in rows]

    def processed_events(self, consumer: str) -> list[dict]:
        """Every event a consumer has handled, in chain order: what a consumer that keeps its state in memory
        (the explorer) re-applies when it restarts from a persistent store."""
        with self._lock:
            rows = self._db.execute(
                "SELECT event FROM processed WHERE consumer=? ORDER BY block, log_index", (consumer,)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def close(self) -> None:
        self._db.close()
