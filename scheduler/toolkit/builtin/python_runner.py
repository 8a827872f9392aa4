"""The python tool agent: the shared calculator and the shared Python sandbox, served over MCP.

Why thin: what the tools compute and how the sandbox is contained are `tools.calculator` and `tools.sandbox`;
this module only binds them to the agent's folder and serves their pydantic models as the tool schemas.
The folder's files are copied into each run's temporary working directory (tasks `open('sales.csv')`), and
when the client cancels the MCP call the handler is cancelled and `run_python_async` kills the whole process
group, so the work stops rather than only the wait.
"""

from __future__ import annotations

from pathlib import Path

from scheduler.toolkit.agent_server import ToolAgent
from scheduler.toolkit.typed_tool import Progress, TypedTool
from tools.calculator import CalculatorInput, CalculatorOutput, calculate
from tools.sandbox import PythonInput, PythonOutput, checked_output, run_python_async

OUTPUT_LIMIT = 20_000


def python_agent(root: Path) -> ToolAgent:
    root = Path(root)

    async def calc(data: CalculatorInput, progress: Progress) -> CalculatorOutput:
        return CalculatorOutput(value=calculate(data.expression))

    async def run(data: PythonInput, progress: Progress) -> PythonOutput:
        limits = data.limits(max_output_chars=OUTPUT_LIMIT)
        return checked_output(await run_python_async(data.code, limits, files=root, progress=progress), limits)

    return ToolAgent(
        name="python",
        description="Exact arithmetic calculator and a sandboxed Python runner (time and memory limits).",
        tools=[
            TypedTool("calculate", "Evaluate an arithmetic expression exactly.", CalculatorInput, CalculatorOutput, calc),
            TypedTool("run_python", "Run Python code in a sandboxed subprocess and return stdout.", PythonInput, PythonOutput, run),
        ],
        capacity=2,
    )
