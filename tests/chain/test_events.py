"""EventStream: checkpoint/resume across restarts, duplicate suppression, removed logs after a reorg."""

from __future__ import annotations

import asyncio

from chain.checkpoints import CheckpointStore
from chain.events import EventSource, EventStream


def _stream(client, contract, store, consumer="c", **kw) -> EventStream:
    return EventStream(client.w3, consumer, [EventSource(contract.address, contract.abi)], store, **kw)


def _set(client, contract, value):
    return client.transact(contract.functions.set(value, bytes([value % 256])))


def test_events_are_decoded(probe):
    client, contract = probe
    stream = _stream(client, contract, CheckpointStore())
    _set(client, contract, 3)
    (event,) = stream.poll()
    assert event.name == "ValueSet"
    assert event.args["value"] == 3 and event.args["setter"] == client.address
    assert event.bytes_arg("note") == b"\x03"
    assert stream.ack(event) is True


def test_resume_from_checkpoint_after_restart(probe, tmp_path):
    client, contract = probe
    db = tmp_path / "cp.sqlite"
    stream = _stream(client, contract, CheckpointStore(db))
    for v in (1, 2, 3):
        _set(client, contract, v)
    events = stream.poll()
    assert [e.args["value"] for e in events] == [1, 2, 3]
    for e in events[:2]:
        stream.ack(e)  # "crash" before handling the third
    restarted = _stream(client, contract, CheckpointStore(db))
    assert [e.args["value"] for e in restarted.poll()] == [3]  # only the unhandled one comes back


def test_duplicates_are_recognised(probe):
    client, contract = probe
    store = CheckpointStore()
    stream = _stream(client, contract, store)
    _set(client, contract, 5)
    (event,) = stream.poll()
    assert stream.ack(event) is True
    assert stream.ack(event) is False
    assert stream.poll() == []


def test_consumers_are_independent(probe):
    client, contract = probe
    store = CheckpointStore()
    a, b = _stream(client, contract, store, "a"), _stream(client, contract, store, "b")
    _set(client, contract, 9)
    for e in a.poll():
        a.ack(e)
    assert [e.args["value"] for e in b.poll()] == [9]


def test_reorg_delivers_removed_then_canonical(probe, anvil):
    client, contract = probe
    stream = _stream(client, contract, CheckpointStore())
    _set(client, contract, 1)
    for e in stream.poll():
        stream.ack(e)
    fork_point = anvil.snapshot()
    _set(client, contract, 2)
    (orphan,) = stream.poll()
    stream.ack(orphan)
    anvil.revert(fork_point)  # the block holding "2" is abandoned
    _set(client, contract, 7)
    _set(client, contract, 8)
    events = stream.poll()
    assert [(e.args["value"], e.removed) for e in events] == [(2, True), (7, False), (8, False)]
    assert events[0].tx_hash == orphan.tx_hash


def test_confirmations_hold_back_recent_blocks(probe, anvil):
    client, contract = probe
    stream = _stream(client, contract, CheckpointStore(), confirmations=2)
    _set(client, contract, 4)
    assert stream.poll() == []
    anvil.mine(2)
    assert [e.args["value"] for e in stream.poll()] == [4]


def test_follow_wakes_up_on_new_blocks_over_websocket(probe, anvil):
    client, contract = probe
    stream = _stream(client, contract, CheckpointStore())

    async def scenario():
        stop = asyncio.Event()
        got = []

        async def consume():
            async for event in stream.follow(poll_interval=5.0, ws_url=anvil.ws_url, stop=stop):
                got.append(event)
                stream.ack(event)
                stop.set()

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.3)  # let the subscription start
        await asyncio.to_thread(_set, client, contract, 11)
        await asyncio.wait_for(task, timeout=3.0)  # far below the 5 s poll interval: the websocket woke it
        return got

    assert [e.args["value"] for e in asyncio.run(scenario())] == [11]
