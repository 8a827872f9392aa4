"""Per-agent capacity from the declared value is respected, on the client and on the server."""

from __future__ import annotations

import time
from pathlib import Path

from scheduler.dispatch.dispatcher import Dispatcher, ToolCall
from scheduler.observe.bus import EventBus
from scheduler.toolkit.builtin import build_agent

from .conftest import serve


async def test_capacity_limits_concurrency(tmp_path: Path) -> None:
    python = build_agent("python", tmp_path)  # declares capacity 2
    python.faults.latency_s = 0.25
    search_dir = tmp_path / "corpus"
    search_dir.mkdir()
    (search_dir / "a.txt").write_text("alpha beta")
    search = build_agent("search", search_dir)  # declares capacity 8
    # Long enough that all six searches overlap on the server even on a loaded machine (at 0.25 s one could
    # finish before the sixth arrived: a clean-clone run beside a benchmark saw 5).
    search.faults.latency_s = 1.0
    async with serve(python, search) as connections:
        dispatcher = Dispatcher(connections, EventBus())
        started = time.monotonic()
        outcomes = await dispatcher.call_many(
            [ToolCall(f"c{i}", "calculate", {"expression": f"{i} * 2"}) for i in range(6)]
            + [ToolCall(f"s{i}", "search_corpus", {"query": "alpha"}) for i in range(6)])
        elapsed = time.monotonic() - started
    assert [o.output["value"] for o in outcomes[:6]] == [str(i * 2) for i in range(6)]
    assert all(o.ok for o in outcomes)
    assert dispatcher.max_in_flight["python"] == 2 and python.max_in_flight == 2
    assert dispatcher.max_in_flight["search"] == 6 and search.max_in_flight == 6
    assert elapsed >= 3 * 0.25  # six calls through two slots take three rounds


async def test_sequential_mode_runs_one_call_at_a_time(tmp_path: Path) -> None:
    python = build_agent("python", tmp_path)
    python.faults.latency_s = 0.1
    async with serve(python) as connections:
        dispatcher = Dispatcher(connections, EventBus(), max_parallel=1)
        await dispatcher.call_many([ToolCall(f"c{i}", "calculate", {"expression": "1"}) for i in range(4)])
    assert dispatcher.max_in_flight["python"] == 1 and python.max_in_flight == 1


async def test_replicas_share_the_fan_out(tmp_path: Path) -> None:
    """Two agents serving the same tools: calls spread over both, each within its own capacity."""
    from scheduler.toolkit.agent_server import ToolAgent

    first, second = build_agent("python", tmp_path), build_agent("python", tmp_path)
    first.faults.latency_s = second.faults.latency_s = 0.25
    replica = ToolAgent("python-b", second.description, second.tools, second.capacity, faults=second.faults)
    async with serve(first, replica) as connections:
        dispatcher = Dispatcher(connections, EventBus())
        assert [s.agent for s in dispatcher.routes["calculate"]] == ["python", "python-b"]
        started = time.monotonic()
        outcomes = await dispatcher.call_many([ToolCall(f"c{i}", "calculate", {"expression": f"{i} + 1"}) for i in range(4)])
        elapsed = time.monotonic() - started
    assert [o.output["value"] for o in outcomes] == ["1", "2", "3", "4"]
    assert sorted(o.agent for o in outcomes) == ["python", "python", "python-b", "python-b"]
    assert first.max_in_flight == 2 and replica.max_in_flight == 2
    assert elapsed < 2 * 0.25 + 0.4  # one round on four slots, not two rounds on two
