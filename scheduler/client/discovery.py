"""Tool agents on the capability ledger: register them, discover them, verify what they serve.

Why the schema hash on chain: the ledger is the only trusted directory; an endpoint string alone says nothing
about the tools behind it. An agent registers `mcp`, `schema:0x<sha256>` and its tool names as tags; the
scheduler lists the server's tools, hashes them the same way and refuses an agent whose hash differs
(`SchemaMismatchError`). Agents without a schema tag are not MCP tool agents and are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from scheduler.client.connection import AgentConnection
from scheduler.errors import SchedulerError
from scheduler.toolkit.agent_server import ToolAgent
from scheduler.toolkit.schema_hash import hash_from_tags, schema_tag

MCP_TAG = "mcp"


@dataclass(frozen=True)
class DiscoveredAgent:
    address: str
    name: str
    endpoint: str
    capacity: int
    schema_hash: str
    tags: tuple[str, ...]


def capability_for(description: str) -> bytes:
    """The agent's capability vector: its description embedded as every Symphony agent's is, so requesters
    match tool agents and reasoning agents on one scale."""
    from agents.capability import encode_vector

    return bytes(encode_vector(description))


async def registration_tags(agent: ToolAgent) -> list[str]:
    tags = [MCP_TAG, schema_tag(await agent.schema_hash())] + [f"tool:{t.name}" for t in agent.tools]
    return tags[:16]


async def register_tool_agent(ledger, agent: ToolAgent, endpoint: str, stake_wei: int | None = None):
    """Register (or update, if this account is already registered) `agent` at `endpoint`. Returns the receipt."""
    tags = await registration_tags(agent)
    capability = capability_for(agent.description)
    if ledger.is_active(ledger.client.address):
        return ledger.update(agent.model_id, endpoint, tags, capability, agent.capacity)
    stake = ledger.min_stake() if stake_wei is None else stake_wei
    return ledger.register(agent.name, agent.model_id, endpoint, tags, capability, agent.capacity, stake)


def discover(ledger, page_size: int = 50) -> list[DiscoveredAgent]:
    """Active MCP tool agents on the ledger (registration order)."""
    found = []
    for info in ledger.active_agents(page_size):
        digest = hash_from_tags(info.tags)
        if digest is None or MCP_TAG not in info.tags:
            continue
        found.append(DiscoveredAgent(info.agent, info.name, info.endpoint, info.capacity, digest, tuple(info.tags)))
    return found


async def connect_discovered(agents: list[DiscoveredAgent], strict: bool = True) -> tuple[list[AgentConnection], list[str]]:
    """Open a verified connection to each agent. strict=False skips bad agents (returned as problems)."""
    connections: list[AgentConnection] = []
    problems: list[str] = []
    names = [a.name for a in agents]
    for agent in agents:
        name = agent.name if names.count(agent.name) == 1 else f"{agent.name}-{agent.address[2:8].lower()}"
        connection = AgentConnection(name, agent.endpoint, agent.capacity, expected_hash=agent.schema_hash)
        try:
            await connection.__aenter__()
        except SchedulerError as exc:
            if strict:
                for opened in connections:
                    await opened.close()
                raise
            problems.append(str(exc))
            continue
        connections.append(connection)
    return connections, problems
