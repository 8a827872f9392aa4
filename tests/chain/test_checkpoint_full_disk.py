"""A checkpoint store whose disk fills up: a clear error, a readable file, nothing handled twice, and the event
loop resumes by itself once writes succeed again (issue #15, "a full disk for the checkpoint store").

How the disk fills: `PRAGMA max_page_count` caps the database at its current size, so the next write that needs a
page fails inside SQLite with SQLITE_FULL ("database or disk is full") — the same error, through the same code
path, as a device with no free blocks, without filling the machine's disk or changing the process's limits.
"""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from agents.event_router import EventRouter
from chain.checkpoints import CheckpointStore, CheckpointStoreError
from chain.events import EventSource, EventStream

UNLIMITED_PAGES = 1_073_741_823


def _stream(client, contract, store) -> EventStream:
    return EventStream(client.w3, "c", [EventSource(contract.address, contract.abi)], store)


def _set(client, contract, value: int) -> None:
    client.transact(contract.functions.set(value, bytes([value % 256])))


def _fill(store: CheckpointStore) -> None:
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count={pages}")


def _free(store: CheckpointStore) -> None:
    store._db.execute(f"PRAGMA max_page_count={UNLIMITED_PAGES}")


def test_a_full_store_fails_clearly_keeps_its_checkpoint_and_nothing_is_handled_twice(probe, tmp_path):
    client, contract = probe
    path = tmp_path / "events.sqlite"
    store = CheckpointStore(path)
    stream = _stream(client, contract, store)
    _set(client, contract, 1)
    (first,) = stream.poll()
    assert stream.ack(first)
    before = store.checkpoint("c")
    assert before is not None and before[0] == first.block_number

    _fill(store)
    values = list(range(2, 42))
    for v in values:
        _set(client, contract, v)
    handled: list[int] = []  # values whose ack recorded them for the first time
    with pytest.raises(CheckpointStoreError) as failure:
        for _ in range(len(values)):
            for event in stream.poll():
                if stream.ack(event):
                    handled.append(event.args["value"])
    assert str(path) in str(failure.value) and "full" in str(failure.value)
    assert len(handled) < len(values), "the store never filled up: the test proves nothing"
    assert store.checkpoint("c") == before, "a range is checkpointed only once all its events are recorded"

    reader = sqlite3.connect(path)  # another process's view: the file is intact and holds the old checkpoint
    assert reader.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert reader.execute("SELECT block FROM checkpoint WHERE consumer='c'").fetchone()[0] == before[0]
    reader.close()

    _free(store)
    for _ in range(5):
        for event in stream.poll():
            if stream.ack(event):
                handled.append(event.args["value"])
    assert sorted(handled) == values, "every event recorded exactly once across the outage"
    assert store.checkpoint("c")[0] == client.w3.eth.block_number


def test_the_event_router_survives_a_full_store_and_resumes_by_itself(probe, tmp_path):
    client, contract = probe
    store = CheckpointStore(tmp_path / "events.sqlite")
    router = EventRouter(_stream(client, contract, store), poll_interval=0.02)
    seen: list[int] = []
    router.on("ValueSet", lambda e: seen.append(e.args["value"]))
    router.start()
    try:
        _fill(store)
        values = list(range(1, 31))
        for v in values:
            _set(client, contract, v)
        deadline = time.time() + 20
        while not any(isinstance(e, CheckpointStoreError) for e in router.errors) and time.time() < deadline:
            time.sleep(0.05)
        assert any(isinstance(e, CheckpointStoreError) for e in router.errors), "the store never filled up"
        assert router._thread is not None and router._thread.is_alive(), "a failed ack ended the event loop"

        _free(store)
        deadline = time.time() + 20
        while set(seen) != set(values) and time.time() < deadline:
            time.sleep(0.05)
        assert set(seen) == set(values), f"missing after the disk was freed: {sorted(set(values) - set(seen))}"
        head = client.w3.eth.block_number
        while (store.checkpoint(router.stream.consumer) or (0,))[0] < head and time.time() < deadline:
            time.sleep(0.05)
        assert store.checkpoint(router.stream.consumer)[0] == head, "the checkpoint caught up with the chain"
        assert router._thread.is_alive() and threading.active_count() > 1
    finally:
        router.stop()
