// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title CapabilityMath
/// @notice Vector arithmetic on capability/requirement vectors: 32 signed int8 components packed big-endian in a
///         bytes32 (component i is byte i). Kept in one library so the ledger, the beacon and the tests share the
///         exact integer rounding that docs/protocol.md specifies (Python re-derives the same numbers).
library CapabilityMath {
    uint256 internal constant WAD = 1e18;

    /// @notice Signed component `i` (0..31) of `v`.
    function component(bytes32 v, uint256 i) internal pure returns (int256 c) {
        assembly {
            c := signextend(0, byte(i, v))
        }
    }

    /// @notice Σ a_i·b_i over the 32 signed components. |result| ≤ 32·128² so it never overflows.
    function dot(bytes32 a, bytes32 b) internal pure returns (int256 s) {
        assembly {
            for { let i := 0 } lt(i, 32) { i := add(i, 1) } {
                s := add(s, mul(signextend(0, byte(i, a)), signextend(0, byte(i, b))))
            }
        }
    }

    /// @notice Euclidean norm scaled by 1e6: isqrt(Σ c_i² · 1e12). Zero only for the zero vector.
    function norm(bytes32 v) internal pure returns (uint64) {
        // dot(v, v) >= 0 and ≤ 524288, so the cast and the product are safe; sqrt(5.3e17) < 2^64.
        return uint64(sqrt(uint256(dot(v, v)) * 1e12));
    }

    /// @notice Cosine similarity in WAD clamped to [0, 1e18]; 0 if either norm is zero or the vectors oppose.
    /// @dev The clamp absorbs the rounding of the two integer square roots (identical vectors may exceed 1e18).
    function cosine(bytes32 a, uint64 normA, bytes32 b, uint64 normB) internal pure returns (uint256) {
        if (normA == 0 || normB == 0) return 0;
        int256 d = dot(a, b);
        if (d <= 0) return 0;
        uint256 s = (uint256(d) * 1e30) / (uint256(normA) * uint256(normB));
        return s > WAD ? WAD : s;
    }

    /// @notice Floor square root (Newton iterations from a power-of-two estimate, always 7 steps).
    /// @dev The estimate 2^(⌊log2 x⌋/2) is within a factor 2 of √x, so 7 quadratically converging steps give
    ///      > 128 correct bits; the final min() turns the Newton ceiling-or-floor into the floor.
    function sqrt(uint256 x) internal pure returns (uint256 r) {
        if (x <= 1) return x;
        unchecked {
            // cannot overflow: log <= 255 and every iterate r lies in (sqrt(x) / 2, 1.25 sqrt(x)], so r + x / r < 2^131
            uint256 y = x;
            uint256 log = 0;
            if (y >> 128 > 0) { y >>= 128; log += 128; }
            if (y >> 64 > 0) { y >>= 64; log += 64; }
            if (y >> 32 > 0) { y >>= 32; log += 32; }
            if (y >> 16 > 0) { y >>= 16; log += 16; }
            if (y >> 8 > 0) { y >>= 8; log += 8; }
            if (y >> 4 > 0) { y >>= 4; log += 4; }
            if (y >> 2 > 0) { y >>= 2; log += 2; }
            if (y >> 1 > 0) { log += 1; }
            r = 1 << (log >> 1);
            r = (r + x / r) >> 1;
            r = (r + x / r) >> 1;
            r = (r + x / r) >> 1;
            r = (r + x / r) >> 1;
            r = (r + x / r) >> 1;
            r = (r + x / r) >> 1;
            r = (r + x / r) >> 1;
            uint256 q = x / r;
            return r < q ? r : q;
        }
    }
}
