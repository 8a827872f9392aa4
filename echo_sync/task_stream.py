"""The trainer-side task stream samplers pull from in async mode (requeued tasks first).

Why the trainer owns it: a task whose rollouts went stale can be handed out again, and with several
samplers each task index is given to exactly one of them.
"""

from __future__ import annotations

import threading
from collections import deque


class TaskStream:
    def __init__(self, start: int = 0):
        self._next = start
        self._requeued: deque[int] = deque()
        self._lock = threading.Lock()
        self.issued = 0

    def take(self, n: int) -> list[int]:
        with self._lock:
            out = [self._requeued.popleft() for _ in range(min(n, len(self._requeued)))]
            while len(out) < n:
                out.append(self._next)
                self._next += 1
            self.issued += len(out)
            return out

    def requeue(self, task_index: int) -> None:
        with self._lock:
            self._requeued.append(task_index)
