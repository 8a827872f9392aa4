"""Errors of the Gradientsys scheduler.

Why two tool-error kinds: the dispatcher must decide, without guessing from text, whether a failed call is
worth retrying (a flaky dependency, a timeout, a full server) or must go back to the planner (bad arguments,
a missing file). Tool agents raise `TransientToolError`/`PermanentToolError`; the kind travels over MCP
in a structured error payload (see `scheduler.toolkit.error_payload`) so it never vanishes on the way.
"""

from __future__ import annotations

from core.errors import SymphonyError


class SchedulerError(SymphonyError):
    """A scheduler problem the user can fix (unknown agent, schema mismatch, bad task file)."""


class SchemaMismatchError(SchedulerError):
    """A tool agent lists tool schemas whose hash differs from the one it registered on chain."""


class ToolFailure(Exception):
    """Base of the errors a tool implementation raises on purpose; the message reaches the planner verbatim."""

    kind = "permanent"


class TransientToolError(ToolFailure):
    """A failure that may go away if the same call is retried (the dispatcher retries with backoff)."""

    kind = "transient"


class PermanentToolError(ToolFailure):
    """A failure that retrying the same call will not fix (the planner is asked to replan)."""

    kind = "permanent"
