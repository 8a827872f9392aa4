"""HTTP API, Server-Sent Events and the live page of the scheduler (aiohttp).

Why SSE and not WebSockets: events flow one way, browsers reconnect SSE by themselves, and an `EventSource`
needs no client library — the live page is one static HTML file. Each frame carries the AG-UI-like type
as the SSE `event:` name and the typed `RunEvent` as JSON.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any, Callable

from aiohttp import web

from core.errors import SymphonyError
from core.sse import stream_events
from scheduler.engine import Engine, RunResult
from scheduler.observe.bus import ALL
from scheduler.planning.base import Planner

STATIC = Path(__file__).parent / "static"
PlannerFactory = Callable[[dict[str, Any]], Planner]


class SchedulerService:
    """Runs tasks in the background on one engine and exposes them over HTTP."""

    def __init__(self, engine: Engine, planner_factory: PlannerFactory, keepalive_s: float = 15.0) -> None:
        self.engine = engine
        self.bus = engine.bus
        self.planner_factory = planner_factory
        self.keepalive_s = keepalive_s
        self.tasks: dict[str, asyncio.Task[RunResult]] = {}
        self.results: dict[str, RunResult] = {}

    def start_run(self, task: str, options: dict[str, Any] | None = None) -> str:
        planner = self.planner_factory(options or {})
        run_id = uuid.uuid4().hex[:12]

        async def go() -> RunResult:
            result = await self.engine.run(task, planner, run_id)
            self.results[run_id] = result
            return result

        self.tasks[run_id] = asyncio.create_task(go(), name=f"run:{run_id}")
        return run_id

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self.page)
        app.router.add_get("/api/tools", self.tools)
        app.router.add_get("/api/runs", self.list_runs)
        app.router.add_post("/api/runs", self.create_run)
        app.router.add_get("/api/runs/{run_id}", self.get_run)
        app.router.add_post("/api/runs/{run_id}/cancel", self.cancel_run)
        app.router.add_get("/api/events", self.events)
        app.on_shutdown.append(self._shutdown)
        return app

    async def _shutdown(self, _app: web.Application) -> None:
        for task in self.tasks.values():
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)

    async def page(self, _request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html")

    async def tools(self, _request: web.Request) -> web.Response:
        return web.json_response([spec.brief() | {"agent": spec.agent} for key, spec in sorted(self.engine.dispatcher.tools.items()) if "." not in key])

    async def list_runs(self, _request: web.Request) -> web.Response:
        runs = []
        for run_id, task in self.tasks.items():
            done = self.results.get(run_id)
            runs.append(done.summary() if done else {"run_id": run_id, "running": not task.done()})
        return web.json_response(runs)

    async def create_run(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            raise web.HTTPBadRequest(text="body must be JSON: {\"task\": \"...\"}")
        task = body.get("task") if isinstance(body, dict) else None
        if not isinstance(task, str) or not task.strip():
            raise web.HTTPBadRequest(text='"task" must be a non-empty string')
        try:
            run_id = self.start_run(task.strip(), body)
        except (ValueError, SymphonyError) as exc:  # bad plan, or no model to plan with
            raise web.HTTPBadRequest(text=str(exc))
        return web.json_response({"run_id": run_id, "events": f"/api/events?run={run_id}"}, status=202)

    async def get_run(self, request: web.Request) -> web.Response:
        run_id = request.match_info["run_id"]
        if run_id in self.results:
            return web.json_response(self.results[run_id].summary())
        if run_id in self.tasks:
            return web.json_response({"run_id": run_id, "running": True})
        raise web.HTTPNotFound(text=f"no run {run_id}")

    async def cancel_run(self, request: web.Request) -> web.Response:
        run_id = request.match_info["run_id"]
        task = self.tasks.get(run_id)
        if task is None:
            raise web.HTTPNotFound(text=f"no run {run_id}")
        task.cancel()
        return web.json_response({"run_id": run_id, "cancelled": True})

    async def events(self, request: web.Request) -> web.StreamResponse:
        run_id = request.query.get("run", ALL)
        if run_id != ALL and run_id not in self.bus.history and run_id not in self.tasks:
            raise web.HTTPNotFound(text=f"no run {run_id}")
        events = (event.sse() async for event in self.bus.subscribe(run_id))
        return await stream_events(request, events, self.keepalive_s, greeting=b": connected\n\n")
