"""Observability: typed run events, a fan-out bus, JSONL traces, the SSE endpoint and the live page."""
