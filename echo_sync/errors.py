"""Echo's user-facing failures. All are `SymphonyError`s so the CLI prints one line, not a traceback."""

from __future__ import annotations

from core.errors import SymphonyError


class WeightHashMismatch(SymphonyError):
    """Downloaded weights do not hash to the sha256 recorded on chain for that version: refused, never loaded."""


class UnknownPolicyVersion(SymphonyError):
    """A version that was never published (or is newer than the trainer's) was requested or claimed."""


class NoSamplersLeft(SymphonyError):
    """Every sampler node is unreachable, so no rollouts can be produced."""


class PolicyRollback(UnknownPolicyVersion):
    """A sampler was told to load a version older than the verified one it holds: refused (issue 14, item 8)."""


class RevokedPolicyVersion(UnknownPolicyVersion):
    """The registry revoked that version: it is never loaded, and a sampler holding it stops generating."""


class ControlAuthError(SymphonyError):
    """A control request to a sampler was not signed with the shared secret (or was stale or replayed)."""


class AdapterMismatch(UnknownPolicyVersion):
    """An adapter for another base model, of another shape, or corrupt: refused, the verified one stays loaded."""


class OversizePolicy(UnknownPolicyVersion):
    """A policy download larger than the sampler's cap: cut off before hashing, refused."""
