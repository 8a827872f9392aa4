// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Owned
/// @notice Minimal single-owner access control (solmate style) so the core contracts need no OpenZeppelin import.
/// @dev The error is named `NotOwner` to match ICapabilityLedger; contracts that also inherit that interface
///      must not redeclare it, so the interface's declaration is the one the ABI exposes.
abstract contract Owned {
    /// @notice Current owner; the zero address means ownership was renounced.
    address public owner;

    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    constructor(address initialOwner) {
        owner = initialOwner;
        emit OwnershipTransferred(address(0), initialOwner);
    }

    modifier onlyOwner() {
        if (msg.sender != owner) _revertNotOwner();
        _;
    }

    /// @notice Hand ownership to `newOwner` (zero address renounces it for good).
    function transferOwnership(address newOwner) external onlyOwner {
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    /// @dev Each inheritor reverts with its own ABI's `NotOwner(address)` error.
    function _revertNotOwner() internal view virtual;
}
