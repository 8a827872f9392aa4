"""End to end: a real MCP tool agent that fails transiently, the scheduler retries it, SSE shows it all."""

from __future__ import annotations

import contextlib
from pathlib import Path

import aiohttp
from aiohttp import web

from scheduler.dispatch.dispatcher import Dispatcher
from scheduler.dispatch.retry import RetryPolicy
from scheduler.engine import Engine
from scheduler.observe.bus import EventBus, read_trace
from scheduler.observe.sse_server import SchedulerService
from scheduler.planning.scripted import ScriptedPlanner
from core.processes import free_port
from scheduler.toolkit.builtin import build_agent

from .conftest import serve
from .sse_client import read_sse

PLAN = [
    {"thought": "two calls in parallel; one file is missing",
     "actions": [{"id": "c1", "tool": "calculate", "args": {"expression": "6 * 7"}},
                 {"id": "d1", "tool": "csv_aggregate", "args": {"path": "missing.csv", "column": "units"}}],
     "fallback": {"d1": [{"id": "d2", "tool": "csv_aggregate", "args": {"path": "sales.csv", "column": "units", "op": "count"}}]}},
    {"thought": "combine", "actions": [{"id": "c2", "tool": "calculate", "args": {"expression": "{{c1.value}} + {{d2.value}}"}}]},
    {"thought": "done", "final_answer": "{{c2.value}}"},
]


@contextlib.asynccontextmanager
async def http_service(service: SchedulerService):
    runner = web.AppRunner(service.app())
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_transient_failure_is_retried_and_streamed(suite_files: Path, tmp_path: Path) -> None:
    python = build_agent("python", suite_files)
    python.faults.fail_first = 1  # the first call of each tool on this agent fails transiently
    documents = build_agent("documents", suite_files)
    async with serve(python, documents) as connections:
        bus = EventBus(trace_dir=tmp_path / "traces")
        engine = Engine(Dispatcher(connections, bus, RetryPolicy(max_attempts=3, base_delay_s=0.05)))
        service = SchedulerService(engine, lambda options: ScriptedPlanner(options["plan"]))
        async with http_service(service) as base, aiohttp.ClientSession() as session:
            async with session.post(f"{base}/api/runs", json={"task": "six times seven plus rows", "plan": PLAN}) as response:
                assert response.status == 202
                run_id = (await response.json())["run_id"]
            frames = [frame async for frame in read_sse(session, f"{base}/api/events?run={run_id}")]
            async with session.get(f"{base}/api/runs/{run_id}") as response:
                summary = await response.json()

    names = [name for name, _ in frames]
    data = [d for _, d in frames]
    assert names[0] == "RUN_STARTED" and names[-1] == "RUN_FINISHED"
    assert [d["seq"] for d in data] == list(range(len(data)))  # nothing lost, nothing duplicated
    assert all(d["run_id"] == run_id and d["type"] == n for n, d in zip(names, data))

    retries = [d["data"] for d in data if d["type"] == "RETRY"]
    assert [r["call_id"] for r in retries] == ["c1"]  # only the first call of `calculate` is faulty
    assert all("injected fault" in r["error"] and r["attempt"] == 1 for r in retries)
    assert [r["delay_s"] for r in retries] == [0.05]  # the policy's first backoff, no jitter
    results = {d["data"]["call_id"]: d["data"] for d in data if d["type"] == "TOOL_CALL_RESULT"}
    assert results["c1"]["ok"] and results["c1"]["result"] == {"value": "42"}
    ends = {d["data"]["call_id"]: d["data"] for d in data if d["type"] == "TOOL_CALL_END"}
    assert ends["c1"]["attempts"] == 2
    # the permanent failure keeps its message, triggers a replan, and the fallback is used
    assert not results["d1"]["ok"] and "no such file: 'missing.csv'" in results["d1"]["error"]
    replans = [d["data"] for d in data if d["type"] == "REPLAN"]
    assert replans and replans[0]["failed"] == ["d1"]
    rows = len((suite_files / "sales.csv").read_text().splitlines()) - 1
    assert data[-1]["data"]["answer"] == str(42 + rows) == summary["answer"]
    assert summary["retries"] == 1 and summary["replans"] == 1 and summary["ok"]

    # the JSONL trace on disk holds exactly the streamed events
    trace = read_trace(tmp_path / "traces" / f"{run_id}.jsonl")
    assert [(e.seq, e.type.value) for e in trace] == [(d["seq"], d["type"]) for d in data]


async def test_retries_exhausted_become_a_visible_failure(suite_files: Path) -> None:
    python = build_agent("python", suite_files)
    python.faults.fail_first = 10
    # Full jitter with a cap between the first and the second backoff: the waits the dispatcher announces
    # (and sleeps) stay within the policy's bounds, the cap included.
    policy = RetryPolicy(max_attempts=4, base_delay_s=0.01, max_delay_s=0.015, jitter=1.0)
    bus = EventBus()
    async with serve(python) as connections:
        dispatcher = Dispatcher(connections, bus, policy)
        from scheduler.dispatch.dispatcher import ToolCall

        outcome = await dispatcher.call(ToolCall("x", "calculate", {"expression": "1"}), "r")
    assert not outcome.ok and outcome.attempts == 4 and outcome.error_kind == "transient"
    assert "injected fault: call 4" in outcome.error
    retries = [e.data for e in bus.history["r"] if e.type.value == "RETRY"]
    assert [r["attempt"] for r in retries] == [1, 2, 3]  # no wait after the last attempt
    assert all(policy.backoff(r["attempt"]) <= r["delay_s"] <= 0.015 for r in retries)


async def test_unknown_run_and_bad_request_are_clear_errors(tmp_path: Path) -> None:
    async with serve(build_agent("python", tmp_path)) as connections:
        service = SchedulerService(Engine(Dispatcher(connections, EventBus())), lambda options: ScriptedPlanner(options["plan"]))
        async with http_service(service) as base, aiohttp.ClientSession() as session:
            async with session.get(f"{base}/api/events?run=nope") as response:
                assert response.status == 404
            async with session.post(f"{base}/api/runs", json={"task": "  "}) as response:
                assert response.status == 400 and "non-empty" in await response.text()
            async with session.post(f"{base}/api/runs", data="not json") as response:
                assert response.status == 400
            async with session.post(f"{base}/api/runs", json={"task": "x", "plan": []}) as response:
                assert response.status == 400 and "at least one step" in await response.text()
