"""The counters as agent tools: the model points at what to count, `tools.counting` counts it exactly.

Why grounding (as for the calculator): a 135M model retypes text imperfectly, so each call's arguments are
narrowed to what the question holds —
- letter counter: the text is one of the question's double-quoted spans (the whole question when it has none)
  and the letter one of its single-character spans (any letter or digit when it has none);
- item counter: the arguments are every entry of the question's "I have ..." list, written as listed and in
  order, each with true or false, so the model decides for each entry, once, whether it belongs to the category
  asked about (a free list of entries let it repeat entries and stop early: 5 of 16 right on dev questions).
"""

from __future__ import annotations

import copy
import string
from typing import Any

from pydantic import BaseModel

from agents.tool_use.base import AgentTool, Example, ToolResult
from tools.counting import (CountingError, ItemCountInput, LetterCountInput, count_items, count_letter, listed_items,
                            quoted_spans)


class _CountingTool(AgentTool):
    """A counter: its result is an exact count; a CountingError goes back to the model as a failed call."""

    exact_result = True

    def count(self, arguments: BaseModel) -> int:
        raise NotImplementedError

    def run(self, arguments: BaseModel) -> ToolResult:
        try:
            return ToolResult(str(self.count(arguments)))
        except CountingError as exc:
            return ToolResult(f"error: {exc}", ok=False)


class LetterCounterTool(_CountingTool):
    name = "letter_counter"
    description = "counts how many times one letter (or digit) occurs in a text, exactly (case is ignored)"
    input_model = LetterCountInput
    examples = (Example('How many times does the letter "r" appear in the text: "a red car parked here"?',
                        {"text": "a red car parked here", "letter": "r"}, "4", "4"),)

    def arguments_schema(self, context: str) -> dict[str, Any]:
        schema = super().arguments_schema(context)
        spans = quoted_spans(context)
        letters = [s for s in spans if len(s) == 1 and s.isalnum()]
        texts = [s for s in spans if s not in letters] or [context]
        schema["properties"]["text"] = {"type": "string", "enum": texts}
        schema["properties"]["letter"] = {"type": "string", "enum": letters or list(string.ascii_lowercase + string.digits)}
        return copy.deepcopy(schema)

    def applies(self, context: str) -> bool:
        return bool(quoted_spans(context))

    def count(self, arguments: BaseModel) -> int:
        return count_letter(arguments.text, arguments.letter)  # type: ignore[attr-defined]


class ItemCounterTool(_CountingTool):
    name = "item_counter"
    description = "adds up the quantities of the items marked true, exactly ('two plums' counts 2); mark true only the items that are asked about"
    input_model = ItemCountInput
    examples = (Example("I have a frog, two plums, a chair, and a banana. How many fruits do I have?",
                        {"items": {"a banana": True, "a chair": False, "a frog": False, "two plums": True}}, "3", "3"),
                Example("I have a lamp, two cars, and a bed. How many objects do I have?",
                        {"items": {"a bed": True, "a lamp": True, "two cars": True}}, "4", "4"))

    def arguments_schema(self, context: str) -> dict[str, Any]:
        schema = super().arguments_schema(context)
        entries = listed_items(context)
        if entries:
            schema["properties"]["items"] = {"type": "object", "properties": {e: {"type": "boolean"} for e in entries},
                                             "required": entries, "additionalProperties": False}
        return copy.deepcopy(schema)

    def applies(self, context: str) -> bool:
        return bool(listed_items(context))

    def count(self, arguments: BaseModel) -> int:
        return count_items(arguments.items)  # type: ignore[attr-defined]
