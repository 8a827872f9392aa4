// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IHideShillPool
/// @notice The price oracle surface of a Hide-and-Shill pool that `EvaluationLog` reads (docs/hideshill_protocol.md).
interface IHideShillPool {
    /// @notice Spot price of the meme token in quote, WAD: `rQ * 1e18 / rT`.
    function spotPrice() external view returns (uint256);
    /// @notice Cumulative price at `t` (oldest retained observation <= t <= now).
    function cumulativeAt(uint256 t) external view returns (uint256);
    /// @notice `(cumulativeAt(t1) - cumulativeAt(t0)) / (t1 - t0)`.
    function twap(uint256 t0, uint256 t1) external view returns (uint256);
    /// @notice Timestamp of the oldest observation still in the ring buffer.
    function oldestObservationTime() external view returns (uint256);
}
