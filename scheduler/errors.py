"""Errors of the Gradientsys scheduler itself (configuration, discovery, schema checks).

Why tool failures are not here: tools raise `tools.errors.TransientToolError`/`PermanentToolError`, which
every caller of the tools shares (agents as well as MCP tool agents); the scheduler only transports their
kind (see `scheduler.toolkit.error_payload`).
"""

from __future__ import annotations

from core.errors import SymphonyError


class SchedulerError(SymphonyError):
    """A scheduler problem the user can fix (unknown agent, schema mismatch, bad task file)."""


class SchemaMismatchError(SchedulerError):
    """A tool agent lists tool schemas whose hash differs from the one it registered on chain."""
