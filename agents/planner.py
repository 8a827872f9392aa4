"""The requester's planner: an LLM writes K independent plans of 3-8 subtasks, the last giving the final answer.

Why validation and a fallback: small local models often return no usable list. A plan that cannot be parsed,
or has too few steps, is replaced by one of a few fixed decompositions, and the provenance records which plans
came from the model and which from the fallback, so reports never overstate what the planner did.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agents.llm.base import LLMBackend, SamplingParams

MIN_STEPS, MAX_STEPS = 3, 8
_NUMBERED = re.compile(r"^\s*(?:step\s*)?(\d{1,2})\s*[.):-]\s*(.+?)\s*$", re.IGNORECASE)
_FINAL_WORDS = ("final answer", "answer")

FALLBACK_PLANS: tuple[tuple[str, ...], ...] = (
    ("Restate what the question asks and list the facts it gives.", "Work out the solution from those facts.", "Check the work and state the final answer."),
    ("Identify the quantities, entities or options involved.", "Compute or compare them step by step.", "Give the final answer."),
    ("Find the key information needed to answer.", "Reason from it to a result, showing each step.", "State the final answer clearly."),
)

PLANNER_SYSTEM = "You are a planner. You split a task into a short numbered list of simple steps. You never solve the task."


@dataclass(frozen=True)
class Plan:
    steps: tuple[str, ...]
    source: str  # "llm" | "fallback"


def parse_plan(text: str) -> tuple[str, ...] | None:
    """Numbered steps from a model's answer, or None if it does not contain a valid 3-8 step plan."""
    steps: list[str] = []
    for line in text.splitlines():
        match = _NUMBERED.match(line)
        if match and int(match.group(1)) == len(steps) + 1:
            step = match.group(2).strip().strip("*").strip()
            if step and step not in steps:
                steps.append(step[:300])
    if len(steps) < MIN_STEPS - 1:
        return None
    if not any(word in steps[-1].lower() for word in _FINAL_WORDS):
        steps.append("State the final answer.")
    if not MIN_STEPS <= len(steps) <= MAX_STEPS:
        return None
    return tuple(steps)


class Planner:
    def __init__(self, backend: LLMBackend, *, temperature: float = 0.8, max_new_tokens: int = 160, seed: int | None = 0) -> None:
        self.backend = backend
        self.temperature = temperature
        self.max_new_tokens = max_new_tokens
        self.seed = seed

    def messages(self, question: str) -> list[dict[str, str]]:
        ask = (f"Task: {question}\n\nWrite a plan of 3 to 5 numbered steps to solve this task. "
               "The last step must give the final answer. Write only the numbered steps.")
        return [{"role": "system", "content": PLANNER_SYSTEM}, {"role": "user", "content": ask}]

    def plans(self, question: str, k: int) -> tuple[list[Plan], int]:
        """K plans (distinct where possible) and the tokens the planner used."""
        params = SamplingParams(max_new_tokens=self.max_new_tokens, temperature=self.temperature, n=k, seed=self.seed)
        result = self.backend.generate([self.messages(question)], params)
        plans: list[Plan] = []
        for completion in result.completions[0]:
            steps = parse_plan(completion.text)
            if steps is not None and all(p.steps != steps for p in plans):
                plans.append(Plan(steps, "llm"))
        fallback = iter(FALLBACK_PLANS)
        while len(plans) < k:
            plans.append(Plan(next(fallback, FALLBACK_PLANS[len(plans) % len(FALLBACK_PLANS)]), "fallback"))
        return plans[:k], result.total_tokens
