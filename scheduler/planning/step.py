"""A plan step and the record of what happened to it.

Why several actions per step: the planner states which calls are independent by putting them in one step;
the dispatcher runs them in parallel. `mode="async"` marks fire-and-collect-later calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scheduler.client.outcome import CallOutcome
from scheduler.dispatch.dispatcher import ToolCall


@dataclass
class PlanStep:
    thought: str = ""
    actions: list[ToolCall] = field(default_factory=list)
    final_answer: str | None = None
    parse_error: str | None = None  # the planner's output could not be read; fed back as an observation
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    raw: str = ""


@dataclass
class StepRecord:
    step: PlanStep
    observations: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[CallOutcome] = field(default_factory=list)
    replan: bool = False

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [o for o in self.observations if not o.get("ok", False)]


def step_from_json(data: dict[str, Any], default_prefix: str) -> PlanStep:
    """Build a step from the planner JSON format; raises ValueError with a message the planner can act on."""
    if not isinstance(data, dict):
        raise ValueError("the step must be a JSON object")
    actions_raw = data.get("actions", [])
    if "actions" not in data and data.get("action"):  # the common single-action ReAct variant small models write
        single = data["action"]
        actions_raw = [single if isinstance(single, dict) else {"tool": single, "args": data.get("args", data.get("action_input", {}))}]
    if not isinstance(actions_raw, list):
        raise ValueError('"actions" must be a list')
    actions: list[ToolCall] = []
    for i, item in enumerate(actions_raw):
        if not isinstance(item, dict) or not isinstance(item.get("tool"), str):
            raise ValueError(f'action {i} must be an object with a "tool" name and "args"')
        args = item.get("args", {})
        if not isinstance(args, dict):
            raise ValueError(f'action {i}: "args" must be an object')
        mode = item.get("mode", "sync")
        if mode not in ("sync", "async"):
            raise ValueError(f'action {i}: "mode" must be "sync" or "async"')
        actions.append(ToolCall(id=str(item.get("id") or f"{default_prefix}{i + 1}"), tool=item["tool"], args=args, mode=mode))
    final = data.get("final_answer")
    if final is not None and not isinstance(final, (str, int, float)):
        raise ValueError('"final_answer" must be a string or number')
    if not actions and final is None:
        raise ValueError('a step needs "actions" or a "final_answer"')
    return PlanStep(thought=str(data.get("thought", "")), actions=actions, final_answer=None if final is None else str(final))
