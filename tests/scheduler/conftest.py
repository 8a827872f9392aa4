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


@pytest.fixture(scope="session")
def tiny_backend(tmp_path_factory: pytest.TempPathFactory):
    """A real (random, tiny) causal LM behind the project's LLMBackend: the planner and LLM tool run for real."""
    import torch

    from agents.llm.tiny import build_tiny_model
    from agents.llm.transformers_backend import TransformersBackend

    torch.set_num_threads(1)
    path = build_tiny_model(tmp_path_factory.mktemp("sched-tiny") / "tiny", seed=0)
    backend = TransformersBackend(path, device="cpu", max_batch_size=2)
    yield backend
    backend.close()
