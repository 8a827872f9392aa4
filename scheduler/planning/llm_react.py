"""The ReAct planner users run: any `LLMBackend` writes each step as JSON, decoded under the step's schema.

Why JSON with several actions: one generation can declare independent calls that the dispatcher runs in
parallel, which both shortens makespan and saves LLM calls. Why constrained: the step is decoded under a
schema built from the discovered tools' own input schemas (`step_constraint`) — a step is either a thought with
1-3 actions, each naming a listed tool with arguments valid for it, or a thought with the final answer — so a
small model cannot write a call to a tool that does not exist or with arguments its schema refuses. The prompt
lists each tool with its argument types and result fields (structured outputs the planner can reference as
`{{id.field}}` in string arguments); observations carry results and full error messages. `constrained=False`
is the free-text baseline: output that is not valid JSON becomes an observation, not a crash.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
from typing import Any

from agents.llm.base import Constraint, LLMBackend, SamplingParams
from scheduler.client.tool_spec import ToolSpec
from scheduler.planning.base import Planner
from agents.llm.structured import find_json_object
from scheduler.planning.step import PlanStep, StepRecord, step_from_json

SYSTEM = """You are a planner that solves a task by calling tools. Answer with ONE JSON object and nothing else:
{{"thought": "<short reasoning>", "actions": [{{"id": "a1", "tool": "<tool name>", "args": {{...}}}}]}}
Put independent tool calls together in "actions"; they run in parallel. A later argument may reference an
earlier result as "{{{{a1.field}}}}". When you know the answer, reply with {{"thought": "...", "final_answer": "<answer>"}}.
Tools:
{tools}"""

EXAMPLE_TASK = "What is 17 * 3 plus the number of rows in data/x.csv?"
EXAMPLE_STEP = {"thought": "Compute the product and count rows in parallel.", "actions": [
    {"id": "a1", "tool": "calculate", "args": {"expression": "17 * 3"}},
    {"id": "a2", "tool": "csv_aggregate", "args": {"path": "data/x.csv", "column": "id", "op": "count"}}]}
THOUGHT_CHARS = 200
FINAL_ANSWER_CHARS = 200
MAX_ACTIONS = 3


def _clip(value: Any, limit: int) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "…"


class LLMPlanner(Planner):
    name = "llm"

    def __init__(self, backend: LLMBackend, max_new_tokens: int = 192, observation_chars: int = 1200,
                 one_call_per_step: bool = False, constrained: bool = True) -> None:
        """`one_call_per_step`: the MinionS-style sequential baseline — the prompt asks for one tool call per
        step and only the first action of a step runs (the planner is told so in the thought)."""
        self.backend = backend
        self.constrained = constrained
        self.params = SamplingParams(max_new_tokens=max_new_tokens, temperature=0.0)
        self.observation_chars = observation_chars
        self.one_call_per_step = one_call_per_step
        self.name = (f"llm:{backend.model_id}" + ("/one-call-per-step" if one_call_per_step else "")
                     + ("" if constrained else "/free"))

    def messages(self, task: str, tools: dict[str, ToolSpec], history: list[StepRecord]) -> list[dict[str, str]]:
        listing = "\n".join(json.dumps(spec.brief()) for key, spec in sorted(tools.items()) if "." not in key)
        system, example = SYSTEM, EXAMPLE_STEP
        if self.one_call_per_step:
            system = SYSTEM.replace("Put independent tool calls together in \"actions\"; they run in parallel.",
                                    "Call exactly ONE tool per step.")
            example = {**EXAMPLE_STEP, "thought": "First compute the product.", "actions": EXAMPLE_STEP["actions"][:1]}
        messages = [
            {"role": "system", "content": system.format(tools=listing)},
            {"role": "user", "content": f"Task: {EXAMPLE_TASK}"},
            {"role": "assistant", "content": json.dumps(example)},
            {"role": "user", "content": "Observations: (example ends here)"},
            {"role": "user", "content": f"Task: {task}"},
        ]
        for record in history:
            messages.append({"role": "assistant", "content": record.step.raw or json.dumps({"thought": record.step.thought})})
            messages.append({"role": "user", "content": "Observations: " + _clip(record.observations, self.observation_chars)})
        return messages

    async def next_step(self, task: str, tools: dict[str, ToolSpec], history: list[StepRecord]) -> PlanStep:
        conversation = self.messages(task, tools, history)
        params = self.params
        if self.constrained:
            params = dataclasses.replace(params, constraint=step_constraint(tools, 1 if self.one_call_per_step else MAX_ACTIONS))
        result = await asyncio.to_thread(self.backend.generate, [conversation], params)
        completion = result.completions[0][0]
        try:
            if self.constrained and completion.finish_reason == "length":
                raise ValueError(f"the step did not finish within {params.max_new_tokens} tokens")
            step = step_from_json(find_json_object(completion.text), f"s{len(history) + 1}a")
        except ValueError as exc:
            step = PlanStep(thought="", parse_error=f"could not read your step: {exc}. Reply with one JSON object.")
        if self.one_call_per_step and len(step.actions) > 1:
            step.thought += f" [one call per step: only {step.actions[0].id} runs]"
            step.actions = step.actions[:1]
        step.raw = completion.text
        step.llm_calls = 1
        step.prompt_tokens = completion.prompt_tokens
        step.completion_tokens = completion.completion_tokens
        return step


def _inline_defs(schema: dict[str, Any], prefix: str, defs: dict[str, Any]) -> dict[str, Any]:
    """A copy of a tool's input schema whose `$defs` move to the shared `defs` under `prefix`-ed names."""
    schema = copy.deepcopy(schema)
    local = schema.pop("$defs", {})

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: (f"#/$defs/{prefix}{v.rsplit('/', 1)[-1]}" if k == "$ref" and isinstance(v, str)
                        and v.startswith("#/$defs/") else rewrite(v)) for k, v in node.items()}
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    for name, definition in local.items():
        defs[f"{prefix}{name}"] = rewrite(definition)
    return rewrite(schema)


def step_constraint(tools: dict[str, ToolSpec], max_actions: int = MAX_ACTIONS) -> Constraint:
    """A ReAct step: a thought and 1..max_actions calls of listed tools (arguments per each tool's own input
    schema), or a thought and the final answer. Built afresh from whatever tools were discovered."""
    defs: dict[str, Any] = {}
    calls = []
    for key, spec in sorted(tools.items()):
        if "." in key:  # agent-qualified aliases of the same tools
            continue
        args = _inline_defs(spec.input_schema, f"{spec.name}__", defs)
        calls.append({"type": "object", "required": ["id", "tool", "args"], "properties": {
            "id": {"type": "string", "pattern": r"^a[1-9]$"}, "tool": {"const": spec.name}, "args": args}})
    thought = {"type": "string", "maxLength": THOUGHT_CHARS, "pattern": r"^[^\n]*$"}
    act = {"type": "object", "required": ["thought", "actions"], "properties": {
        "thought": thought, "actions": {"type": "array", "items": {"anyOf": calls}, "minItems": 1, "maxItems": max_actions}}}
    answer = {"type": "object", "required": ["thought", "final_answer"], "properties": {
        "thought": thought, "final_answer": {"type": "string", "minLength": 1, "maxLength": FINAL_ANSWER_CHARS}}}
    schema: dict[str, Any] = {"anyOf": [act, answer] if calls else [answer]}
    if defs:
        schema["$defs"] = defs
    return Constraint.json_schema(schema, "ReActStep(" + ",".join(c["properties"]["tool"]["const"] for c in calls) + ")")
