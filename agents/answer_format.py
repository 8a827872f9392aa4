"""What shape a question's final answer has, and the output model every step of a chain answers with.

Why the requester decides the format and the payload carries it: the K final answers are compared by exact
match after normalisation (tools.answers), so "47", "(B)" and "Yes" must come out in one canonical shape from
every agent, whatever its model. A constraint per format makes that a property of decoding instead of a hope:
a multiple-choice question can only be answered with one of its option letters, a numeric one only with a
number. The format is read from the question's surface (an options block, a yes/no instruction, numeric cues);
when nothing is certain it is "text", a short single line.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

from agents.llm.base import Constraint

AnswerFormat = Literal["option", "yes_no", "number", "text"]
FORMATS: tuple[str, ...] = ("option", "yes_no", "number", "text")

STEP_RESULT_CHARS = 300  # an intermediate result travels in the next beacon's payload
TEXT_ANSWER_CHARS = 60
NUMBER_PATTERN = r"^-?[0-9]+(\.[0-9]+)?(/[0-9]+)?$"

_OPTION_LINE = re.compile(r"(?m)^\s*\(([A-J])\)\s+\S")
_YES_NO = re.compile(r"(?i)\b(answer\s+)?yes\s+or\s+no\b")
_NUMERIC_CUES = re.compile(
    r"(?i)\b(how\s+many|how\s+much|calculate|compute|evaluate|total|sum|difference|product|remain|left|"
    r"what\s+is\s+-?\d|final\s+answer\s+to\s+the\s+following\s+arithmetic)\b|\d\s*[-+*/×÷]\s*\(?-?\d"
)


class Answer(BaseModel):
    """The one output model of a step: an intermediate result, or (final step) the agent's vote."""

    answer: str = Field(min_length=1, max_length=STEP_RESULT_CHARS)


def option_letters(question: str) -> list[str]:
    """The option letters listed in a multiple-choice question, in order ("(A) red" lines)."""
    return list(dict.fromkeys(_OPTION_LINE.findall(question)))


def infer_format(question: str) -> AnswerFormat:
    """The answer format of a question, from what it says (options first, then yes/no, then numeric cues)."""
    if len(option_letters(question)) >= 2:
        return "option"
    if _YES_NO.search(question):
        return "yes_no"
    if _NUMERIC_CUES.search(question):
        return "number"
    return "text"


def answer_constraint(fmt: str, question: str = "", *, final: bool = True) -> Constraint:
    """The constraint on a step's `Answer`: the format's shape for a final step, one short result otherwise."""
    schema = Answer.model_json_schema()
    field = schema["properties"]["answer"]
    if not final:
        return Constraint.json_schema(schema, "Answer(step)")
    if fmt == "option":
        letters = option_letters(question) or list("ABCDE")
        field.clear()
        field["enum"] = letters
    elif fmt == "yes_no":
        field.clear()
        field["enum"] = ["Yes", "No"]
    elif fmt == "number":
        field.update({"pattern": NUMBER_PATTERN, "maxLength": 24})
    else:
        field.update({"pattern": r"^[^\n]+$", "maxLength": TEXT_ANSWER_CHARS})
    return Constraint.json_schema(schema, f"Answer({fmt})")


def result_constraint(values: list[str]) -> Constraint:
    """A final answer that must be one of `values`: what an agent answers with when its tool computed the
    answer (a calculator's value), so the model cannot miscopy it."""
    schema = Answer.model_json_schema()
    schema["properties"]["answer"] = {"enum": list(dict.fromkeys(values))}
    return Constraint.json_schema(schema, "Answer(tool result)")
