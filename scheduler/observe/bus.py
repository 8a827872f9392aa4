"""In-process fan-out of run events to SSE subscribers and to a JSONL trace file per run.

Why keep every run's history in memory: a browser that opens the page mid-run (or reconnects) first replays
what it missed, then follows live events; without replay the first events of a fast run are lost.
Subscriber queues are bounded: a stalled browser loses its subscription instead of growing memory forever.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from pathlib import Path
from typing import Any, AsyncIterator

from scheduler.observe.events import EventType, RunEvent

ALL = "*"


class EventBus:
    def __init__(self, trace_dir: Path | None = None, queue_size: int = 10_000, history_runs: int = 200) -> None:
        self.trace_dir = Path(trace_dir) if trace_dir else None
        self.queue_size = queue_size
        self.history_runs = history_runs
        self.history: dict[str, list[RunEvent]] = {}
        self._subscribers: dict[str, set[asyncio.Queue[RunEvent | None]]] = defaultdict(set)

    def emit(self, run_id: str, type: EventType, **data: Any) -> RunEvent:
        events = self.history.setdefault(run_id, [])
        if len(self.history) > self.history_runs:
            oldest = next(iter(self.history))
            if oldest != run_id:
                del self.history[oldest]
        event = RunEvent(run_id=run_id, seq=len(events), type=type, data=_jsonable(data))
        events.append(event)
        if self.trace_dir is not None:
            self.trace_dir.mkdir(parents=True, exist_ok=True)
            with (self.trace_dir / f"{run_id}.jsonl").open("a", encoding="utf-8") as handle:
                handle.write(event.model_dump_json() + "\n")
        for key in (run_id, ALL):
            for queue in list(self._subscribers.get(key, ())):
                if queue.qsize() >= self.queue_size:  # stalled reader: drop it, tell it so
                    self._subscribers[key].discard(queue)
                    while not queue.empty():
                        queue.get_nowait()
                    queue.put_nowait(None)
                else:
                    queue.put_nowait(event)
        return event

    def finished(self, run_id: str) -> bool:
        return any(e.type in (EventType.RUN_FINISHED, EventType.RUN_ERROR) for e in self.history.get(run_id, ()))

    async def subscribe(self, run_id: str = ALL, replay: bool = True, until_finished: bool = True) -> AsyncIterator[RunEvent]:
        """Past events of the run (or of all runs), then live ones; a single run's stream ends with its run."""
        queue: asyncio.Queue[RunEvent | None] = asyncio.Queue()
        self._subscribers[run_id].add(queue)
        try:
            if replay:
                past = [e for events in self.history.values() for e in events] if run_id == ALL else list(self.history.get(run_id, ()))
                seen = {(e.run_id, e.seq) for e in past}
                for event in past:
                    yield event
                if run_id != ALL and until_finished and self.finished(run_id):
                    return
            else:
                seen = set()
            while True:
                event = await queue.get()
                if event is None:
                    return
                if (event.run_id, event.seq) in seen:
                    continue
                yield event
                if run_id != ALL and until_finished and event.type in (EventType.RUN_FINISHED, EventType.RUN_ERROR):
                    return
        finally:
            self._subscribers[run_id].discard(queue)


def _jsonable(data: Any) -> Any:
    """Event payloads must serialise; anything exotic becomes its string form rather than breaking the stream."""
    return json.loads(json.dumps(data, default=str))


def read_trace(path: Path) -> list[RunEvent]:
    return [RunEvent.model_validate_json(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
