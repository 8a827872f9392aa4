"""Server-side fault and latency injection for tool agents.

Why on the server: the point is to exercise the whole path a real flaky agent takes — an MCP error result
travelling over HTTP, parsed by the client, classified, retried — not a shortcut inside the dispatcher.
Faults are drawn from a seeded RNG per (tool, arguments, attempt number): the same logical call meets the
same faults whatever the call order, so a parallel and a sequential run of a task face identical faults
(`reset()` between them). `fail_first` makes the first N calls of each tool fail (tests: "fails, then
succeeds on retry").
Latency emulates the network round trip to a remote agent; benchmarks name it in their output.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections import Counter
from dataclasses import dataclass, field

from pydantic import BaseModel

from tools.errors import TransientToolError


@dataclass
class FaultPlan:
    transient_rate: float = 0.0  # probability that a call fails with a transient error
    fail_first: int = 0  # the first N calls of every tool fail transiently
    latency_s: float = 0.0  # added to every call before it runs
    seed: int = 0
    calls: Counter = field(default_factory=Counter)
    attempts: Counter = field(default_factory=Counter)
    injected: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.transient_rate < 1.0:
            raise ValueError(f"transient_rate must be in [0, 1), got {self.transient_rate}")
        if self.fail_first < 0 or self.latency_s < 0:
            raise ValueError("fail_first and latency_s must be >= 0")

    @property
    def active(self) -> bool:
        return self.transient_rate > 0 or self.fail_first > 0 or self.latency_s > 0

    def reset(self) -> None:
        """Forget call counts (the next run meets the same fault sequence again)."""
        self.calls.clear()
        self.attempts.clear()

    async def before_call(self, tool_name: str, data: BaseModel) -> None:
        self.calls[tool_name] += 1
        n = self.calls[tool_name]
        key = f"{tool_name}:{hashlib.sha256(data.model_dump_json().encode()).hexdigest()[:16]}"
        self.attempts[key] += 1
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if n <= self.fail_first:
            self.injected += 1
            raise TransientToolError(f"injected fault: call {n} of {tool_name} fails (fail_first={self.fail_first})")
        attempt = self.attempts[key]
        if self.transient_rate and random.Random(f"{self.seed}:{key}:{attempt}").random() < self.transient_rate:
            self.injected += 1
            raise TransientToolError(f"injected transient fault on attempt {attempt} of this {tool_name} call (rate={self.transient_rate})")
