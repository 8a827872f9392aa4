"""Fan one durable event stream out to many waiters inside a process.

Why: a requester runs K chains of thought at once and each waits for events about its own beacon; an agent
worker reacts to several event kinds. Opening one stream per waiter would multiply eth_getLogs traffic, so a
single background thread polls, acks, and hands every event to the handlers and waiters that match it.

Why the loop survives every error of the stream, acks included: a failed ack (the checkpoint file's disk is full)
must not end the thread — the process would live on deaf to the chain. The event stays unacked, the next poll
delivers it again (handlers see events at least once, and are idempotent), and the loop backs off and logs one
line per distinct cause until the store accepts writes again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from chain.events import ChainEvent, EventStream

log = logging.getLogger(__name__)

Predicate = Callable[[ChainEvent], bool]
Handler = Callable[[ChainEvent], None]


@dataclass
class _Waiter:
    predicate: Predicate
    event: threading.Event = field(default_factory=threading.Event)
    result: ChainEvent | None = None


class EventRouter:
    """Background poller: `on(name, handler)` for reactions, `wait_for(predicate)` to block on one event."""

    def __init__(self, stream: EventStream, *, poll_interval: float = 0.1, history: int = 4096) -> None:
        self.stream = stream
        self.poll_interval = poll_interval
        self._handlers: dict[str, list[Handler]] = {}
        self._waiters: list[_Waiter] = []
        self._recent: list[ChainEvent] = []  # so a waiter registered just after its event still sees it
        self._history = history
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: deque[BaseException] = deque(maxlen=100)  # the most recent, for tests and diagnostics
        self._logged: dict[str, float] = {}  # message -> when it was last logged

    def on(self, name: str, handler: Handler) -> None:
        self._handlers.setdefault(name, []).append(handler)

    def start(self) -> "EventRouter":
        self._thread = threading.Thread(target=self._loop, name="event-router", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def wait_for(self, predicate: Predicate, timeout: float, *, include_recent: bool = True) -> ChainEvent | None:
        """The first event satisfying `predicate` (a recent one, or the next to arrive); None on timeout."""
        waiter = _Waiter(predicate)
        with self._lock:
            if include_recent:
                for event in self._recent:
                    if predicate(event):
                        return event
            self._waiters.append(waiter)
        try:
            waiter.event.wait(timeout)
        finally:
            with self._lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        return waiter.result

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                events = self.stream.poll()
                for event in events:
                    self._dispatch(event)
                    self.stream.ack(event)
            except Exception as exc:  # node restarting, transient HTTP error, checkpoint store full: keep going
                self._note(exc)
                self._stop.wait(0.5)
                continue
            if not events:
                self._stop.wait(self.poll_interval)

    def _note(self, exc: Exception) -> None:
        """Remember the error; log it once a minute per distinct message (an outage must not flood the log)."""
        self.errors.append(exc)
        message = f"{type(exc).__name__}: {exc}"
        now = time.monotonic()
        if now - self._logged.get(message, -1e9) >= 60:
            if len(self._logged) > 100:  # causes whose text varies (block numbers...) must not grow this for ever
                self._logged.clear()
            self._logged[message] = now
            log.warning("event stream %s: %s (retrying)", self.stream.consumer, message)

    def _dispatch(self, event: ChainEvent) -> None:
        for handler in self._handlers.get(event.name, []):
            try:
                handler(event)
            except Exception as exc:
                self.errors.append(exc)
        with self._lock:
            self._recent.append(event)
            del self._recent[: -self._history]
            for waiter in list(self._waiters):
                if waiter.predicate(event):
                    waiter.result = event
                    waiter.event.set()
                    self._waiters.remove(waiter)
