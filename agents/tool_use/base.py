"""A tool an agent's model calls with one constrained JSON object: {"tool": NAME, "arguments": {...}}.

Why constrained JSON instead of a text protocol: a 135M model gets free-text call syntax wrong far more often
than it gets the content wrong. The decoder is limited to calls whose arguments match the tool's input model
(the pydantic class in `tools/`, the same one the scheduler's MCP server publishes), so the model only chooses
what to compute or look up. A tool may narrow its arguments for one call from what the model is looking at
(`arguments_schema(context)`), e.g. the calculator admits only numbers that occur in the question; the narrowed
schema is still derived from the input model, never written by hand.
"""

from __future__ import annotations

import abc
import copy
import json
from dataclasses import dataclass
from typing import Any, Sequence

from pydantic import BaseModel, ValidationError

from agents.llm.base import Constraint
from core.errors import SymphonyError
from core.untrusted_json import loads


@dataclass(frozen=True)
class ToolResult:
    """What the tool returns to the model. ok=False means the call failed (the error text is still shown)."""

    output: str
    ok: bool = True


@dataclass(frozen=True)
class Example:
    """One worked call shown to the model before its own task: the task, the arguments, the result."""

    task: str
    arguments: dict[str, Any]
    result: str
    answer: str


class AgentTool(abc.ABC):
    """A tool an agent can call: a name, a one-line description, a pydantic input model and an executor."""

    name: str
    description: str
    input_model: type[BaseModel]
    examples: tuple[Example, ...] = ()
    exact_result: bool = False  # the result is itself an answer (a calculator's value), not evidence to read

    def arguments_schema(self, context: str) -> dict[str, Any]:
        """The JSON schema of this call's arguments: the input model's required fields (optional ones keep
        their defaults, so the model has less to write). `context` is the text the model answers about."""
        schema = copy.deepcopy(self.input_model.model_json_schema())
        required = set(schema.get("required", []))
        schema["properties"] = {k: v for k, v in schema.get("properties", {}).items() if k in required}
        return schema

    def applies(self, context: str) -> bool:
        """Can a call of this tool help with `context` at all? (A counter needs something to count; an agent
        whose tools all say no declines the work instead of spending its budget on a call that cannot help.)"""
        return True

    def parse(self, arguments: Any) -> BaseModel:
        return self.input_model.model_validate(arguments)

    @abc.abstractmethod
    def run(self, arguments: BaseModel) -> ToolResult:
        """Execute the call. Must not raise for bad model input: report it in the result instead."""


def call_constraint(tools: Sequence[AgentTool], context: str) -> Constraint:
    """One call to any of `tools`: {"tool": <its name>, "arguments": <its arguments schema>}."""
    if not tools:
        raise SymphonyError("a tool call needs at least one tool")
    variants = [
        {"type": "object", "properties": {"tool": {"const": t.name}, "arguments": t.arguments_schema(context)},
         "required": ["tool", "arguments"]}
        for t in tools
    ]
    schema = variants[0] if len(variants) == 1 else {"anyOf": variants}
    return Constraint.json_schema(schema, "ToolCall(" + ",".join(t.name for t in tools) + ")")


def call_json(tool: AgentTool, arguments: dict[str, Any]) -> str:
    """A call as the model writes it (the same layout the constraint enforces)."""
    return json.dumps({"tool": tool.name, "arguments": arguments}, ensure_ascii=False, separators=(", ", ": "))


@dataclass(frozen=True)
class ParsedCall:
    tool: AgentTool | None
    arguments: BaseModel | None
    error: str | None = None


def parse_call(text: str, tools: Sequence[AgentTool]) -> ParsedCall:
    """The tool and validated arguments of a model's call, or the reason it cannot run."""
    try:
        data = loads(text, ValueError, "the call is not JSON")
    except ValueError as exc:
        return ParsedCall(None, None, str(exc))
    by_name = {t.name: t for t in tools}
    name = data.get("tool") if isinstance(data, dict) else None
    tool = by_name.get(name) if isinstance(name, str) else None
    if tool is None:
        return ParsedCall(None, None, f"unknown tool {data.get('tool') if isinstance(data, dict) else data!r}")
    try:
        return ParsedCall(tool, tool.parse(data.get("arguments")))
    except ValidationError as exc:
        first = exc.errors()[0]
        return ParsedCall(tool, None, f"{'.'.join(map(str, first['loc'])) or 'arguments'}: {first['msg']}")
