"""The requester's planner: an LLM writes K independent plans of 3-8 subtasks, the last giving the final answer.

Why constrained plans: a plan is decoded under the JSON schema of `PlanDraft` (3 to 8 short steps), so every
sample the model finishes is a plan; the model only chooses the steps. The fixed decompositions remain as a
last resort for a sample that did not finish within the token budget (or repeated an earlier plan), and the
provenance records which plans came from the model and which from the fallback, so reports never overstate
what the planner did. `decoding="free"` keeps the old numbered-list parsing as the baseline benchmarks use.

Why one-step plans exist (`max_steps=1`): a 135M executor answers a question it sees whole far better than it
relays a sub-result through a chain (the 0-of-5 demo: invented intermediate steps, results lost between agents).
Each chain is then one agent answering the question under the planner's one-line instruction, and the chains
differ by agent and instruction — which is what the weighted vote weighs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from agents.llm.base import Constraint, LLMBackend, SamplingParams
from agents.llm.structured import generate_structured

MIN_STEPS, MAX_STEPS = 3, 8
STEP_CHARS = 120
_NUMBERED = re.compile(r"^\s*(?:step\s*)?(\d{1,2})\s*[.):-]\s*(.+?)\s*$", re.IGNORECASE)
_FINAL_WORDS = ("final answer", "answer")

FALLBACK_PLANS: tuple[tuple[str, ...], ...] = (
    ("Restate what the question asks and list the facts it gives.", "Work out the solution from those facts.", "Check the work and state the final answer."),
    ("Identify the quantities, entities or options involved.", "Compute or compare them step by step.", "Give the final answer."),
    ("Find the key information needed to answer.", "Reason from it to a result, showing each step.", "State the final answer clearly."),
)

PLANNER_SYSTEM = "You are a planner. You split a task into a short list of simple steps. You never solve the task."
EXAMPLE_TASK = "A shop sells 3 pens at 2 dollars each and 4 pencils at 1 dollar each. How much do they cost in total?"
EXAMPLE_PLAN = {"steps": ["List the items, their counts and prices.", "Compute the cost of the pens and of the pencils.",
                          "Add the two costs and give the final answer."]}
# A one-step plan for agents too small to pass results along (each chain: one agent answers the question).
EXAMPLE_ONE_STEP = {"steps": ["Find what the question asks, work it out exactly and give the final answer."]}
ONE_STEP_FALLBACKS: tuple[tuple[str, ...], ...] = (
    ("Work out the answer to the question and state it.",),
    ("Solve the question exactly and give the final answer.",),
    ("Read the question carefully and answer it.",),
)


class PlanDraft(BaseModel):
    """What the planner model writes: the steps of one chain of thought, the last one answering."""

    steps: list[str] = Field(min_length=1, max_length=MAX_STEPS)  # the planner's range is in plan_constraint


def plan_constraint(min_steps: int = MIN_STEPS, max_steps: int = MAX_STEPS) -> "Constraint":
    """PlanDraft's schema with each step one short line and at most max_steps - 1 steps written: finish_plan
    appends the final-answer step when the model's last step is not one, and the plan must stay within max_steps
    (measured: 4 of 15 samples wrote 8 steps without a final one and were lost). A one-step plan is written whole."""
    schema = PlanDraft.model_json_schema()
    written = max_steps if max_steps == 1 else max_steps - 1
    schema["properties"]["steps"]["minItems"] = min(min_steps, written)
    schema["properties"]["steps"]["maxItems"] = written
    schema["properties"]["steps"]["items"] = {"type": "string", "minLength": 3, "maxLength": STEP_CHARS,
                                              "pattern": r"^[^\n]+$"}
    return Constraint.json_schema(schema, "PlanDraft")


_STEP_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"\s*[,\]]')


def complete_steps(text: str) -> list[str]:
    """The complete step strings of a PlanDraft JSON prefix (`{"steps": ["a", "b", "c` gives a, b)."""
    _, found, rest = text.partition('"steps"')
    if not found:
        return []
    _, bracket, rest = rest.partition("[")
    return [json.loads(f'"{m.group(1)}"') for m in _STEP_STRING.finditer(rest)] if bracket else []


@dataclass(frozen=True)
class Plan:
    steps: tuple[str, ...]
    source: str  # "llm" | "fallback"


def finish_plan(steps: list[str], min_steps: int = MIN_STEPS, max_steps: int = MAX_STEPS) -> tuple[str, ...] | None:
    """De-duplicated steps with a final-answer step at the end, or None if not min_steps..max_steps steps.

    A one-step plan (max_steps 1, the small agents' plan) is final by position: its one executor answers."""
    unique = list(dict.fromkeys(s.strip() for s in steps if s.strip()))
    if max_steps == 1:
        return tuple(unique[:1]) if unique and min_steps <= 1 else None
    if unique and not any(word in unique[-1].lower() for word in _FINAL_WORDS):
        unique.append("State the final answer.")
    return tuple(unique) if min_steps <= len(unique) <= max_steps else None


def parse_plan(text: str) -> tuple[str, ...] | None:
    """Numbered steps from a free-text answer (the unconstrained baseline), or None if no valid 3-8 step plan."""
    steps: list[str] = []
    for line in text.splitlines():
        match = _NUMBERED.match(line)
        if match and int(match.group(1)) == len(steps) + 1:
            step = match.group(2).strip().strip("*").strip()
            if step and step not in steps:
                steps.append(step[:300])
    if len(steps) < MIN_STEPS - 1:
        return None
    return finish_plan(steps)


class Planner:
    def __init__(self, backend: LLMBackend, *, temperature: float = 0.8, max_new_tokens: int = 160, seed: int | None = 0,
                 decoding: Literal["constrained", "free"] = "constrained", min_steps: int = MIN_STEPS,
                 max_steps: int = MAX_STEPS) -> None:
        if not 1 <= min_steps <= max_steps <= MAX_STEPS:
            raise ValueError(f"plan length must satisfy 1 <= min_steps <= max_steps <= {MAX_STEPS}, got {min_steps}..{max_steps}")
        self.min_steps, self.max_steps = min_steps, max_steps
        self.backend = backend
        self.temperature = temperature
        self.max_new_tokens = max_new_tokens
        self.seed = seed
        self.decoding = decoding

    def messages(self, question: str) -> list[dict[str, str]]:
        if self.decoding == "free":
            ask = (f"Task: {question}\n\nWrite a plan of 3 to 5 numbered steps to solve this task. "
                   "The last step must give the final answer. Write only the numbered steps.")
            return [{"role": "system", "content": PLANNER_SYSTEM}, {"role": "user", "content": ask}]
        if self.max_steps == 1:
            ask, example = "Task: {}\n\nWrite a plan of one short step that says how to get the final answer.", EXAMPLE_ONE_STEP
        else:
            fewest = min(max(self.min_steps, 3), self.max_steps)  # 3 to 5 steps asked for, within the planner's range
            ask = (f"Task: {{}}\n\nWrite a plan of {fewest} to {max(fewest, min(self.max_steps, 5))} short steps. "
                   "The last step gives the final answer.")
            example = EXAMPLE_PLAN
        return [
            {"role": "system", "content": PLANNER_SYSTEM},
            {"role": "user", "content": ask.format(EXAMPLE_TASK)},
            {"role": "assistant", "content": json.dumps(example)},
            {"role": "user", "content": ask.format(question)},
        ]

    def drafts(self, question: str, k: int) -> tuple[list[tuple[str, ...] | None], int, int]:
        """K sampled plans (None where a sample gives no 3-8 step plan), the tokens used, and how many plans were
        cut off by the token budget and kept their complete steps.

        Why keep a cut-off plan: under the constraint every prefix is well-formed PlanDraft JSON, so a sample that
        ran out of tokens inside step n has n - 1 complete steps the model chose; finish_plan adds the final-answer
        step. Only a sample with fewer than 3 complete steps is lost."""
        params = SamplingParams(max_new_tokens=self.max_new_tokens, temperature=self.temperature, n=k, seed=self.seed)
        if self.decoding == "free":
            result = self.backend.generate([self.messages(question)], params)
            return [parse_plan(c.text) for c in result.completions[0]], result.total_tokens, 0
        samples = generate_structured(self.backend, [self.messages(question)], PlanDraft, params,
                                      constraint=plan_constraint(self.min_steps, self.max_steps))[0]
        drafts: list[tuple[str, ...] | None] = []
        cut = 0
        for sample in samples:
            if sample.value is not None:
                drafts.append(finish_plan(sample.value.steps, self.min_steps, self.max_steps))
            elif sample.completion.finish_reason == "length":
                kept = finish_plan(complete_steps(sample.completion.text), self.min_steps, self.max_steps)
                cut += kept is not None
                drafts.append(kept)
            else:
                drafts.append(None)
        return drafts, sum(s.completion.prompt_tokens + s.completion.completion_tokens for s in samples), cut

    def plans(self, question: str, k: int) -> tuple[list[Plan], int]:
        """K plans (distinct where possible) and the tokens the planner used."""
        drafts, tokens, _cut = self.drafts(question, k)
        plans: list[Plan] = []
        for steps in drafts:
            if steps is not None and all(p.steps != steps for p in plans):
                plans.append(Plan(steps, "llm"))
        fallbacks = ONE_STEP_FALLBACKS if self.max_steps == 1 else FALLBACK_PLANS
        fallback = iter(fallbacks)
        while len(plans) < k:
            plans.append(Plan(next(fallback, fallbacks[len(plans) % len(fallbacks)]), "fallback"))
        return plans[:k], tokens
