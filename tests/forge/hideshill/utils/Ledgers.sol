// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Records reputation adjustments like an authorising CapabilityLedger would (only the call surface).
contract RecordingLedger {
    address public lastAgent;
    int256 public lastDelta;
    uint256 public calls;
    mapping(address => int256) internal _moved;

    function reputationOf(address agent) external view returns (uint64) {
        return uint64(uint256(1e18 + _moved[agent]));
    }

    function adjustReputation(address agent, int256 delta) external {
        lastAgent = agent;
        lastDelta = delta;
        calls += 1;
        _moved[agent] += delta;
    }
}

/// @notice A ledger that refuses (e.g. the detector is not registered).
contract RefusingLedger {
    error NotRegistered(address agent);

    function reputationOf(address) external pure returns (uint64) {
        return 0;
    }

    function adjustReputation(address agent, int256) external pure {
        revert NotRegistered(agent);
    }
}
