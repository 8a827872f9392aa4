"""A stable hash of an agent's tool schemas, registered on chain and checked at discovery.

Why: an endpoint on chain is just a URL; whoever answers there could serve different tools than the agent
that staked for them, or a redeploy may have changed a schema the planner relies on. The scheduler hashes
what the server lists (name, description, input schema, output schema; canonical JSON, sorted by name) and
compares it with the `schema:0x…` tag. Titles pydantic adds are dropped: they are cosmetic and differ between
how a server derives a schema and how a model declares it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable, Mapping

TAG_PREFIX = "schema:"


def _strip_titles(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_titles(v) for k, v in node.items() if k != "title"}
    if isinstance(node, list):
        return [_strip_titles(v) for v in node]
    return node


def schema_hash(tools: Iterable[Mapping[str, Any]]) -> str:
    """`tools`: dicts with name, description, input_schema, output_schema. Returns '0x' + sha256 hex."""
    canonical = sorted(
        (
            {
                "name": t["name"],
                "description": t.get("description") or "",
                "input_schema": _strip_titles(t.get("input_schema") or {}),
                "output_schema": _strip_titles(t.get("output_schema") or {}),
            }
            for t in tools
        ),
        key=lambda t: t["name"],
    )
    blob = json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()
    return "0x" + hashlib.sha256(blob).hexdigest()


def schema_tag(digest: str) -> str:
    return TAG_PREFIX + digest


def hash_from_tags(tags: Iterable[str]) -> str | None:
    for tag in tags:
        if tag.startswith(TAG_PREFIX):
            return tag[len(TAG_PREFIX) :]
    return None
