"""The dispatcher: one-to-many parallel tool calls over MCP with per-agent capacity and fault handling.

Why this shape:
- Per-agent `asyncio.Semaphore(capacity)`: agents declare on chain how many calls they accept at once; we
  never send more, and a slot is released during backoff so a retrying call does not block its siblings.
- Replicas: when several agents serve the same tool (same input schema), each attempt goes to the replica
  with the most free capacity, so fan-out spreads over them (a retry may land on another replica).
- `max_parallel=1` turns the same dispatcher into the sequential (MinionS-style) baseline, so benchmark
  comparisons differ in one knob only.
- Hybrid calls: `call()` awaits (sync), `submit()` fires and returns a handle collected later (async).
- Transient failures are retried with exponential backoff; permanent ones return immediately so the
  planner can replan. Every attempt, retry and result is an event; nothing is swallowed.
- Cancelling a call (or the run) cancels the in-flight MCP request, which stops the server-side handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from scheduler.client.connection import AgentConnection
from scheduler.client.outcome import CallOutcome
from scheduler.client.tool_spec import ToolSpec
from scheduler.dispatch.retry import RetryPolicy
from scheduler.errors import SchedulerError
from scheduler.observe.bus import EventBus
from scheduler.observe.events import EventType


@dataclass
class ToolCall:
    id: str
    tool: str
    args: dict[str, Any] = field(default_factory=dict)
    mode: str = "sync"  # "sync": the step waits for it; "async": collected at a later step


class Dispatcher:
    def __init__(self, connections: list[AgentConnection], bus: EventBus | None = None, retry: RetryPolicy | None = None,
                 timeout_s: float = 30.0, max_parallel: int | None = None) -> None:
        self.connections = {c.name: c for c in connections}
        self.bus = bus or EventBus()
        self.retry = retry or RetryPolicy()
        self.timeout_s = timeout_s
        self._slots = {c.name: asyncio.Semaphore(c.capacity) for c in connections}
        self._global = asyncio.Semaphore(max_parallel) if max_parallel else None
        self.in_flight: dict[str, int] = {c.name: 0 for c in connections}
        self.waiting: dict[str, int] = {c.name: 0 for c in connections}
        self.max_in_flight: dict[str, int] = {c.name: 0 for c in connections}
        self.pending: dict[str, asyncio.Task[CallOutcome]] = {}
        self.calls_made = 0
        self.tools: dict[str, ToolSpec] = {}
        self.routes: dict[str, list[ToolSpec]] = {}
        for conn in connections:
            for spec in conn.tools.values():
                self.tools[f"{conn.name}.{spec.name}"] = spec
                self.routes[f"{conn.name}.{spec.name}"] = [spec]
                replicas = self.routes.setdefault(spec.name, [])
                # replicas of a tool must agree on its input schema; a different tool of the same name stays
                # reachable only by its qualified name "agent.tool"
                if not replicas or replicas[0].input_schema == spec.input_schema:
                    replicas.append(spec)
                    self.tools.setdefault(spec.name, spec)

    def resolve(self, tool: str) -> ToolSpec:
        """The replica of `tool` with the most free capacity right now (ties: declaration order)."""
        if tool not in self.routes:
            raise SchedulerError(f"no agent offers tool {tool!r}; known tools: {', '.join(sorted(self.tools))}")
        replicas = self.routes[tool]
        if len(replicas) == 1:
            return replicas[0]
        return min(replicas, key=lambda spec: (self.in_flight[spec.agent] + self.waiting[spec.agent]) / self.connections[spec.agent].capacity)

    async def call(self, call: ToolCall, run_id: str = "adhoc") -> CallOutcome:
        """Run one call to completion (with retries); returns its outcome, failures included."""
        spec = self.resolve(call.tool)
        conn = self.connections[spec.agent]
        emit = self.bus.emit
        emit(run_id, EventType.TOOL_CALL_START, call_id=call.id, tool=spec.name, agent=spec.agent, mode=call.mode)
        emit(run_id, EventType.TOOL_CALL_ARGS, call_id=call.id, args=call.args)
        started = time.time()
        attempt = 0
        outcome: CallOutcome | None = None

        async def progress(value: float, total: float | None, message: str | None) -> None:
            emit(run_id, EventType.TOOL_CALL_PROGRESS, call_id=call.id, progress=value, total=total, message=message)

        try:
            while True:
                attempt += 1
                if attempt > 1:
                    spec = self.resolve(call.tool)
                    conn = self.connections[spec.agent]
                async with self._slot(spec.agent):
                    self.calls_made += 1
                    outcome = await conn.call(call.id, spec.name, call.args, self.timeout_s, progress)
                outcome.attempts = attempt
                if outcome.ok or outcome.error_kind != "transient" or attempt >= self.retry.max_attempts:
                    break
                delay = self.retry.delay(attempt)
                emit(run_id, EventType.RETRY, call_id=call.id, tool=spec.name, agent=spec.agent, attempt=attempt, delay_s=delay,
                     error=f"{outcome.error_type}: {outcome.error}")
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            outcome = CallOutcome(call.id, spec.name, spec.agent, ok=False, error_kind="cancelled", error_type="Cancelled",
                                  error="call cancelled by the scheduler", attempts=attempt, started=started, finished=time.time())
            emit(run_id, EventType.TOOL_CALL_END, call_id=call.id, ok=False, cancelled=True)
            emit(run_id, EventType.TOOL_CALL_RESULT, call_id=call.id, **outcome.observation())
            raise
        outcome.started = started
        emit(run_id, EventType.TOOL_CALL_END, call_id=call.id, ok=outcome.ok, attempts=attempt, seconds=round(outcome.seconds, 4))
        emit(run_id, EventType.TOOL_CALL_RESULT, call_id=call.id, **outcome.observation())
        return outcome

    @contextlib.asynccontextmanager
    async def _slot(self, agent: str):
        async with contextlib.AsyncExitStack() as stack:
            self.waiting[agent] += 1
            try:
                if self._global is not None:
                    await stack.enter_async_context(self._global)
                await stack.enter_async_context(self._slots[agent])
            finally:
                self.waiting[agent] -= 1
            self.in_flight[agent] += 1
            self.max_in_flight[agent] = max(self.max_in_flight[agent], self.in_flight[agent])
            try:
                yield
            finally:
                self.in_flight[agent] -= 1

    async def call_many(self, calls: list[ToolCall], run_id: str = "adhoc") -> list[CallOutcome]:
        """One-to-many: all calls at once (capacity permitting); every outcome is kept, in input order."""
        return list(await asyncio.gather(*(self.call(c, run_id) for c in calls)))

    def submit(self, call: ToolCall, run_id: str = "adhoc") -> asyncio.Task[CallOutcome]:
        """Fire an async call; collect it later with `collect()` (or cancel it with `cancel()`)."""
        if call.id in self.pending:
            raise SchedulerError(f"call id {call.id!r} is already in flight")
        task = asyncio.create_task(self.call(call, run_id), name=f"call:{call.id}")
        self.pending[call.id] = task
        return task

    async def collect(self, call_ids: list[str] | None = None) -> list[CallOutcome]:
        ids = list(self.pending) if call_ids is None else call_ids
        tasks = [self.pending.pop(i) for i in ids if i in self.pending]
        return list(await asyncio.gather(*tasks))

    async def cancel(self, call_ids: list[str] | None = None) -> None:
        ids = list(self.pending) if call_ids is None else call_ids
        tasks = [self.pending.pop(i) for i in ids if i in self.pending]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
