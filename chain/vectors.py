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


def bid_score(capability: bytes, requirement: bytes, reputation: int, reputation_weighted: bool) -> int:
    score = cosine_wad(capability, requirement)
    return score * reputation // WAD if reputation_weighted else score
