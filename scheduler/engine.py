"""The run engine: ReAct loop of plan -> validate -> dispatch (parallel) -> observe -> replan.

Why the engine owns validation and templating rather than the planner: both planners (scripted, LLM) get
identical treatment — an invalid action never reaches an agent, its error comes back as an observation; a
permanent failure triggers a REPLAN event and the planner sees the failure; transient ones were already
retried by the dispatcher. Partial results of a step are kept; cancelling the run cancels its in-flight
calls on the agents.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from scheduler.client.outcome import CallOutcome
from scheduler.dispatch.dispatcher import Dispatcher, ToolCall
from scheduler.observe.events import EventType
from scheduler.planning.base import Planner
from scheduler.planning.step import PlanStep, StepRecord
from scheduler.planning.templates import TemplateError, render
from scheduler.planning.validate import invalid_observation, validate_call


@dataclass
class RunResult:
    run_id: str
    task: str
    planner: str
    answer: str | None = None
    ok: bool = False
    error: str | None = None
    steps: int = 0
    outcomes: list[CallOutcome] = field(default_factory=list)
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    replans: int = 0
    invalid_steps: int = 0  # planner steps that could not be read or named a call the tools' schemas refuse
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "task": self.task, "planner": self.planner, "answer": self.answer, "ok": self.ok,
            "error": self.error, "steps": self.steps, "tool_calls": len(self.outcomes),
            "failed_calls": sum(not o.ok for o in self.outcomes), "retries": self.retries, "replans": self.replans,
            "llm_calls": self.llm_calls, "tokens": self.prompt_tokens + self.completion_tokens,
            "invalid_steps": self.invalid_steps, "seconds": round(self.seconds, 4),
        }


class Engine:
    def __init__(self, dispatcher: Dispatcher, max_steps: int = 8) -> None:
        if max_steps < 1:
            raise ValueError("max_steps must be >= 1")
        self.dispatcher = dispatcher
        self.bus = dispatcher.bus
        self.max_steps = max_steps

    async def run(self, task: str, planner: Planner, run_id: str | None = None) -> RunResult:
        run_id = run_id or uuid.uuid4().hex[:12]
        result = RunResult(run_id=run_id, task=task, planner=planner.name)
        emit = self.bus.emit
        started = time.monotonic()
        retries_before = sum(1 for e in self.bus.history.get(run_id, ()) if e.type == EventType.RETRY)
        emit(run_id, EventType.RUN_STARTED, task=task, planner=planner.name, tools=sorted(k for k in self.dispatcher.tools if "." not in k))
        history: list[StepRecord] = []
        results: dict[str, Any] = {}
        async_ids: list[str] = []
        try:
            for number in range(1, self.max_steps + 1):
                emit(run_id, EventType.STEP_STARTED, step=number)
                try:
                    step = await planner.next_step(task, self.dispatcher.tools, history)
                except Exception as exc:  # noqa: BLE001 - a crashed planner ends the run visibly, not silently
                    raise _RunFailed(f"planner failed: {type(exc).__name__}: {exc}") from exc
                result.steps = number
                result.llm_calls += step.llm_calls
                result.prompt_tokens += step.prompt_tokens
                result.completion_tokens += step.completion_tokens
                emit(run_id, EventType.THOUGHT, step=number, thought=step.thought, final_answer=step.final_answer,
                     actions=[{"id": a.id, "tool": a.tool, "mode": a.mode} for a in step.actions], parse_error=step.parse_error,
                     raw=step.raw[:1000] or None)
                record = StepRecord(step=step)
                if step.parse_error is not None:
                    result.invalid_steps += 1
                    record.observations.append({"ok": False, "error": step.parse_error, "kind": "planner"})
                    history.append(record)
                    emit(run_id, EventType.STEP_FINISHED, step=number, ok=False)
                    if step.llm_calls == 0:  # a scripted plan cannot fix its own output
                        raise _RunFailed(step.parse_error)
                    continue
                if not await self._execute(run_id, step, record, results, async_ids):
                    result.invalid_steps += 1
                # async calls that finished in the meantime join this step's observations
                done = [i for i in async_ids if i in self.dispatcher.pending and self.dispatcher.pending[i].done()]
                if step.final_answer is not None:
                    done = list(async_ids)
                for outcome in await self.dispatcher.collect(done):
                    self._absorb(outcome, record, results)
                    async_ids.remove(outcome.call_id)
                result.outcomes.extend(record.outcomes)
                history.append(record)
                if record.failed and step.final_answer is None:
                    record.replan = True
                    result.replans += 1
                    emit(run_id, EventType.REPLAN, step=number, failed=[o.get("id") for o in record.failed],
                         errors=[o.get("error") for o in record.failed])
                emit(run_id, EventType.STEP_FINISHED, step=number, ok=not record.failed)
                if step.final_answer is not None:
                    try:
                        result.answer = str(render(step.final_answer, results))
                    except TemplateError as exc:
                        raise _RunFailed(f"final answer: {exc}") from exc
                    result.ok = True
                    break
            else:
                raise _RunFailed(f"step limit ({self.max_steps}) reached without a final answer")
        except _RunFailed as exc:
            result.error = str(exc)
        except asyncio.CancelledError:
            await self.dispatcher.cancel(async_ids)
            result.error = "cancelled"
            emit(run_id, EventType.RUN_ERROR, message="run cancelled", cancelled=True)
            raise
        finally:
            await self.dispatcher.cancel(async_ids)
            result.seconds = time.monotonic() - started
            result.retries = sum(1 for e in self.bus.history.get(run_id, ()) if e.type == EventType.RETRY) - retries_before
        if result.ok:
            emit(run_id, EventType.RUN_FINISHED, answer=result.answer, **{k: v for k, v in result.summary().items() if k not in ("answer", "task", "run_id")})
        else:
            emit(run_id, EventType.RUN_ERROR, message=result.error, **{k: v for k, v in result.summary().items() if k not in ("task", "run_id", "error")})
        return result

    async def _execute(self, run_id: str, step: PlanStep, record: StepRecord, results: dict[str, Any], async_ids: list[str]) -> bool:
        """Run the step's valid actions; False if any action was refused before dispatch."""
        ready: list[ToolCall] = []
        all_valid = True
        for action in step.actions:
            try:
                action = ToolCall(action.id, action.tool, render(action.args, results), action.mode)
            except TemplateError as exc:
                problem: str | None = str(exc)
            else:
                problem = validate_call(action, self.dispatcher.tools)
            if problem is not None:
                all_valid = False
                record.observations.append(invalid_observation(action, problem))
                self.bus.emit(run_id, EventType.TOOL_CALL_RESULT, **invalid_observation(action, problem))
                continue
            if action.mode == "async":
                self.dispatcher.submit(action, run_id)
                async_ids.append(action.id)
                record.observations.append({"id": action.id, "tool": action.tool, "ok": True, "result": "submitted (async)"})
            else:
                ready.append(action)
        for outcome in await self.dispatcher.call_many(ready, run_id):
            self._absorb(outcome, record, results)
        return all_valid

    @staticmethod
    def _absorb(outcome: CallOutcome, record: StepRecord, results: dict[str, Any]) -> None:
        record.outcomes.append(outcome)
        record.observations.append(outcome.observation())
        if outcome.ok:
            results[outcome.call_id] = outcome.output


class _RunFailed(Exception):
    """Ends a run with RUN_ERROR (step limit, unusable scripted plan, unresolvable final answer)."""
