"""Exponential backoff for transient tool failures.

Why deterministic (no jitter by default): benchmark runs must be reproducible; jitter can be enabled for
production, where many schedulers retrying in lockstep would hammer a recovering agent.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay_s: float = 0.05
    factor: float = 2.0
    max_delay_s: float = 2.0
    jitter: float = 0.0  # fraction of the delay added at random, 0 = none

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.base_delay_s < 0 or self.factor < 1 or self.max_delay_s < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("invalid backoff parameters")

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        base = min(self.max_delay_s, self.base_delay_s * self.factor ** (attempt - 1))
        return base * (1 + self.jitter * random.random()) if self.jitter else base
