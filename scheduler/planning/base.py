"""The planner interface the run engine drives.

Why async with the whole history: an LLM planner re-reads everything (thoughts, calls, observations) each
step — that is ReAct — and generation runs in a worker thread so the event loop keeps serving SSE clients
and in-flight tool calls while the model thinks.
"""

from __future__ import annotations

import abc

from scheduler.client.tool_spec import ToolSpec
from scheduler.planning.step import PlanStep, StepRecord


class Planner(abc.ABC):
    name: str = "planner"

    @abc.abstractmethod
    async def next_step(self, task: str, tools: dict[str, ToolSpec], history: list[StepRecord]) -> PlanStep:
        """The next step given the task, the available tools and what happened so far."""
