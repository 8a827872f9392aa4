"""One way to open the small SQLite stores (event checkpoints, worker state) the project keeps on disk.

Why shared: every store wants the same things — the parent folder created, autocommit, WAL so a reader never
blocks the writer, a generous busy timeout for processes sharing a file, and use from several threads.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_store(path: Path | str, schema: str) -> sqlite3.Connection:
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(schema)
    return db
