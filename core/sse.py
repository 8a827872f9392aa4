"""Streaming Server-Sent Events from an aiohttp handler: the one writer the project's live pages share.

Why one helper: the scheduler's run view and the network explorer both stream frames that something else
produces (a bus subscription, a hub queue) and must send a comment frame when nothing happened for a while, or
proxies and browsers time the stream out. The frames are pumped by a task of their own, so waiting for the next
keepalive never cancels the producer in the middle of an item; a client that goes away ends the stream quietly.
"""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

from aiohttp import web

SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
KEEPALIVE = b": keepalive\n\n"


async def stream_events(request: web.Request, frames: AsyncIterator[bytes], keepalive_s: float,
                        greeting: bytes | None = None) -> web.StreamResponse:
    """Answer `request` with an event stream: `greeting` (if any), then every frame of `frames` as it comes, a
    keepalive comment after each `keepalive_s` without one; returns when `frames` ends or the client leaves."""
    response = web.StreamResponse(headers=SSE_HEADERS)
    await response.prepare(request)

    async def pump() -> None:
        if greeting is not None:
            await response.write(greeting)
        async for frame in frames:
            await response.write(frame)

    forward = asyncio.create_task(pump())
    try:
        while not forward.done():
            done, _ = await asyncio.wait({forward}, timeout=keepalive_s)
            if not done:
                await response.write(KEEPALIVE)
        forward.result()
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        forward.cancel()
        await asyncio.gather(forward, return_exceptions=True)
    return response
