"""Python as an agent tool: the model writes a program, `tools.sandbox` runs it, stdout comes back.

Why: code turns the model's plan into exact computation (arithmetic, combinatorics, parsing) — the thing
small models are worst at doing "in their head"; an agent with this tool really is better at such subtasks.
"""

from __future__ import annotations

from pydantic import BaseModel

from agents.tool_use.base import AgentTool, Example, ToolResult
from tools.sandbox import PythonInput, SandboxLimits, run_python


class PythonTool(AgentTool):
    name = "python"
    description = "runs a Python 3 program in a sandbox (no network, time and memory limits); print() the result"
    input_model = PythonInput
    examples = (Example("What is 2 to the power 10?", {"code": "print(2 ** 10)"}, "1024", "1024"),)
    exact_result = True

    def __init__(self, limits: SandboxLimits | None = None) -> None:
        self.limits = limits or SandboxLimits()

    def run(self, arguments: BaseModel) -> ToolResult:
        code = arguments.code  # type: ignore[attr-defined]
        if not code.strip():
            return ToolResult("error: empty program", ok=False)
        result = run_python(code, self.limits)
        parts = []
        if result.stdout:
            parts.append(result.stdout.rstrip("\n"))
        if result.stderr:
            parts.append(f"stderr:\n{result.stderr.rstrip()}")
        if result.timed_out:
            parts.append(f"error: time limit ({self.limits.wall_seconds:g} s) exceeded")
        elif result.returncode != 0 and not result.stderr:
            parts.append(f"error: exit status {result.returncode}")
        if not parts:
            parts.append("(no output: use print() to see values)")
        return ToolResult("\n".join(parts), ok=result.ok)
