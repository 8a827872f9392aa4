"""Typed MCP tool agents: pydantic-typed tools served over MCP Streamable HTTP, with structured errors."""
