"""A minimal SSE reader for tests (aiohttp): yields (event name, JSON data) frames."""

from __future__ import annotations

import json
from typing import Any, AsyncIterator

import aiohttp


async def read_sse(session: aiohttp.ClientSession, url: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    async with session.get(url) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        name, data = "", []
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith(":"):
                continue
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
            elif line == "" and data:
                yield name, json.loads("\n".join(data))
                name, data = "", []
