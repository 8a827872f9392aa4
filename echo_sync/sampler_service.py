"""The sampler node as an aiohttp service, plus its async-mode push loop.

Routes
  POST /generate {"version": v, "tasks": [i, ...]}   sequential pull (the control API): refresh to v first, then
                                                    generate. Signed with $ECHO_CONTROL_SECRET (echo_sync.control)
                                                    or refused: 401 bad/missing signature, 403 no secret configured;
                                                    409 rollback / bad_hash / bad_adapter, 413 oversize,
                                                    410 revoked, 404 unknown version
  GET  /health                                      sampler id and the loaded version/hash
  GET  /stats                                       busy/sync times and counters (for idle fractions)

Why both in one process: in async mode the same node keeps generating from the trainer's task stream and
pushes groups into the replay buffer, checking the chain for a newer version before every batch.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

import aiohttp
from aiohttp import web

from core.errors import SymphonyError
from core.http import start_site
from core.untrusted_json import loads_object
from echo_sync.control import ControlVerifier, secret_from_env
from echo_sync.errors import (
    AdapterMismatch,
    ControlAuthError,
    OversizePolicy,
    PolicyRollback,
    RevokedPolicyVersion,
    UnknownPolicyVersion,
    WeightHashMismatch,
)
from echo_sync.sampler_node import SamplerNode

log = logging.getLogger("echo.sampler")


def sampler_app(node: SamplerNode, control: ControlVerifier | None = None) -> web.Application:
    """The sampler's routes; `/generate` only answers requests `control` authenticates (none: disabled)."""
    app = web.Application(client_max_size=16 * 1024 * 1024)

    async def generate(request: web.Request) -> web.Response:
        raw = await request.read()
        if control is None:
            node.stats.refused.append({"version": None, "reason": "control API disabled"})
            return web.json_response({"error": "control_disabled",
                                      "detail": "this sampler has no control secret ($ECHO_CONTROL_SECRET)"}, status=403)
        try:
            control.verify(request.method, request.path, request.headers, raw)
        except ControlAuthError as exc:
            node.stats.refused.append({"version": None, "reason": f"unauthenticated: {exc}"})
            return web.json_response({"error": "unauthenticated", "detail": str(exc)}, status=401)
        try:
            body = loads_object(raw, ValueError, "not a JSON object")
            version = int(body["version"])
            tasks = [int(t) for t in body["tasks"]]
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            raise web.HTTPBadRequest(text=f"expected {{'version': int, 'tasks': [int]}}: {exc}") from None
        if not tasks:
            raise web.HTTPBadRequest(text="tasks must not be empty")
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, node.sync_to, version)
            groups = await loop.run_in_executor(None, node.generate, tasks)
        except WeightHashMismatch as exc:
            return web.json_response({"error": "bad_hash", "detail": str(exc)}, status=409)
        except PolicyRollback as exc:
            return web.json_response({"error": "rollback", "detail": str(exc)}, status=409)
        except AdapterMismatch as exc:
            return web.json_response({"error": "bad_adapter", "detail": str(exc)}, status=409)
        except OversizePolicy as exc:
            return web.json_response({"error": "oversize", "detail": str(exc)}, status=413)
        except RevokedPolicyVersion as exc:
            return web.json_response({"error": "revoked", "detail": str(exc)}, status=410)
        except UnknownPolicyVersion as exc:
            return web.json_response({"error": "unknown_version", "detail": str(exc)}, status=404)
        except SymphonyError as exc:
            return web.json_response({"error": "sync_failed", "detail": str(exc)}, status=502)
        return web.json_response({"groups": [g.to_json() for g in groups]})

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"sampler_id": node.sampler_id, "version": node.version, "sha256": node.sha256,
                                  "revoked": node.held_revoked})

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({"sampler_id": node.sampler_id, "version": node.version, **node.stats.to_json()})

    app.router.add_post("/generate", generate)
    app.router.add_get("/health", health)
    app.router.add_get("/stats", stats)
    return app


async def push_loop(node: SamplerNode, trainer_url: str, tasks_per_request: int, give_up_s: float = 30.0) -> None:
    """Async mode: catch up, take tasks, generate, push — until the trainer says stop or stays unreachable."""
    loop = asyncio.get_running_loop()
    unreachable_since: float | None = None
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        while True:
            try:
                await loop.run_in_executor(None, node.catch_up)
            except (WeightHashMismatch, RevokedPolicyVersion, AdapterMismatch, OversizePolicy) as exc:
                log.warning("%s: %s", node.sampler_id, exc)  # keep the verified version we have
            except SymphonyError as exc:  # weights server or chain unreachable: retry, give up after give_up_s
                now = time.monotonic()
                unreachable_since = unreachable_since or now
                if now - unreachable_since > give_up_s:
                    log.warning("%s: cannot sync (%s); stopping", node.sampler_id, exc)
                    return
                await asyncio.sleep(0.5)
                continue
            if node.version is None or node.held_revoked:  # nothing verified, or ours was revoked: wait for a newer one
                await asyncio.sleep(0.2)
                continue
            try:
                async with http.get(f"{trainer_url}/tasks", params={"n": str(tasks_per_request)}) as resp:
                    resp.raise_for_status()
                    offer = await resp.json()
                if offer["stop"]:
                    return
                if not offer["tasks"]:  # buffer full: the trainer is behind, wait rather than go stale
                    await asyncio.sleep(0.1)
                    continue
                groups = await loop.run_in_executor(None, node.generate, offer["tasks"])
                payload = {"groups": [g.to_json() for g in groups]}
                async with http.post(f"{trainer_url}/rollouts", json=payload) as resp:
                    resp.raise_for_status()
                    verdict = await resp.json()
                unreachable_since = None
                if verdict["stop"]:
                    return
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                now = time.monotonic()
                unreachable_since = unreachable_since or now
                if now - unreachable_since > give_up_s:
                    log.warning("%s: trainer unreachable for %.0f s (%s); stopping", node.sampler_id, give_up_s, exc)
                    return
                await asyncio.sleep(0.5)


async def serve(node: SamplerNode, host: str, port: int, ready_file: str | None, trainer_url: str | None, tasks_per_request: int) -> None:
    """Serve until cancelled (SIGTERM in the process entry point)."""
    secret = secret_from_env()
    runner, bound = await start_site(sampler_app(node, ControlVerifier(secret) if secret else None), host, port)
    if ready_file:
        with open(ready_file + ".tmp", "w") as handle:
            json.dump({"url": f"http://{host}:{bound}", "sampler_id": node.sampler_id}, handle)
        import os

        os.replace(ready_file + ".tmp", ready_file)
    try:
        if trainer_url:
            await push_loop(node, trainer_url, tasks_per_request)
        await asyncio.Event().wait()  # keep answering /stats and /generate until terminated
    finally:
        await runner.cleanup()
