"""What the scheduler knows about one tool: which agent serves it and its listed input/output schemas."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ToolSpec:
    agent: str
    name: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None

    def brief(self) -> dict[str, Any]:
        """Compact description for a planner prompt: argument names, types and which are required."""
        props = self.input_schema.get("properties", {})
        required = set(self.input_schema.get("required", []))
        args = {}
        for key, prop in props.items():
            kind = prop.get("type") or "/".join(p.get("type", "?") for p in prop.get("anyOf", [])) or "any"
            args[key] = kind + ("" if key in required else "?")
        out = sorted((self.output_schema or {}).get("properties", {}))
        return {"tool": self.name, "description": self.description, "args": args, "returns": out}
