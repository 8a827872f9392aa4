"""A deterministic planner that replays a plan written in the task file.

Why: tests and the protocol benchmark must measure the scheduler (dispatch, retries, replans), not the
quality of a model. A scripted step may name `fallback` actions per call id: if that call fails permanently,
the planner replans with the fallback — the same path an LLM planner takes after a failure.
"""

from __future__ import annotations

from typing import Any

from scheduler.client.tool_spec import ToolSpec
from scheduler.planning.base import Planner
from scheduler.planning.step import PlanStep, StepRecord, step_from_json


class ScriptedPlanner(Planner):
    name = "scripted"

    def __init__(self, plan: list[dict[str, Any]]) -> None:
        if not plan:
            raise ValueError("a scripted plan needs at least one step")
        self.plan = plan
        self._index = -1
        self._used_fallbacks: set[str] = set()

    async def next_step(self, task: str, tools: dict[str, ToolSpec], history: list[StepRecord]) -> PlanStep:
        if history and history[-1].failed and 0 <= self._index < len(self.plan):
            fallbacks: dict[str, list[dict[str, Any]]] = self.plan[self._index].get("fallback", {})
            actions = [a for obs in history[-1].failed if obs["id"] in fallbacks and obs["id"] not in self._used_fallbacks
                       for a in fallbacks[obs["id"]]]
            if actions:
                self._used_fallbacks.update(o["id"] for o in history[-1].failed)
                failed = ", ".join(o["id"] for o in history[-1].failed)
                return step_from_json({"thought": f"replan: {failed} failed, using the fallback", "actions": actions}, f"s{len(history)}f")
        self._index += 1
        if self._index >= len(self.plan):
            return PlanStep(thought="the script has no more steps", final_answer=None, parse_error="scripted plan exhausted")
        return step_from_json(self.plan[self._index], f"s{self._index + 1}a")
