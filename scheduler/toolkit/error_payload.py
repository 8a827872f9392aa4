"""How a tool failure crosses the MCP wire without losing its meaning.

Why: MCP's `CallToolResult(is_error=True)` carries only text, and the SDK replaces the text of an unexpected
exception with "Error executing tool X" — the planner then never learns what went wrong. Our tool adapter
turns every exception into one line `SYMPHONY_TOOL_ERROR {json}` holding kind, exception type and message;
the client parses it back. Text from any other MCP server is kept whole and treated as permanent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from core.untrusted_json import loads_object

PREFIX = "SYMPHONY_TOOL_ERROR "


@dataclass(frozen=True)
class ToolErrorInfo:
    kind: str  # "transient" | "permanent"
    type: str
    message: str

    @property
    def transient(self) -> bool:
        return self.kind == "transient"


def encode(kind: str, type_name: str, message: str) -> str:
    return PREFIX + json.dumps({"kind": kind, "type": type_name, "message": message})


def decode(text: str) -> ToolErrorInfo:
    """Parse an error text from a tool result; text without our prefix is a permanent error of type 'ToolError'."""
    stripped = text.strip()
    if PREFIX.strip() in stripped:
        raw = stripped[stripped.index(PREFIX.strip()) + len(PREFIX.strip()) :].strip()
        try:
            data = loads_object(raw, ValueError, "tool error payload")
            # only the two kinds mean anything to the retry policy; anything else is permanent (never retried)
            kind = "transient" if data.get("kind") == "transient" else "permanent"
            return ToolErrorInfo(kind, str(data.get("type", "ToolError")), str(data.get("message", "")))
        except ValueError:
            pass  # not our payload after all: the whole text is the message
    return ToolErrorInfo("permanent", "ToolError", stripped)
