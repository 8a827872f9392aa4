// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Records reputation adjustments like an authorising CapabilityLedger would (only the call surface).
contract RecordingLedger {
    address public lastAgent;
    int256 public lastDelta;
    uint256 public calls;

    function adjustReputation(address agent, int256 delta) external {
        lastAgent = agent;
        lastDelta = delta;
        calls += 1;
    }
}

/// @notice A ledger that refuses (e.g. the detector is not registered).
contract RefusingLedger {
    error NotRegistered(address agent);

    function adjustReputation(address agent, int256) external pure {
        revert NotRegistered(agent);
    }
}
