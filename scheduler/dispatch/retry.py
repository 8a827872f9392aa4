"""Exponential backoff for transient tool failures, as plain data the dispatcher reads.

Why deterministic (no jitter by default): benchmark runs must be reproducible; jitter can be enabled for
production, where many schedulers retrying in lockstep would hammer a recovering agent.

Why the cap is applied after the jitter: `max_delay_s` is a promise about the longest single wait (the
dispatcher's per-call time budget and the RETRY events' `delay_s` rely on it). Capping only the
deterministic part let jitter push a wait up to `(1 + jitter) * max_delay_s`. The price: once the backoff has
reached the cap, the jitter is clipped away and every retry waits exactly `max_delay_s`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """How a call that failed transiently is retried; `Dispatcher` owns the loop, this only answers how long.

    Attributes:
        max_attempts: attempts in total, the first one included (1 = never retry).
        base_delay_s: wait after the first failed attempt, before jitter.
        factor: growth of the wait per further failed attempt; >= 1, so waits never shrink.
        max_delay_s: upper bound of every single wait, jitter included.
        jitter: up to this fraction of the backoff is added at random (0 = deterministic).
    """

    max_attempts: int = 4
    base_delay_s: float = 0.05
    factor: float = 2.0
    max_delay_s: float = 2.0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        finite = all(math.isfinite(x) for x in (self.base_delay_s, self.factor, self.max_delay_s))
        if not finite or self.base_delay_s < 0 or self.factor < 1 or self.max_delay_s < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("invalid backoff parameters")

    def backoff(self, attempt: int) -> float:
        """The deterministic wait after failed attempt `attempt` (1-based): `base * factor^(attempt-1)`, capped.

        Non-decreasing in `attempt` (factor >= 1 and `min` with a constant keep the order). A growth past the
        float range saturates at the cap instead of raising OverflowError, so no attempt number can crash the
        retry loop.
        """
        if attempt < 1:
            raise ValueError(f"attempt numbers start at 1, got {attempt}")
        if self.base_delay_s == 0:
            return 0.0
        try:
            raw = self.base_delay_s * self.factor ** (attempt - 1)
        except OverflowError:
            return self.max_delay_s
        return min(self.max_delay_s, raw)

    def delay(self, attempt: int, uniform: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failed attempt `attempt`: the backoff plus jitter, capped at `max_delay_s`.

        `uniform` draws the jitter fraction from [0, 1]; tests pass their own to reach the extremes.
        """
        base = self.backoff(attempt)
        if not self.jitter:
            return base
        return min(self.max_delay_s, base * (1 + self.jitter * uniform()))
