"""The one durable event stream every consumer (agents, detectors, schedulers, benchmarks) reads contracts through.

Design:
- `eth_getLogs` over the block ranges the stream tracks is the source of truth; a websocket `newHeads`
  subscription (where the node offers one) is only a wake-up signal, so a dropped socket loses nothing.
- Each consumer has a checkpoint (last block fully handled, with its hash) and a processed set keyed by
  (tx hash, log index) in a `CheckpointStore`; a restarted consumer resumes from its checkpoint, and a log
  delivered twice is recognised and skipped (`ack` returns False).
- Delivery is at-least-once: the checkpoint only advances past a range once every event from it was acked.
- Reorgs: the stream re-checks the stored block hashes at each poll; if the chain abandoned them, the events
  from the dropped blocks are delivered again with `removed=True` (undo them), then the new canonical logs follow.
  `confirmations=N` additionally holds back the newest N blocks.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, AsyncIterator, Callable, Sequence

from eth_utils import event_abi_to_log_topic
from hexbytes import HexBytes
from web3 import Web3
from web3._utils.events import get_event_data
from web3.exceptions import BlockNotFound

from chain.checkpoints import CheckpointStore


def _jsonable(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, HexBytes)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class ChainEvent:
    """A decoded contract event. `args` holds JSON-friendly values (bytes as 0x-hex strings)."""

    name: str
    args: dict[str, Any]
    address: str
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    removed: bool = False
    received_at: float = field(default=0.0, compare=False)

    @property
    def key(self) -> tuple[str, int]:
        return (self.tx_hash, self.log_index)

    def bytes_arg(self, name: str) -> bytes:
        return bytes.fromhex(str(self.args[name]).removeprefix("0x"))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("received_at")
        return data


@dataclass(frozen=True)
class EventSource:
    """A contract whose events the stream follows; `events` limits it to some event names (None: all)."""

    address: str
    abi: list[dict]
    events: tuple[str, ...] | None = None


class EventStream:
    """Durable, idempotent, reorg-aware stream of decoded events for one named consumer."""

    def __init__(
        self,
        w3: Web3,
        consumer: str,
        sources: Sequence[EventSource],
        store: CheckpointStore | None = None,
        *,
        start_block: int = 0,
        confirmations: int = 0,
        max_range: int = 2_000,
    ) -> None:
        self.w3 = w3
        self.consumer = consumer
        self.store = store or CheckpointStore()
        self.start_block = start_block
        self.confirmations = confirmations
        self.max_range = max_range
        self._addresses = sorted({Web3.to_checksum_address(s.address) for s in sources})
        self._decoders: dict[tuple[str, bytes], dict] = {}
        for source in sources:
            for item in source.abi:
                if item.get("type") == "event" and not item.get("anonymous") and (source.events is None or item["name"] in source.events):
                    self._decoders[(Web3.to_checksum_address(source.address), event_abi_to_log_topic(item))] = item
        self._pending: set[tuple[str, int]] = set()
        self._pending_range_end: tuple[int, str] | None = None
        self._lock = threading.Lock()

    # -- polling -----------------------------------------------------------------------------------------
    def poll(self) -> list[ChainEvent]:
        """New events since the checkpoint (plus `removed=True` replays after a reorg), oldest first.

        Every returned event must be `ack`ed once handled; unacked events are delivered again by the next poll.
        """
        with self._lock:
            removed = self._detect_reorg()
            checkpoint = self.store.checkpoint(self.consumer)
            first = checkpoint[0] + 1 if checkpoint else self.start_block
            head = self.w3.eth.block_number - self.confirmations
            if head < first:
                return removed
            last = min(head, first + self.max_range - 1)
            logs = self.w3.eth.get_logs({"fromBlock": first, "toBlock": last, "address": self._addresses})
            now = time.time()
            events = [e for e in (self._decode(log, now) for log in logs) if e is not None]
            fresh = [e for e in events if not self.store.is_processed(self.consumer, e.tx_hash, e.log_index)]
            self._pending = {e.key for e in fresh}
            self._pending_range_end = (last, self._block_hash(last))
            if not self._pending:
                self._advance()
            return removed + fresh

    def ack(self, event: ChainEvent) -> bool:
        """Mark an event handled. Returns False for a duplicate (already handled) or a `removed` replay."""
        if event.removed:
            return False
        first_time = self.store.mark_processed(
            self.consumer, event.tx_hash, event.log_index, event.block_number, event.block_hash, event.to_dict()
        )
        with self._lock:
            self._pending.discard(event.key)
            if not self._pending and self._pending_range_end is not None:
                self._advance()
        return first_time

    def is_processed(self, event: ChainEvent) -> bool:
        return self.store.is_processed(self.consumer, event.tx_hash, event.log_index)

    def _advance(self) -> None:
        if self._pending_range_end is not None:
            self.store.set_checkpoint(self.consumer, *self._pending_range_end)
            self._pending_range_end = None

    def _block_hash(self, number: int) -> str:
        return self.w3.eth.get_block(number)["hash"].to_0x_hex()

    def _detect_reorg(self) -> list[ChainEvent]:
        checkpoint = self.store.checkpoint(self.consumer)
        if checkpoint is None or self._canonical(*checkpoint):
            return []
        # Walk back over the blocks we saw until one is still canonical: that is the common ancestor.
        ancestor = self.start_block - 1
        for number, block_hash in self.store.known_block_hashes(self.consumer):
            if number < checkpoint[0] and self._canonical(number, block_hash):
                ancestor = number
                break
        if ancestor >= 0 and ancestor >= self.start_block:
            dropped = self.store.rewind(self.consumer, ancestor, self._block_hash(ancestor))
        else:
            dropped = self.store.rewind(self.consumer, self.start_block - 1, "0x")
        self._pending.clear()
        self._pending_range_end = None
        return [ChainEvent(**{**d, "removed": True}) for d in dropped]

    def _canonical(self, number: int, block_hash: str) -> bool:
        if number < 0 or block_hash == "0x":
            return True
        try:
            return self.w3.eth.get_block(number)["hash"].to_0x_hex() == block_hash
        except BlockNotFound:  # the chain is now shorter than the block we saw
            return False

    def _decode(self, log: Any, received_at: float) -> ChainEvent | None:
        if not log["topics"]:
            return None
        abi = self._decoders.get((Web3.to_checksum_address(log["address"]), bytes(log["topics"][0])))
        if abi is None:
            return None
        data = get_event_data(self.w3.codec, abi, log)
        return ChainEvent(
            name=data["event"],
            args=_jsonable(dict(data["args"])),
            address=Web3.to_checksum_address(log["address"]),
            block_number=int(log["blockNumber"]),
            block_hash=HexBytes(log["blockHash"]).to_0x_hex(),
            tx_hash=HexBytes(log["transactionHash"]).to_0x_hex(),
            log_index=int(log["logIndex"]),
            removed=bool(log.get("removed", False)),
            received_at=received_at,
        )

    # -- following -------------------------------------------------------------------------------------
    def run(self, handler: Callable[[ChainEvent], None], stop: threading.Event, *, poll_interval: float = 0.05) -> None:
        """Blocking loop: poll, hand each event to `handler`, ack it; until `stop` is set."""
        while not stop.is_set():
            for event in self.poll():
                handler(event)
                self.ack(event)
            stop.wait(poll_interval)

    async def follow(self, *, poll_interval: float = 0.25, ws_url: str | None = None, stop: asyncio.Event | None = None) -> AsyncIterator[ChainEvent]:
        """Async iterator over events (caller acks). With `ws_url`, new blocks wake it up at once."""
        wake = asyncio.Event()
        watcher = asyncio.create_task(_watch_new_heads(ws_url, wake)) if ws_url else None
        try:
            while stop is None or not stop.is_set():
                wake.clear()
                for event in await asyncio.to_thread(self.poll):
                    yield event
                    if stop is not None and stop.is_set():
                        return
                waiters = [asyncio.ensure_future(wake.wait())]
                if stop is not None:
                    waiters.append(asyncio.ensure_future(stop.wait()))
                _, pending = await asyncio.wait(waiters, timeout=poll_interval, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    waiter.cancel()
        finally:
            if watcher is not None:
                watcher.cancel()


async def _watch_new_heads(ws_url: str, wake: asyncio.Event) -> None:
    """Set `wake` on every new block from an `eth_subscribe('newHeads')` websocket; reconnects on failure."""
    from websockets.asyncio.client import connect

    while True:
        try:
            async with connect(ws_url, max_size=2**24) as socket:
                await socket.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}))
                async for _message in socket:
                    wake.set()
        except asyncio.CancelledError:
            raise
        except Exception:
            await asyncio.sleep(1.0)  # node gone or no websocket support: polling alone keeps the stream correct
