"""Issue #15 fault: a tool server that never answers.

Two ways a server can hang, each a real server on 127.0.0.1: (1) an MCP tool agent whose tool never returns (the
handler waits forever), and (2) a TCP server that accepts connections and never writes a byte (a wedged process,
a half-dead proxy). What must hold: the caller gets a clear, classified error within its timeout, calls to other
agents made at the same time are not held up, and the hung agent's other tools still answer afterwards.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from pydantic import BaseModel

from scheduler.client.connection import AgentConnection
from scheduler.dispatch.dispatcher import Dispatcher, ToolCall
from scheduler.dispatch.retry import RetryPolicy
from scheduler.errors import SchedulerError
from scheduler.observe.bus import EventBus
from scheduler.toolkit.agent_server import ToolAgent
from scheduler.toolkit.builtin import build_agent
from scheduler.toolkit.typed_tool import TypedTool
from tests.reliability.silent_server import SilentServer
from tests.scheduler.conftest import serve

pytestmark = pytest.mark.faults

TIMEOUT_S = 1.0


class Empty(BaseModel):
    pass


class Pong(BaseModel):
    pong: bool


def _stuck_agent() -> ToolAgent:
    """`wait_forever` never returns (until cancelled); `ping` answers at once."""

    async def wait_forever(_: Empty, progress) -> Pong:  # noqa: ANN001 - the toolkit's progress callback
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def ping(_: Empty, progress) -> Pong:  # noqa: ANN001
        return Pong(pong=True)

    return ToolAgent("stuck", "a tool agent with a tool that hangs",
                     [TypedTool("wait_forever", "never answers", Empty, Pong, wait_forever),
                      TypedTool("ping", "answers at once", Empty, Pong, ping)], capacity=4)


async def test_a_tool_that_never_answers_times_out_without_blocking_other_calls(tmp_path: Path) -> None:
    async with serve(_stuck_agent(), build_agent("python", tmp_path)) as connections:
        dispatcher = Dispatcher(connections, EventBus(), RetryPolicy(max_attempts=1), timeout_s=TIMEOUT_S)
        started = time.monotonic()
        stuck = dispatcher.submit(ToolCall("stuck", "wait_forever", {}))
        other = dispatcher.submit(ToolCall("other", "run_python", {"code": "print(6 * 7)", "timeout_s": 20}))
        same_agent = dispatcher.submit(ToolCall("same", "ping", {}))
        done = await asyncio.wait_for(dispatcher.collect(["stuck", "other", "same"]), timeout=30)
        elapsed = time.monotonic() - started
        hung, ok, pinged = done
        assert not hung.ok and hung.error_kind == "transient" and hung.error_type == "TimeoutError"
        assert f"no answer within {TIMEOUT_S:g} s" in hung.error
        assert elapsed < TIMEOUT_S + 10, elapsed  # the timeout held; nothing waited for the hung call
        assert ok.ok and "42" in str(ok.output), ok
        assert pinged.ok and pinged.output == {"pong": True}  # same server, another tool: not blocked
        assert ok.finished <= hung.finished and pinged.finished <= hung.finished  # they did not wait for it
        assert stuck.done() and other.done() and same_agent.done()
        after = await dispatcher.call(ToolCall("after", "ping", {}))  # the connection survived the timeout
        assert after.ok and after.output == {"pong": True}


async def test_connecting_to_a_server_that_never_answers_fails_clearly() -> None:
    silent = SilentServer()
    try:
        started = time.monotonic()
        with pytest.raises(SchedulerError, match="cannot reach tool agent silent at .*: no answer .* within 2 s"):
            # 60 s: the test's own bound, far above the connection's; reaching it means the connect hangs.
            async with asyncio.timeout(60):
                async with AgentConnection("silent", f"http://127.0.0.1:{silent.port}/mcp", connect_timeout_s=2):
                    pass
        assert silent.accepted >= 1  # it did reach the server, which then said nothing
        assert time.monotonic() - started < 10
    finally:
        silent.close()
