"""Check planned tool calls against the tools' listed input schemas before anything is sent.

Why before dispatch: a call with a wrong argument name would otherwise travel to the agent and come back
as a less readable error; here the planner gets the exact JSON-Schema message and the list of valid tools.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from scheduler.client.tool_spec import ToolSpec
from scheduler.dispatch.dispatcher import ToolCall


def validate_call(call: ToolCall, tools: dict[str, ToolSpec]) -> str | None:
    """None if valid, else an error message for the planner."""
    spec = tools.get(call.tool)
    if spec is None:
        return f"unknown tool {call.tool!r}; available tools: {', '.join(sorted(tools))}"
    errors = sorted(Draft202012Validator(spec.input_schema).iter_errors(call.args), key=lambda e: list(e.path))
    if errors:
        return "invalid arguments for {}: {}".format(
            call.tool, "; ".join(f"{'.'.join(str(p) for p in e.path) or '<args>'}: {e.message}" for e in errors[:5]))
    return None


def invalid_observation(call: ToolCall, message: str) -> dict[str, Any]:
    return {"id": call.id, "tool": call.tool, "ok": False, "error": f"InvalidAction: {message}", "kind": "permanent", "attempts": 0}
