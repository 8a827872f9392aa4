"""Parallel dispatch of tool calls: capacity, timeouts, retries with backoff, cancellation."""
