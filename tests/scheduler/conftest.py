"""Fixtures for scheduler tests: real MCP tool agents on free 127.0.0.1 ports, started and stopped per test."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import AsyncIterator

import pytest

from scheduler.client.connection import AgentConnection
from scheduler.evaluation.tasks import SUITE_DIR
from scheduler.toolkit.agent_server import ToolAgent


@pytest.fixture
def suite_files(tmp_path: Path) -> Path:
    """A private copy of the evaluation files (tests may write artefacts next to them)."""
    dest = tmp_path / "files"
    shutil.copytree(SUITE_DIR / "files", dest)
    return dest


@contextlib.asynccontextmanager
async def serve(*agents: ToolAgent) -> AsyncIterator[list[AgentConnection]]:
    """Serve each agent over Streamable HTTP and open a scheduler connection to it."""
    async with contextlib.AsyncExitStack() as stack:
        connections = []
        for agent in agents:
            url = await stack.enter_async_context(agent.serve())
            connections.append(await stack.enter_async_context(AgentConnection(agent.name, url, agent.capacity)))
        yield connections
