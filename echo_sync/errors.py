"""Echo's user-facing failures. All are `SymphonyError`s so the CLI prints one line, not a traceback."""

from __future__ import annotations

from core.errors import SymphonyError


class WeightHashMismatch(SymphonyError):
    """Downloaded weights do not hash to the sha256 recorded on chain for that version: refused, never loaded."""


class UnknownPolicyVersion(SymphonyError):
    """A version that was never published (or is newer than the trainer's) was requested or claimed."""


class NoSamplersLeft(SymphonyError):
    """Every sampler node is unreachable, so no rollouts can be produced."""
