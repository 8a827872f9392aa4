// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Vectors
/// @notice Test helpers to build packed capability vectors (32 signed int8, component i = byte i, big-endian).
library Vectors {
    /// @notice Vector with component `i` = `x` and every other component 0.
    function unit(uint256 i, int8 x) internal pure returns (bytes32) {
        return bytes32(uint256(uint8(x)) << (248 - 8 * i));
    }

    /// @notice Overwrite component `i` of `v` with `x`.
    function set(bytes32 v, uint256 i, int8 x) internal pure returns (bytes32) {
        uint256 shift = 248 - 8 * i;
        return bytes32((uint256(v) & ~(uint256(0xff) << shift)) | (uint256(uint8(x)) << shift));
    }

    /// @notice Replace every -128 byte (never produced by the protocol) by -127.
    function sanitize(bytes32 v) internal pure returns (bytes32 out) {
        out = v;
        for (uint256 i; i < 32; ++i) {
            if (uint8(out[i]) == 0x80) out = set(out, i, -127);
        }
    }
}
