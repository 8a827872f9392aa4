"""The result of one tool call as the scheduler keeps it, success or failure, never dropped.

Why one type for both: a step with five parallel calls where two fail must still hand the planner the three
results and the two error messages; exceptions would lose the siblings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CallOutcome:
    call_id: str
    tool: str
    agent: str
    ok: bool
    output: dict[str, Any] | None = None
    error_kind: str | None = None  # "transient" | "permanent" | "cancelled"
    error_type: str | None = None
    error: str | None = None
    attempts: int = 0
    started: float = 0.0
    finished: float = 0.0
    progress: list[tuple[float, float | None, str | None]] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return max(0.0, self.finished - self.started)

    def observation(self) -> dict[str, Any]:
        """What the planner sees for this call."""
        if self.ok:
            return {"id": self.call_id, "tool": self.tool, "ok": True, "result": self.output}
        return {"id": self.call_id, "tool": self.tool, "ok": False, "error": f"{self.error_type}: {self.error}",
                "kind": self.error_kind, "attempts": self.attempts}
