"""Gradientsys scheduler: typed MCP tool agents, ReAct planning, parallel dispatch, retry/replan, SSE.

See docs/scheduler.md. Layering: uses `chain` (ledger discovery) and `agents.llm` (planner/LLM tool backends);
nothing below imports it.
"""
