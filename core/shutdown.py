"""Waiting in a long-running command until Ctrl-C or SIGTERM, without the two classic deadlocks.

Why not `threading.Event` + a handler calling `event.set()`: a signal handler runs in the main thread between
two bytecodes, possibly while that thread is inside `Event.wait` holding the event's (non-reentrant) lock, and
`set()` then waits forever on that lock. And why not let Ctrl-C raise KeyboardInterrupt: it can land inside
library code (e.g. `subprocess.Popen.poll`) and leave an internal lock held, so stopping a child process hangs.
Here the handlers only flip a flag, and the main thread sleeps in short steps, checking it.
"""

from __future__ import annotations

import signal
import time
from typing import Callable


class StopSignal:
    """Install with `with StopSignal() as stop:`; `stop.wait(...)` returns once a stop was requested."""

    def __init__(self, signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> None:
        self.signals = signals
        self.requested = False
        self._previous: dict[int, object] = {}

    def _request(self, signum: int, frame: object) -> None:  # only a flag: no locks, no exceptions
        self.requested = True

    def __enter__(self) -> "StopSignal":
        for s in self.signals:
            self._previous[s] = signal.signal(s, self._request)
        return self

    def __exit__(self, *exc: object) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)  # type: ignore[arg-type]

    def wait(self, timeout: float | None = None, *, every: float = 0.5, check: Callable[[], None] | None = None) -> bool:
        """Sleep until a stop is requested (True) or `timeout` seconds pass (False); `check()` runs every
        `every` seconds and may raise to end the wait (e.g. a child process that died)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.requested:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(every if deadline is None else max(0.0, min(every, deadline - time.monotonic())))
            if check is not None and not self.requested:
                check()
        return True

    async def wait_async(self, *, every: float = 0.2) -> None:
        """The same wait inside an event loop (servers): returns once a stop was requested."""
        import asyncio

        while not self.requested:
            await asyncio.sleep(every)
