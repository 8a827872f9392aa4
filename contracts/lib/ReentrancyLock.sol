// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ReentrancyLock
/// @notice Reentrancy guard in transient storage (EIP-1153, cancun): ~200 gas instead of two storage writes, which
///         matters on the per-call gas budget of the agent lifecycle. Functions that send ETH use it on top of CEI.
abstract contract ReentrancyLock {
    /// @notice A guarded function was re-entered.
    error Reentrancy();

    /// @dev An arbitrary fixed transient-storage slot; transient storage is per contract, so no clash is possible.
    uint256 private constant _LOCK_SLOT = 0x1b1d35d1fd4b9f2cf0a4fb3b5b8e3d1a6c3d4b1c0b9f5e3a2a5a8cde3c7f2e11;

    modifier nonReentrant() {
        uint256 locked;
        assembly {
            locked := tload(_LOCK_SLOT)
        }
        if (locked != 0) revert Reentrancy();
        assembly {
            tstore(_LOCK_SLOT, 1)
        }
        _;
        assembly {
            tstore(_LOCK_SLOT, 0)
        }
    }
}
