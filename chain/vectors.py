"""Capability/requirement vectors as the contracts see them: 32 signed 8-bit components in one bytes32.

Why here (the chain layer): these functions are the protocol's arithmetic, bit for bit what
contracts/lib/CapabilityMath.sol computes, so anyone can recompute an on-chain match score off chain.
How texts become vectors (embedding, projection, quantisation) is the agents layer's business.
"""

from __future__ import annotations

from math import isqrt
from typing import Sequence

DIMENSIONS = 32
WAD = 10**18
SCORE_UNIT = 10**9  # TaskBeacon stores bid scores in 1e-9 units


def pack(components: Sequence[int]) -> bytes:
    """Big-endian bytes32: byte i is component i in two's complement; components must lie in -127..127."""
    if len(components) != DIMENSIONS:
        raise ValueError(f"a capability vector has {DIMENSIONS} components, got {len(components)}")
    for c in components:
        if not -127 <= int(c) <= 127:
            raise ValueError(f"component {c} outside -127..127")
    return bytes(int(c) & 0xFF for c in components)


def unpack(vector: bytes) -> list[int]:
    if len(vector) != DIMENSIONS:
        raise ValueError(f"a capability vector is {DIMENSIONS} bytes, got {len(vector)}")
    return [b - 256 if b > 127 else b for b in vector]


def norm(vector: bytes) -> int:
    """isqrt(sum c_i^2 * 1e12): the Euclidean norm scaled by 1e6, as stored by CapabilityLedger."""
    return isqrt(sum(c * c for c in unpack(vector)) * 10**12)


def cosine_wad(a: bytes, b: bytes) -> int:
    """The contract's match score: dot * 1e30 // (norm_a * norm_b), clamped to [0, 1e18]."""
    na, nb = norm(a), norm(b)
    if na == 0 or nb == 0:
        return 0
    dot = sum(x * y for x, y in zip(unpack(a), unpack(b)))
    if dot <= 0:
        return 0
    return min(dot * 10**30 // (na * nb), WAD)


def trust_wad(successes: int, failures: int, total_successes: int, total_failures: int) -> int:
    """The ledger's trust factor T for one kind of work (docs/protocol.md "Score"):
    T = (s + 2·G) / (s + f + 2) with G = (S + 1) / (S + F + 2), all in WAD, integer division as on chain.
    `successes`/`failures` are the kind's record, `total_*` the agent's record over all kinds."""
    g = (total_successes + 1) * WAD // (total_successes + total_failures + 2)
    return (successes * WAD + 2 * g) // (successes + failures + 2)


def bid_score(capability: bytes, requirement: bytes, successes: int = 0, failures: int = 0,
              total_successes: int | None = None, total_failures: int | None = None,
              good: int = 0, bad: int = 0) -> int:
    """The score TaskBeacon stores for a bid: match · T · (good + 2)/(good + bad + 2), truncated to the contract's
    1e-9 units. Without totals, the kind's record is taken as the whole record; `good`/`bad` are the requester's
    own record of the bidder (`TaskBeacon.experienceOf`, docs/protocol.md "Requester's view"), none by default."""
    t = trust_wad(successes, failures, successes if total_successes is None else total_successes,
                  failures if total_failures is None else total_failures)
    ledger_score = cosine_wad(capability, requirement) * t // WAD
    return ledger_score * (good + 2) // (good + bad + 2) // SCORE_UNIT * SCORE_UNIT


def cluster(requirement: bytes) -> int:
    """2·i + (r_i < 0) for the first component i of largest magnitude: the cluster a derived kind names."""
    values = unpack(requirement)
    best = max(range(DIMENSIONS), key=lambda i: (abs(values[i]), -i))
    return 2 * best + (1 if values[best] < 0 else 0)


def derived_kind(requirement: bytes) -> bytes:
    """The evidence kind of a step posted without an explicit kind: keccak256("symphony.cluster" ‖ uint8 cluster)."""
    from eth_utils import keccak

    return keccak(b"symphony.cluster" + bytes([cluster(requirement)]))
