"""Follow a deployment through the project's one durable event stream and feed the explorer's state.

Why a loop of its own around `EventStream.poll` rather than `EventStream.follow`: the explorer must outlive its RPC
endpoint. `follow` ends with the first failed poll; here a failed poll marks the explorer disconnected (the page
says so), waits `retry_s` and polls again from the same checkpoint, so nothing is lost or applied twice when the
node comes back. A node that comes back with another history (restarted, reorged) is handled by the stream
itself: it re-checks the stored block hashes and replays the dropped events with `removed=True`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from web3 import Web3

from chain.checkpoints import CheckpointStore
from chain.events import ChainEvent, EventStream
from explorer.sources import FollowedContract
from explorer.state import ExplorerState

CONSUMER = "explorer"


@dataclass
class FollowStatus:
    """What the page's header shows: connected or not, the last error, the stream's progress."""

    connected: bool = False
    error: str | None = None
    checkpoint_block: int | None = None
    events: int = 0
    polls: int = 0
    ingested: int = 0
    last_poll_at: float | None = None
    since: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {"connected": self.connected, "error": self.error, "checkpoint_block": self.checkpoint_block,
                "events": self.events, "ingested": self.ingested, "polls": self.polls, "last_poll_at": self.last_poll_at}


class Hub:
    """Fan-out of change notices to every open SSE connection (each gets its own bounded queue)."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[dict[str, Any]]] = set()

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=256)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._queues.discard(queue)

    def close(self) -> None:
        """Tell every open stream to end (the server is shutting down; otherwise each would wait for its keepalive)."""
        self.publish({"type": "close"})

    def publish(self, message: dict[str, Any]) -> None:
        for queue in list(self._queues):
            if queue.full():  # a slow page only needs the latest notice: it re-reads the state anyway
                try:
                    queue.get_nowait()
                except asyncio.QueueEmpty:
                    pass
            queue.put_nowait(message)


class Follower:
    """Polls the stream, applies events to `state`, acks them, and tells the hub what changed."""

    def __init__(self, w3: Web3, contracts: list[FollowedContract], state: ExplorerState, hub: Hub, *,
                 start_block: int, store: CheckpointStore | None = None, poll_interval_s: float = 0.25,
                 retry_s: float = 1.0) -> None:
        self.store = store or CheckpointStore()
        self.stream = EventStream(w3, CONSUMER, [c.source() for c in contracts], self.store, start_block=start_block)
        self.state, self.hub = state, hub
        self.poll_interval_s, self.retry_s = poll_interval_s, retry_s
        self.status = FollowStatus()
        self.restore()

    def restore(self) -> None:
        """Events a persistent store already holds (a restarted explorer): applied before the stream resumes."""
        self.state.apply(ChainEvent(**d) for d in self.store.processed_events(CONSUMER))

    def poll_once(self) -> list[ChainEvent]:
        """One poll: apply and ack what came (blocking; run it off the event loop)."""
        events = self.stream.poll()
        self.state.apply(events)
        for event in events:
            self.stream.ack(event)
        checkpoint = self.store.checkpoint(CONSUMER)
        self.status.checkpoint_block = checkpoint[0] if checkpoint else None
        self.status.ingested += sum(not e.removed for e in events)
        self.status.events = len(self.state)
        self.status.polls += 1
        self.status.last_poll_at = time.time()
        return events

    def catch_up(self) -> int:
        """Poll until the stream has nothing more (tests, benchmarks); returns the events applied."""
        total = 0
        while True:
            events = self.poll_once()
            total += len(events)
            checkpoint = self.store.checkpoint(CONSUMER)
            if not events and checkpoint is not None and checkpoint[0] >= self.stream.w3.eth.block_number:
                return total

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Follow until `stop` is set (or cancelled), surviving an RPC endpoint that goes away."""
        while stop is None or not stop.is_set():
            try:
                events = await asyncio.to_thread(self.poll_once)
            except Exception as exc:  # the node went away or answered nonsense: say so, keep trying
                if self.status.connected or self.status.error is None:
                    self.status.connected = False
                    self.status.error = f"{type(exc).__name__}: {str(exc)[:200]}"
                    self.hub.publish({"type": "status", **self.status.to_dict()})
                await asyncio.sleep(self.retry_s)
                continue
            if not self.status.connected:
                self.status.connected, self.status.error = True, None
                self.hub.publish({"type": "status", **self.status.to_dict()})
            if events:
                self.hub.publish({"type": "change", "version": self.state.version, "added": sum(not e.removed for e in events),
                                  "removed": sum(e.removed for e in events), **self.status.to_dict()})
            else:
                await asyncio.sleep(self.poll_interval_s)
