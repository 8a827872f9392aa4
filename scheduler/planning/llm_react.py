"""The ReAct planner users run: any `LLMBackend` writes each step as JSON.

Why JSON with several actions: one generation can declare independent calls that the dispatcher runs in
parallel, which both shortens makespan and saves LLM calls. The prompt lists each tool with its argument
types and result fields (structured outputs the planner can reference as `{{id.field}}`); observations carry
results and full error messages. Output that is not valid JSON becomes an observation, not a crash.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from agents.llm.base import LLMBackend, SamplingParams
from scheduler.client.tool_spec import ToolSpec
from scheduler.planning.base import Planner
from scheduler.planning.step import PlanStep, StepRecord, find_json_object, step_from_json

SYSTEM = """You are a planner that solves a task by calling tools. Answer with ONE JSON object and nothing else:
{{"thought": "<short reasoning>", "actions": [{{"id": "a1", "tool": "<tool name>", "args": {{...}}}}], "final_answer": null}}
Put independent tool calls together in "actions"; they run in parallel. A later argument may reference an
earlier result as "{{{{a1.field}}}}". When you know the answer, reply with "actions": [] and "final_answer": "<answer>".
Tools:
{tools}"""

EXAMPLE_TASK = "What is 17 * 3 plus the number of rows in data/x.csv?"
EXAMPLE_STEP = {"thought": "Compute the product and count rows in parallel.", "actions": [
    {"id": "a1", "tool": "calculate", "args": {"expression": "17 * 3"}},
    {"id": "a2", "tool": "csv_aggregate", "args": {"path": "data/x.csv", "column": "id", "op": "count"}}], "final_answer": None}


def _clip(value: Any, limit: int) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "…"


class LLMPlanner(Planner):
    name = "llm"

    def __init__(self, backend: LLMBackend, max_new_tokens: int = 192, observation_chars: int = 1200,
                 one_call_per_step: bool = False) -> None:
        """`one_call_per_step`: the MinionS-style sequential baseline — the prompt asks for one tool call per
        step and only the first action of a step runs (the planner is told so in the thought)."""
        self.backend = backend
        self.params = SamplingParams(max_new_tokens=max_new_tokens, temperature=0.0)
        self.observation_chars = observation_chars
        self.one_call_per_step = one_call_per_step
        self.name = f"llm:{backend.model_id}" + ("/one-call-per-step" if one_call_per_step else "")

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
        result = await asyncio.to_thread(self.backend.generate, [conversation], self.params)
        completion = result.completions[0][0]
        try:
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
