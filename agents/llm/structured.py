"""Asking a model for a pydantic object: the object's JSON schema constrains decoding, the same model validates.

Why a layer over `generate`: every caller that reads a model's output as data (the planner, the step
executors, the tool loop, the ReAct planner) needs the same three things — the constraint built from the
model class that will validate the output (never a hand-written copy of its schema), the parsed object, and,
when the model cannot finish inside its token budget, an error that names the schema and the caller instead
of a silently truncated answer.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any, Generic, Sequence, TypeVar

from pydantic import BaseModel, ValidationError

from agents.llm.base import Completion, Constraint, Conversation, LLMBackend, SamplingParams
from core.errors import SymphonyError

T = TypeVar("T", bound=BaseModel)


class StructuredOutputError(SymphonyError):
    """A constrained output that is not a valid object: the budget ran out, or a validator refused it."""

    def __init__(self, schema: str, who: str, reason: str) -> None:
        self.schema, self.who, self.reason = schema, who, reason
        super().__init__(f"{who or 'model'}: no valid {schema} ({reason})")


@dataclass(frozen=True)
class Structured(Generic[T]):
    """One sample: the parsed object, or None with the reason it is not valid."""

    value: T | None
    completion: Completion
    error: str | None = None


def parse(model: type[T], completion: Completion) -> Structured[T]:
    if completion.finish_reason == "length":
        return Structured(None, completion, f"the output did not finish within {completion.completion_tokens} tokens")
    try:
        return Structured(model.model_validate_json(completion.text), completion)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "output"
        return Structured(None, completion, f"{where}: {first['msg']}")


def generate_structured(
    backend: LLMBackend,
    conversations: Sequence[Conversation],
    model: type[T],
    params: SamplingParams,
    *,
    constraint: Constraint | None = None,
) -> list[list[Structured[T]]]:
    """`params.n` samples per conversation, each decoded under `constraint` (default: the model's own schema)
    and validated by `model`."""
    constraint = constraint or Constraint.for_model(model)
    result = backend.generate(conversations, dataclasses.replace(params, constraint=constraint))
    return [[parse(model, c) for c in group] for group in result.completions]


def ask_structured(
    backend: LLMBackend,
    conversation: Conversation,
    model: type[T],
    params: SamplingParams,
    *,
    who: str = "",
    constraint: Constraint | None = None,
) -> Structured[T]:
    """One object for one conversation, or StructuredOutputError naming the schema and `who` asked."""
    constraint = constraint or Constraint.for_model(model)
    sample = generate_structured(backend, [conversation], model, dataclasses.replace(params, n=1), constraint=constraint)[0][0]
    if sample.value is None:
        raise StructuredOutputError(constraint.name, who, sample.error or "invalid")
    return sample


def find_json_object(text: str) -> dict[str, Any]:
    """The first balanced {...} in `text` that parses as JSON: how unconstrained (free-text) output is read,
    since models wrap JSON in prose or code fences. Raises ValueError when there is none."""
    text = re.sub(r"```(?:json)?", "", text)
    start = text.find("{")
    while start != -1:
        depth, in_str, esc = 0, False, False
        for i in range(start, len(text)):
            ch = text[i]
            if in_str:
                esc = (ch == "\\") and not esc
                if ch == '"' and not esc:
                    in_str = False
                continue
            if ch == '"':
                in_str = True
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    try:
                        value = json.loads(text[start : i + 1])
                    except (json.JSONDecodeError, RecursionError):  # nested past the interpreter stack: not an answer
                        break
                    if isinstance(value, dict):
                        return value
                    break
        start = text.find("{", start + 1)
    raise ValueError("no JSON object found in the planner output")
