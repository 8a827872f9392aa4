"""Cancellation reaches the MCP server: the tool's sandboxed process is killed, reaped and its working directory removed."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

import pytest

from scheduler.dispatch.dispatcher import Dispatcher, ToolCall
from scheduler.dispatch.retry import RetryPolicy
from scheduler.engine import Engine
from scheduler.observe.bus import EventBus
from scheduler.observe.events import EventType
from scheduler.planning.scripted import ScriptedPlanner
from scheduler.toolkit.builtin import build_agent

from .conftest import serve

TICKER = """
import os, time
with open('ticks.txt', 'a', buffering=1) as out:
    out.write(f'pid {os.getpid()}\\n')
    for i in range(400):
        out.write(f'tick {i}\\n')
        time.sleep(0.05)
"""


@pytest.fixture
def sandboxes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the sandbox makes its temporary working directories during the test (so the test can watch them)."""
    folder = tmp_path / "sandboxes"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


async def _wait_for_ticks(sandboxes: Path, count: int, timeout: float = 10.0) -> int:
    """The pid of the ticker once it wrote `count` ticks in its sandbox working directory."""
    for _ in range(int(timeout / 0.05)):
        for path in sandboxes.glob("symphony-sandbox-*/ticks.txt"):
            text = path.read_text()
            if text.count("tick") >= count:
                return int(text.splitlines()[0].split()[1])
        await asyncio.sleep(0.05)
    raise AssertionError("the tool never started writing ticks.txt")


async def _assert_stopped(sandboxes: Path, pid: int, timeout: float = 3.0) -> None:
    """The ticker process is gone (killed and reaped) and its working directory removed."""
    for _ in range(int(timeout / 0.05)):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        await asyncio.sleep(0.05)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not list(sandboxes.glob("symphony-sandbox-*")), "the server-side work left its working directory behind"


async def test_cancelled_call_stops_the_server_side_work(tmp_path: Path, sandboxes: Path) -> None:
    python = build_agent("python", tmp_path)
    async with serve(python) as connections:
        bus = EventBus()
        dispatcher = Dispatcher(connections, bus)
        task = dispatcher.submit(ToolCall("long", "run_python", {"code": TICKER, "timeout_s": 60}, mode="async"), "r1")
        pid = await _wait_for_ticks(sandboxes, 3)
        await dispatcher.cancel(["long"])
        assert task.cancelled()
        await _assert_stopped(sandboxes, pid)
        assert python.in_flight == 0  # the handler really ended on the server
        ends = [e for e in bus.history["r1"] if e.type == EventType.TOOL_CALL_END]
        assert ends and ends[-1].data["cancelled"] is True
        # the connection is still usable afterwards
        outcome = await dispatcher.call(ToolCall("after", "calculate", {"expression": "2 + 2"}))
        assert outcome.ok and outcome.output == {"value": "4"}


async def test_timeout_cancels_on_the_server_and_is_reported(tmp_path: Path, sandboxes: Path) -> None:
    python = build_agent("python", tmp_path)
    async with serve(python) as connections:
        dispatcher = Dispatcher(connections, EventBus(), RetryPolicy(max_attempts=1), timeout_s=0.8)
        call = asyncio.ensure_future(dispatcher.call(ToolCall("slow", "run_python", {"code": TICKER, "timeout_s": 60})))
        pid = await _wait_for_ticks(sandboxes, 1)
        outcome = await call
        assert not outcome.ok and outcome.error_kind == "transient" and outcome.error_type == "TimeoutError"
        await _assert_stopped(sandboxes, pid)


async def test_cancelling_a_run_cancels_its_calls(tmp_path: Path, sandboxes: Path) -> None:
    python = build_agent("python", tmp_path)
    plan = [{"thought": "long", "actions": [{"id": "t", "tool": "run_python", "args": {"code": TICKER, "timeout_s": 60}}]},
            {"thought": "never reached", "final_answer": "x"}]
    async with serve(python) as connections:
        bus = EventBus()
        engine = Engine(Dispatcher(connections, bus))
        run = asyncio.create_task(engine.run("tick", ScriptedPlanner(plan), run_id="cancel-me"))
        pid = await _wait_for_ticks(sandboxes, 3)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        await _assert_stopped(sandboxes, pid)
        last = bus.history["cancel-me"][-1]
        assert last.type == EventType.RUN_ERROR and last.data["cancelled"] is True
