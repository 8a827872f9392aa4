// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IHideShillPool
/// @notice The price oracle surface of a Hide-and-Shill pool that `EvaluationLog` reads (docs/hideshill_protocol.md).
interface IHideShillPool {
    /// @notice Spot price of the meme token in quote, WAD: `rQ * 1e18 / rT`.
    function spotPrice() external view returns (uint256);
    /// @notice Cumulative price at `t` (pool creation <= t <= now; the history is never truncated).
    function cumulativeAt(uint256 t) external view returns (uint256);
    /// @notice `(cumulativeAt(t1) - cumulativeAt(t0)) / (t1 - t0)`.
    function twap(uint256 t0, uint256 t1) external view returns (uint256);
    /// @notice Timestamp of the oldest observation (the pool's first liquidity).
    function oldestObservationTime() external view returns (uint256);
    /// @notice Last timestamp at which `trader` paid for a swap (it was the swap's `msg.sender`); 0 if never.
    function lastSwapAt(address trader) external view returns (uint256);
}
