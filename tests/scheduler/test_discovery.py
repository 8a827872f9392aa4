"""Tool agents register on the CapabilityLedger (anvil); the scheduler discovers them and checks schema hashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.client.discovery import connect_discovered, discover, register_tool_agent
from scheduler.dispatch.dispatcher import Dispatcher, ToolCall
from scheduler.errors import SchemaMismatchError
from scheduler.observe.bus import EventBus
from scheduler.toolkit.builtin import build_agent
from scheduler.toolkit.schema_hash import hash_from_tags


def ledger(chain, artifacts, index: int):
    """The CapabilityLedger binding for dev account `index` (compiled artifacts reused from the session)."""
    from chain.bindings import CapabilityLedger

    client = chain.client(index)
    return CapabilityLedger(client, chain.manifest.bind(client, "CapabilityLedger", artifacts))


async def test_register_discover_verify_and_call(chain, artifacts, suite_files: Path) -> None:
    python = build_agent("python", suite_files)
    documents = build_agent("documents", suite_files)
    async with python.serve() as python_url, documents.serve() as documents_url:
        await register_tool_agent(ledger(chain, artifacts, 1), python, python_url)
        await register_tool_agent(ledger(chain, artifacts, 2), documents, documents_url)
        found = discover(ledger(chain, artifacts, 0))
        assert [(a.name, a.endpoint, a.capacity) for a in found] == [("python", python_url, 2), ("documents", documents_url, 4)]
        assert found[0].schema_hash == await python.schema_hash() and "tool:run_python" in found[0].tags
        connections, problems = await connect_discovered(found)
        try:
            assert problems == [] and connections[0].listed_hash == found[0].schema_hash
            outcome = await Dispatcher(connections, EventBus()).call(ToolCall("c", "calculate", {"expression": "7 * 6"}))
            assert outcome.ok and outcome.output == {"value": "42"}
        finally:
            for connection in connections:
                await connection.close()


async def test_schema_mismatch_is_refused(chain, artifacts, suite_files: Path) -> None:
    python = build_agent("python", suite_files)
    webpage = build_agent("webpage", suite_files, output_dir=suite_files / "out")
    async with python.serve() as python_url, webpage.serve() as web_url:
        # the python agent's stake and schema hash, but the endpoint serves other tools
        await register_tool_agent(ledger(chain, artifacts, 3), python, web_url)
        await register_tool_agent(ledger(chain, artifacts, 4), python, python_url)
        found = discover(ledger(chain, artifacts, 0))
        assert hash_from_tags(found[0].tags) == await python.schema_hash()
        with pytest.raises(SchemaMismatchError, match="refusing"):
            await connect_discovered(found)
        connections, problems = await connect_discovered(found, strict=False)
        try:
            assert len(connections) == 1 and connections[0].url == python_url
            assert len(problems) == 1 and web_url in problems[0]
        finally:
            for connection in connections:
                await connection.close()
