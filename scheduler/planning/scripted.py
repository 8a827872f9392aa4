"""A deterministic planner that replays a plan written in the task file.

Why: tests and the protocol benchmark must measure the scheduler (dispatch, retries, replans), not the
quality of a model. A scripted step may name `fallback` actions per call id: if that call fails permanently,
the planner replans with the fallback — the same path an LLM planner takes after a failure.
"""

from __future__ import annotations

import asyncio
from typing import Any

from scheduler.client.tool_spec import ToolSpec
from scheduler.planning.base import Planner
from scheduler.planning.step import PlanStep, StepRecord, step_from_json


class ScriptedPlanner(Planner):
    name = "scripted"

    def __init__(self, plan: list[dict[str, Any]], one_call_per_step: bool = False, think_s: float = 0.0) -> None:
        """`one_call_per_step` replays the plan MinionS-style (each action its own step: the sequential baseline);
        `think_s` emulates the planner's latency per step (named in benchmark output, 0 = none)."""
        if not plan:
            raise ValueError("a scripted plan needs at least one step")
        if think_s < 0:
            raise ValueError("think_s must be >= 0")
        self.plan = _one_call_per_step(plan) if one_call_per_step else plan
        self.think_s = think_s
        self.name = "scripted" + ("/one-call-per-step" if one_call_per_step else "")
        self._index = -1
        self._used_fallbacks: set[str] = set()

    async def next_step(self, task: str, tools: dict[str, ToolSpec], history: list[StepRecord]) -> PlanStep:
        if self.think_s:
            await asyncio.sleep(self.think_s)
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


def _one_call_per_step(plan: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Split every multi-action step into single-action steps; each keeps the original step's fallbacks."""
    out: list[dict[str, Any]] = []
    for step in plan:
        actions = step.get("actions", [])
        if len(actions) <= 1:
            out.append(step)
            continue
        for i, action in enumerate(actions):
            part: dict[str, Any] = {"thought": f"{step.get('thought', '')} ({i + 1}/{len(actions)})", "actions": [action]}
            if action.get("id") in step.get("fallback", {}):
                part["fallback"] = {action["id"]: step["fallback"][action["id"]]}
            out.append(part)
        if step.get("final_answer") is not None:
            out.append({"thought": "answer", "final_answer": step["final_answer"]})
    return out
