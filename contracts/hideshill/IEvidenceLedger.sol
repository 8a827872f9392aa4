// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IEvidenceLedger
/// @notice The part of the CapabilityLedger that `EvaluationLog` calls, declared locally.
/// @dev Why a local interface: `recordEvidence`, `slash` and `stakeOf` are added to `ICapabilityLedger` by the
///      protocol v2 ledger, developed in parallel; declaring exactly the calls the log makes keeps the log
///      compiling against either ledger. Every call to them is guarded (try/catch or a low-level call), so a
///      ledger that lacks one of them, refuses, or is not a contract at all never blocks a resolution.
///      `reputationOf` and `minStake` exist on the v1 ledger already; `getAgent` is deliberately not used (its
///      struct is the one thing both ledgers may lay out differently).
interface IEvidenceLedger {
    /// @notice Record one verified outcome of `kind` work for `agent` (`success`: the outcome was right).
    function recordEvidence(address agent, bytes32 kind, bool success) external;
    /// @notice Take `amount` of `agent`'s stake and send it to `to`.
    function slash(address agent, uint256 amount, address to) external;
    /// @notice `agent`'s current stake in wei.
    function stakeOf(address agent) external view returns (uint256);
    /// @notice Move `agent`'s reputation by `delta` (WAD); only authorised protocol contracts.
    function adjustReputation(address agent, int256 delta) external;
    /// @notice Registered and not deregistered.
    function isActive(address agent) external view returns (bool);
    /// @notice Reputation in WAD (1e18 at registration).
    function reputationOf(address agent) external view returns (uint64);
    /// @notice The stake every registration had to bring.
    function minStake() external view returns (uint256);
}
