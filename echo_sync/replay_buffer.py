"""Bounded, version-aware replay buffer between the inference swarm and the trainer (async push-pull mode).

Why the checks live here: this is the single gate every rollout passes. A group is *rejected* on arrival if
its version was never published, was revoked, or its weights hash differs from the published one; it is *stale* at
consumption time if `current_version - version > S`, and is then dropped or its task requeued for
regeneration. Thread-safe because the aiohttp server thread pushes while the training thread pulls.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Callable, Literal

from echo_sync.rollout import RolloutGroup


@dataclass
class BufferStats:
    accepted: int = 0
    rejected_unknown_version: int = 0
    rejected_revoked: int = 0
    dropped_revoked: int = 0
    rejected_bad_hash: int = 0
    rejected_malformed: int = 0
    dropped_stale: int = 0
    requeued_stale: int = 0
    evicted_full: int = 0
    consumed: int = 0
    staleness_hist: Counter = field(default_factory=Counter)  # staleness -> groups consumed
    depth_samples: list[int] = field(default_factory=list)  # depth seen at each take()

    def to_json(self) -> dict:
        return {
            "accepted": self.accepted,
            "rejected_unknown_version": self.rejected_unknown_version,
            "rejected_revoked": self.rejected_revoked,
            "dropped_revoked": self.dropped_revoked,
            "rejected_bad_hash": self.rejected_bad_hash,
            "rejected_malformed": self.rejected_malformed,
            "dropped_stale": self.dropped_stale,
            "requeued_stale": self.requeued_stale,
            "evicted_full": self.evicted_full,
            "consumed": self.consumed,
            "staleness_hist": {str(k): v for k, v in sorted(self.staleness_hist.items())},
            "mean_depth": (sum(self.depth_samples) / len(self.depth_samples)) if self.depth_samples else 0.0,
        }


class ReplayBuffer:
    def __init__(
        self,
        capacity: int,
        max_staleness: int,
        published: Callable[[int], str | None],
        stale_policy: Literal["drop", "requeue"] = "requeue",
        requeue: Callable[[int], None] | None = None,
        is_revoked: Callable[[int], bool] | None = None,
    ):
        """`published(version)` returns the sha256 hex of a published version or None; `requeue(task_index)`
        hands a stale task back to the task stream; `is_revoked(version)` says a version was revoked (its groups
        are refused on arrival and dropped, their tasks requeued, if already buffered)."""
        if capacity < 1 or max_staleness < 0:
            raise ValueError("capacity must be >= 1 and max_staleness >= 0")
        if stale_policy == "requeue" and requeue is None:
            raise ValueError("stale_policy='requeue' needs a requeue callback")
        self.capacity, self.max_staleness, self.stale_policy = capacity, max_staleness, stale_policy
        self._published, self._requeue, self._is_revoked = published, requeue, is_revoked
        self._items: deque[RolloutGroup] = deque()
        self._cond = threading.Condition()
        self.stats = BufferStats()

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    def put(self, group: RolloutGroup) -> str:
        """Admit one group; returns "accepted" or the rejection reason."""
        expected = self._published(group.policy_version)
        revoked = self._is_revoked is not None and self._is_revoked(group.policy_version)
        with self._cond:
            if revoked:
                self.stats.rejected_revoked += 1
                return "revoked"
            if expected is None:
                self.stats.rejected_unknown_version += 1
                return "unknown_version"
            if expected.lower().removeprefix("0x") != group.weights_sha256:
                self.stats.rejected_bad_hash += 1
                return "bad_hash"
            if not group.samples:
                self.stats.rejected_malformed += 1
                return "malformed"
            if len(self._items) >= self.capacity:
                old = self._items.popleft()
                self.stats.evicted_full += 1
                if self._requeue is not None:
                    self._requeue(old.task_index)
            self._items.append(group)
            self.stats.accepted += 1
            self._cond.notify_all()
            return "accepted"

    def take(self, n: int, current_version: int, timeout: float | None = None) -> list[RolloutGroup]:
        """Block until `n` fresh groups (staleness <= S) are available, oldest first; [] on timeout.

        Waiting for whole batches (rather than returning short ones) keeps the per-step batch size, and so
        the optimisation, identical across modes.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self.stats.depth_samples.append(len(self._items))
            while True:
                self._evict_stale(current_version)
                if len(self._items) >= n:
                    batch = [self._items.popleft() for _ in range(n)]
                    for g in batch:
                        self.stats.staleness_hist[current_version - g.policy_version] += 1
                    self.stats.consumed += n
                    return batch
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return []
                self._cond.wait(timeout=0.5 if remaining is None else min(0.5, remaining))

    def _evict_stale(self, current_version: int) -> None:
        keep: deque[RolloutGroup] = deque()
        for g in self._items:
            if self._is_revoked is not None and self._is_revoked(g.policy_version):
                self.stats.dropped_revoked += 1
                if self._requeue is not None:
                    self._requeue(g.task_index)
            elif current_version - g.policy_version <= self.max_staleness:
                keep.append(g)
            elif self.stale_policy == "requeue":
                self.stats.requeued_stale += 1
                assert self._requeue is not None
                self._requeue(g.task_index)
            else:
                self.stats.dropped_stale += 1
        self._items = keep
