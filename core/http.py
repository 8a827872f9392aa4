"""Serving an aiohttp application: inside a running event loop, or on a background thread of a blocking process.

Why one helper: every server of the project (Echo's trainer and samplers, the scheduler's API, explorers) must
turn "address already in use" and other bind failures into one clear `ServiceStartError` instead of a
traceback, report the port it really bound (port 0 picks a free one), and shut down cleanly. The thread
variant exists because the trainer's loop is plain blocking torch code that releases the GIL in its kernels.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import AsyncIterator

from aiohttp import web

from core.errors import ServiceStartError


async def start_site(app: web.Application, host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, int]:
    """Set up `app` and listen on host:port; returns the runner (call `cleanup()`) and the bound port."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ServiceStartError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return runner, int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]


@contextlib.asynccontextmanager
async def serving(app: web.Application, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """`async with serving(app, host, port) as url:` — the app is served until the block ends."""
    runner, bound = await start_site(app, host, port)
    try:
        yield f"http://{host}:{bound}"
    finally:
        await runner.cleanup()


class BackgroundServer:
    """An aiohttp app served from its own event loop on a daemon thread (`with BackgroundServer(app) as s:`)."""

    def __init__(self, app: web.Application, host: str = "127.0.0.1", port: int = 0):
        self.app, self.host, self.port = app, host, port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="http-server", daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "BackgroundServer":
        self._thread.start()
        try:
            self._runner, self.port = asyncio.run_coroutine_threadsafe(
                start_site(self.app, self.host, self.port), self._loop
            ).result(timeout=30)
        except BaseException:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            raise
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
            self._runner = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
