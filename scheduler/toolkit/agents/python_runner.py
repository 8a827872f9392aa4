"""Calculator and sandboxed Python runner agent.

Why a subprocess with rlimits and its own process group: LLM-written code can loop forever, allocate
without bound or fork. Each run gets a CPU-time limit, an address-space limit and a wall-clock timeout, runs
isolated (`python -I`) in the agent's folder, and — the point users of other SDKs miss — when the client
cancels the MCP call, the handler is cancelled and we kill the whole process group, so the work stops.
"""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import sys
import time
from pathlib import Path

from pydantic import BaseModel, Field

from scheduler.errors import PermanentToolError
from scheduler.toolkit.agent_server import ToolAgent
from scheduler.toolkit.agents.calculator import calculate
from scheduler.toolkit.typed_tool import Progress, TypedTool

OUTPUT_LIMIT = 20_000


class CalcInput(BaseModel):
    expression: str = Field(min_length=1, max_length=2000, description="arithmetic, e.g. '(3 + 4) * 2 / 7'")


class CalcOutput(BaseModel):
    value: str


class RunInput(BaseModel):
    code: str = Field(min_length=1, max_length=50_000, description="Python source; print() the result")
    timeout_s: float = Field(default=10.0, gt=0, le=120, description="wall-clock limit")
    memory_mb: int = Field(default=512, ge=64, le=4096, description="address-space limit")


class RunOutput(BaseModel):
    stdout: str
    stderr: str
    exit_code: int
    seconds: float


def _limits(cpu_s: int, memory_mb: int):  # runs in the child before exec
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s))
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))

    return apply


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


async def run_code(root: Path, data: RunInput, progress: Progress) -> RunOutput:
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-I", "-c", data.code,
        cwd=str(root), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        start_new_session=True, preexec_fn=_limits(int(data.timeout_s) + 1, data.memory_mb),
        env={"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": "0"},
    )
    await progress(0, data.timeout_s, f"started pid {proc.pid}")
    communicate = asyncio.ensure_future(proc.communicate())
    try:
        while True:
            done, _ = await asyncio.wait({communicate}, timeout=0.5)
            if done:
                break
            elapsed = time.monotonic() - started
            if elapsed > data.timeout_s:
                _kill_group(proc)
                await communicate
                raise PermanentToolError(f"code ran past its {data.timeout_s:g} s timeout and was killed")
            await progress(round(elapsed, 2), data.timeout_s, "running")
    except asyncio.CancelledError:
        _kill_group(proc)  # the MCP call was cancelled: stop the work, not just the wait
        communicate.cancel()
        await proc.wait()
        raise
    stdout, stderr = communicate.result()
    out = RunOutput(
        stdout=stdout.decode(errors="replace")[:OUTPUT_LIMIT],
        stderr=stderr.decode(errors="replace")[:OUTPUT_LIMIT],
        exit_code=proc.returncode if proc.returncode is not None else -1,
        seconds=round(time.monotonic() - started, 3),
    )
    if out.exit_code != 0:
        tail = out.stderr.strip().splitlines()[-3:] or [f"exit code {out.exit_code}"]
        raise PermanentToolError("python failed: " + " | ".join(tail))
    return out


def python_agent(root: Path) -> ToolAgent:
    root = Path(root)

    async def calc(data: CalcInput, progress: Progress) -> CalcOutput:
        return CalcOutput(value=calculate(data.expression))

    async def run(data: RunInput, progress: Progress) -> RunOutput:
        if not root.is_dir():
            raise PermanentToolError(f"working folder {root} does not exist")
        return await run_code(root, data, progress)

    return ToolAgent(
        name="python",
        description="Exact arithmetic calculator and a sandboxed Python runner (time and memory limits).",
        tools=[
            TypedTool("calculate", "Evaluate an arithmetic expression exactly.", CalcInput, CalcOutput, calc),
            TypedTool("run_python", "Run Python code in a sandboxed subprocess and return stdout.", RunInput, RunOutput, run),
        ],
        capacity=2,
    )
