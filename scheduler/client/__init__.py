"""Scheduler side of MCP: connections to tool agents and their discovery from the capability ledger."""
