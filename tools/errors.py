"""The failures a tool raises on purpose, shared by every caller of `tools/` (agents, MCP tool agents, CLI).

Why two kinds: a caller must decide, without guessing from text, whether a failed call is worth retrying (a
flaky dependency, a timeout, a full server) or must go back to whoever chose the arguments (bad arguments,
a missing file). Over MCP the kind travels in a structured error payload (`scheduler.toolkit.error_payload`);
inside an agent the message is shown to the model.

Why one line: the message reaches a planner, a model's context or the CLI's one-line error output verbatim,
so a multi-line message (a traceback tail, a parser error) is joined into one line with " | " here, once.
Why a `SymphonyError`: a tool failure is a problem with the input, which the CLI reports without a traceback.
"""

from __future__ import annotations

from core.errors import SymphonyError


def one_line(message: str) -> str:
    """The non-empty lines of `message`, stripped and joined with " | "."""
    return " | ".join(line.strip() for line in str(message).splitlines() if line.strip())


class ToolFailure(SymphonyError):
    """Base of the errors a tool implementation raises on purpose; the message reaches the caller verbatim."""

    kind = "permanent"

    def __init__(self, message: str = "") -> None:
        super().__init__(one_line(message))


class TransientToolError(ToolFailure):
    """A failure that may go away if the same call is retried (the dispatcher retries with backoff)."""

    kind = "transient"


class PermanentToolError(ToolFailure):
    """A failure that retrying the same call will not fix (the planner is asked to replan)."""

    kind = "permanent"
