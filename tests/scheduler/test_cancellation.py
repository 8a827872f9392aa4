"""Cancellation reaches the MCP server: the tool's subprocess is killed and stops writing."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from scheduler.dispatch.dispatcher import Dispatcher, ToolCall
from scheduler.dispatch.retry import RetryPolicy
from scheduler.engine import Engine
from scheduler.observe.bus import EventBus
from scheduler.observe.events import EventType
from scheduler.planning.scripted import ScriptedPlanner
from scheduler.toolkit.agents import build_agent

from .conftest import serve

TICKER = """
import os, time
with open('ticks.txt', 'a', buffering=1) as out:
    out.write(f'pid {os.getpid()}\\n')
    for i in range(400):
        out.write(f'tick {i}\\n')
        time.sleep(0.05)
"""


async def _wait_for_ticks(path: Path, count: int, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if path.exists() and path.read_text().count("tick") >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the tool never started writing {path}")


async def _assert_stopped(path: Path) -> None:
    pid = int(path.read_text().splitlines()[0].split()[1])
    await asyncio.sleep(0.3)
    size = path.stat().st_size
    await asyncio.sleep(0.6)
    assert path.stat().st_size == size, "the server-side work kept running after cancellation"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_cancelled_call_stops_the_server_side_work(tmp_path: Path) -> None:
    python = build_agent("python", tmp_path)
    async with serve(python) as connections:
        bus = EventBus()
        dispatcher = Dispatcher(connections, bus)
        task = dispatcher.submit(ToolCall("long", "run_python", {"code": TICKER, "timeout_s": 60}, mode="async"), "r1")
        await _wait_for_ticks(tmp_path / "ticks.txt", 3)
        await dispatcher.cancel(["long"])
        assert task.cancelled()
        await _assert_stopped(tmp_path / "ticks.txt")
        assert python.in_flight == 0  # the handler really ended on the server
        ends = [e for e in bus.history["r1"] if e.type == EventType.TOOL_CALL_END]
        assert ends and ends[-1].data["cancelled"] is True
        # the connection is still usable afterwards
        outcome = await dispatcher.call(ToolCall("after", "calculate", {"expression": "2 + 2"}))
        assert outcome.ok and outcome.output == {"value": "4"}


async def test_timeout_cancels_on_the_server_and_is_reported(tmp_path: Path) -> None:
    python = build_agent("python", tmp_path)
    async with serve(python) as connections:
        dispatcher = Dispatcher(connections, EventBus(), RetryPolicy(max_attempts=1), timeout_s=0.8)
        outcome = await dispatcher.call(ToolCall("slow", "run_python", {"code": TICKER, "timeout_s": 60}))
        assert not outcome.ok and outcome.error_kind == "transient" and outcome.error_type == "TimeoutError"
        await _assert_stopped(tmp_path / "ticks.txt")


async def test_cancelling_a_run_cancels_its_calls(tmp_path: Path) -> None:
    python = build_agent("python", tmp_path)
    plan = [{"thought": "long", "actions": [{"id": "t", "tool": "run_python", "args": {"code": TICKER, "timeout_s": 60}}]},
            {"thought": "never reached", "final_answer": "x"}]
    async with serve(python) as connections:
        bus = EventBus()
        engine = Engine(Dispatcher(connections, bus))
        run = asyncio.create_task(engine.run("tick", ScriptedPlanner(plan), run_id="cancel-me"))
        await _wait_for_ticks(tmp_path / "ticks.txt", 3)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        await _assert_stopped(tmp_path / "ticks.txt")
        last = bus.history["cancel-me"][-1]
        assert last.type == EventType.RUN_ERROR and last.data["cancelled"] is True
