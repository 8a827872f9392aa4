"""The trainer's HTTP face: serves published weights, hands out tasks, admits pushed rollouts.

Routes
  GET  /policies/{version}/model.safetensors   weights of a published version (404 otherwise, 410 once revoked)
  GET  /policies/{version}/adapter.safetensors the same for LoRA policy versions
  GET  /tasks?n=K                              K task indices for a sampler ([] while the buffer is full), plus {"stop": bool}
  POST /rollouts  {"groups": [...]}            push rollout groups; per-group verdicts, plus {"stop": bool}
  GET  /status                                 current version, buffer depth and counters
"""

from __future__ import annotations

import threading

from aiohttp import web

from echo_sync.publisher import PolicyPublisher
from core.untrusted_json import loads_object
from echo_sync.replay_buffer import ReplayBuffer
from echo_sync.rollout import RolloutGroup
from echo_sync.task_stream import TaskStream

MAX_TASKS_PER_REQUEST = 256


class TrainerEndpoint:
    def __init__(self, publisher: PolicyPublisher, buffer: ReplayBuffer | None = None, stream: TaskStream | None = None):
        self.publisher, self.buffer, self.stream = publisher, buffer, stream
        self.stop = threading.Event()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/policies/{version}/model.safetensors", self._weights)
        app.router.add_get("/policies/{version}/adapter.safetensors", self._weights)
        app.router.add_get("/status", self._status)
        if self.buffer is not None and self.stream is not None:
            app.router.add_get("/tasks", self._tasks)
            app.router.add_post("/rollouts", self._rollouts)
        return app

    async def _weights(self, request: web.Request) -> web.StreamResponse:
        try:
            version = int(request.match_info["version"])
        except ValueError:
            raise web.HTTPBadRequest(text="version must be an integer") from None
        if self.publisher.is_revoked(version):
            raise web.HTTPGone(text=f"policy version {version} was revoked")
        if self.publisher.sha_of(version) is None or request.path.rsplit("/", 1)[-1] != self.publisher.store.file_name:
            raise web.HTTPNotFound(text=f"policy version {version} was not published")
        return web.FileResponse(self.publisher.store.path(version))

    async def _tasks(self, request: web.Request) -> web.Response:
        try:
            n = int(request.query.get("n", "1"))
        except ValueError:
            raise web.HTTPBadRequest(text="n must be an integer") from None
        if not 1 <= n <= MAX_TASKS_PER_REQUEST:
            raise web.HTTPBadRequest(text=f"n must be in 1..{MAX_TASKS_PER_REQUEST}")
        stop = self.stop.is_set()
        assert self.stream is not None and self.buffer is not None
        if not stop and len(self.buffer) >= self.buffer.capacity:
            # Back-pressure: a full buffer means samplers are ahead of the trainer; generating more now would
            # only produce rollouts that go stale. The sampler waits and asks again.
            return web.json_response({"tasks": [], "stop": False, "full": True})
        return web.json_response({"tasks": [] if stop else self.stream.take(n), "stop": stop, "full": False})

    async def _rollouts(self, request: web.Request) -> web.Response:
        assert self.buffer is not None
        try:
            body = loads_object(await request.read(), ValueError, "not a JSON object")
            raw = body["groups"]
            if not isinstance(raw, list):
                raise TypeError("groups must be a list")
        except (ValueError, KeyError, TypeError) as exc:
            raise web.HTTPBadRequest(text=f"bad rollout payload: {exc}") from None
        verdicts = []
        for item in raw:
            try:
                group = RolloutGroup.from_json(item)
            except ValueError:
                self.buffer.stats.rejected_malformed += 1
                verdicts.append("malformed")
                continue
            verdicts.append(self.buffer.put(group))
        return web.json_response({"results": verdicts, "stop": self.stop.is_set()})

    async def _status(self, request: web.Request) -> web.Response:
        body: dict = {"version": self.publisher.current_version, "stop": self.stop.is_set()}
        if self.buffer is not None:
            body["buffer_depth"] = len(self.buffer)
            body["buffer"] = self.buffer.stats.to_json()
        return web.json_response(body)
