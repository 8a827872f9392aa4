"""Fixtures for the explorer's tests: an explorer following the session's anvil (or one of the test's own),
served on a free port, and a way to wait until it has caught up with the chain."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import AsyncIterator

import aiohttp

from chain.client import ChainClient
from chain.connection import Deployment
from chain.deploy import Manifest
from core.http import serving
from explorer.app import build_explorer
from explorer.server import ExplorerService
from explorer.settings import ExplorerSettings


def explorer_of(rpc_url: str, manifest: Manifest, manifest_path: Path | None = None, **settings: object) -> ExplorerService:
    """An explorer with a read-only client (no key), as `symphony explorer` builds it."""
    client = ChainClient(rpc_url, None, expected_chain_id=manifest.chain_id, timeout=5.0)
    return build_explorer(Deployment(manifest, manifest_path, client),  # type: ignore[arg-type]
                          ExplorerSettings(poll_interval_s=0.05, retry_s=0.2, **settings))


@contextlib.asynccontextmanager
async def served(service: ExplorerService) -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    async with serving(service.app(), "127.0.0.1", 0) as url, aiohttp.ClientSession() as session:
        yield url, session


async def caught_up(service: ExplorerService, timeout: float = 20.0) -> None:
    """Until the explorer's checkpoint is the chain's head (every log so far applied)."""
    w3 = service.follower.stream.w3
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        head = await asyncio.to_thread(lambda: w3.eth.block_number)
        status = service.follower.status
        if status.connected and status.checkpoint_block is not None and status.checkpoint_block >= head:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"explorer not caught up with block {head}: {status.to_dict()}")
        await asyncio.sleep(0.05)


async def get(session: aiohttp.ClientSession, url: str) -> tuple[int, dict]:
    async with session.get(url) as response:
        return response.status, await response.json()
